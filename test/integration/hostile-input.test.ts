// DESIGN.md invariant 6 against one real kiln process: every hostile request
// gets a 4xx naming the problem, the server stays up, and nothing from a
// rejected request is stored (checked at the end by reading the bucket back).

import net from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { constants as zc, createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type KilnProcess, startKiln } from '../helpers/kiln-process.js';
import { dataDirOf, readStoredProfiles } from '../helpers/stored-profiles.js';

const MiB = 1024 * 1024;
const MAX_PROFILE = 8 * MiB;
const MAX_RECV = 12 * MiB;

// ---------------------------------------------------------------------------
// Hand-rolled protobuf writer, so hostile values (ids 0, negative ints as
// uint64, indexes past the string table) can be put on the wire exactly.

function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const vField = (field: number, value: number | bigint) => [...varint(field << 3), ...varint(value)];
const lField = (field: number, payload: number[] | Uint8Array) => [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
const str = (s: string) => [...Buffer.from(s, 'utf8')];

interface Parts {
  strings?: string[];
  functionName?: number | bigint;
  locationId?: number | bigint;
  sampleLocation?: number | bigint;
  labelKey?: number | bigint;
  timeNanos?: bigint;
}

/** A one-sample pprof (samples/count, main), with any field replaceable. */
function tinyPprof(p: Parts = {}): Uint8Array {
  const strings = p.strings ?? ['', 'samples', 'count', 'main', 'thread', 'worker'];
  const out: number[] = [];
  out.push(...lField(1, [...vField(1, 1), ...vField(2, 2)])); // sample_type samples/count
  out.push(
    ...lField(2, [
      ...vField(1, p.sampleLocation ?? 1),
      ...vField(2, 5),
      ...lField(3, [...vField(1, p.labelKey ?? 4), ...vField(2, 5)]), // label thread=worker
    ]),
  );
  out.push(...lField(4, [...vField(1, p.locationId ?? 1), ...lField(4, [...vField(1, 1), ...vField(2, 10)])])); // location → function 1
  out.push(...lField(5, [...vField(1, 1), ...vField(2, p.functionName ?? 3)])); // function main
  for (const s of strings) out.push(...lField(6, str(s)));
  out.push(...vField(9, p.timeNanos ?? BigInt(Date.now()) * 1_000_000n));
  out.push(...lField(11, [...vField(1, 1), ...vField(2, 2)])); // period_type
  out.push(...vField(12, 1));
  return Uint8Array.from(out);
}

/** The real Go CPU profile with its time set to now (so the time window accepts it). */
function goCpuNow(): Uint8Array {
  const raw = gunzipSync(readFileSync(new URL('../../testdata/profiles/go-cpu.pb.gz', import.meta.url)));
  const p = Profile.decode(raw);
  p.timeNanos = BigInt(Date.now()) * 1_000_000n;
  return p.encode();
}

/** gzip of `total` zero bytes, streamed so the input never sits in memory. */
async function gzipZeros(total: number): Promise<Buffer> {
  const gz = createGzip({ level: zc.Z_BEST_COMPRESSION });
  const chunks: Buffer[] = [];
  gz.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  const zeros = Buffer.alloc(MiB);
  for (let written = 0; written < total; written += MiB) {
    if (!gz.write(zeros)) await new Promise((r) => gz.once('drain', r));
  }
  gz.end();
  await done;
  return Buffer.concat(chunks);
}

/** Deterministic "random" bytes that do not start with the gzip magic. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  if (out[0] === 0x1f) out[0] = 0x20;
  return out;
}

// ---------------------------------------------------------------------------

let kiln: KilnProcess;
/** Services of every request answered 2xx (valid pushes, and hostile ones wrongly accepted). */
const accepted = new Set<string>();

interface Answer {
  status: number;
  text: string;
}

async function ingest(name: string, body: Uint8Array | string, query = 'format=pprof', init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(`${kiln.url}/ingest?name=${encodeURIComponent(name)}${query ? `&${query}` : ''}`, {
    method: 'POST',
    body: body as NonNullable<RequestInit['body']>,
    ...init,
  });
  if (res.ok) accepted.add(name.split('{')[0]!);
  return { status: res.status, text: await res.text() };
}

async function connectPush(body: string | Uint8Array, contentType = 'application/json'): Promise<{ status: number; json: { code?: string; message?: string } }> {
  const res = await fetch(`${kiln.url}/push.v1.PusherService/Push`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: body as NonNullable<RequestInit['body']>,
  });
  if (res.ok && typeof body === 'string') {
    for (const s of (JSON.parse(body) as { series: { labels: { name: string; value: string }[] }[] }).series) {
      accepted.add(s.labels.find((l) => l.name === 'service_name')!.value);
    }
  }
  const text = await res.text();
  let json: { code?: string; message?: string } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    json = { message: text };
  }
  return { status: res.status, json };
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const series = (service: string, raws: Uint8Array[]) => ({
  labels: [{ name: 'service_name', value: service }],
  samples: raws.map((r) => ({ rawProfile: b64(r) })),
});

async function pushValid(service: string): Promise<void> {
  const r = await ingest(service, gzipSync(goCpuNow()));
  expect(r, `valid push of ${service}`).toEqual({ status: 200, text: '' });
}

let bomb: Buffer;

beforeAll(async () => {
  [kiln, bomb] = await Promise.all([
    startKiln([
      // Rate limiting is tested in limits.test.ts; here it would answer the big bodies 429 first.
      '-distributor.ingestion-rate-limit-mb=0',
      `-validation.max-profile-size-bytes=${MAX_PROFILE}`, `-distributor.max-recv-msg-size=${MAX_RECV}`]),
    gzipZeros(200 * MiB),
  ]);
});

afterAll(async () => {
  await kiln?.kill();
  if (kiln) rmSync(kiln.dir, { recursive: true, force: true });
});

let stopped = false;
afterEach(async () => {
  if (stopped) return;
  // The server is still up after every request.
  expect(kiln.proc.exitCode).toBeNull();
  expect(kiln.proc.signalCode).toBeNull();
  const ready = await fetch(`${kiln.url}/ready`);
  expect(ready.status).toBe(200);
});

describe('hostile input against one kiln', () => {
  it('valid pushes before the attack are stored (controls)', async () => {
    await pushValid('valid-first');
    // The hand-made tiny profile is valid as is, so the variants below fail only for what they change.
    const r = await ingest('valid-tiny', tinyPprof());
    expect(r).toEqual({ status: 200, text: '' });
  });

  describe('malformed bodies → 400', () => {
    it('random bytes as pprof', async () => {
      const r = await ingest('hostile.random', noise(4096, 12345));
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/invalid pprof/);
    });

    it('a truncated pprof', async () => {
      const full = goCpuNow();
      const r = await ingest('hostile.truncated', full.subarray(0, Math.floor(full.length / 2) + 3));
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/invalid pprof: .*(truncated|runs past the end)/);
    });

    it('a truncated gzip of a valid pprof', async () => {
      const gz = gzipSync(goCpuNow());
      const r = await ingest('hostile.truncated-gzip', gz.subarray(0, gz.length - 100));
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/gzip/);
    });

    it('a valid gzip header followed by garbage', async () => {
      const header = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03];
      const r = await ingest('hostile.gzip-garbage', Uint8Array.from([...header, ...noise(512, 777)]));
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/invalid gzip data/);
    });

    it('an empty string table', async () => {
      const r = await ingest('hostile.no-strings', tinyPprof({ strings: [] }));
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/string/);
    });
  });

  describe('sizes → 413', () => {
    it('a gzip bomb (200 MiB of zeros in a small body)', async () => {
      expect(bomb.length).toBeLessThan(MiB);
      const r = await ingest('hostile.bomb', bomb);
      expect(r.status).toBe(413);
      expect(r.text).toContain(`${MAX_PROFILE}`);
      expect(r.text).toMatch(/after decompression/);
    });

    it('a gzip bomb over push.v1 is a Connect error naming the limit', async () => {
      const { status, json } = await connectPush(JSON.stringify({ series: [series('hostile.bomb-connect', [bomb])] }));
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(500);
      expect(json.message).toContain('max_profile_size_byte');
    });

    it('an uncompressed profile over -validation.max-profile-size-bytes', async () => {
      // A real pprof with one more 9 MiB string-table entry: well-formed, just too big.
      const big = Buffer.concat([tinyPprof(), Uint8Array.from(lField(6, new Uint8Array(9 * MiB).fill(0x61)))]);
      const r = await ingest('hostile.big-profile', big);
      expect(r.status).toBe(413);
      expect(r.text).toContain(`${MAX_PROFILE}`);
    });

    it('a body over -distributor.max-recv-msg-size', async () => {
      const r = await ingest('hostile.big-body', new Uint8Array(MAX_RECV + MiB).fill(0x61));
      expect(r.status).toBe(413);
      expect(r.text).toContain('request body too large');
      expect(r.text).toContain(`${MAX_RECV}`);
    });

    it('a chunked body over -distributor.max-recv-msg-size: 413, and the connection is not left hanging', async () => {
      // Raw HTTP/1.1 on one socket: a chunked upload past the limit, then a second request on the
      // same connection. The server must either answer it or close the connection; a connection
      // that stays open but is never read again hangs every keep-alive client that reuses it.
      const socket = net.connect(kiln.port, '127.0.0.1');
      let received = '';
      let closed = false;
      socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
      socket.on('close', () => (closed = true));
      socket.on('error', () => undefined);
      await new Promise((r) => socket.once('connect', r));
      socket.write('POST /ingest?name=hostile.chunked&format=pprof HTTP/1.1\r\nHost: kiln\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = Buffer.alloc(MiB, 0x62);
      for (let sent = 0; sent < MAX_RECV + 2 * MiB; sent += MiB) {
        socket.write(`${MiB.toString(16)}\r\n`);
        socket.write(chunk);
        socket.write('\r\n');
      }
      socket.write('0\r\n\r\n');
      const waitFor = async (done: () => boolean, ms: number) => {
        for (const end = Date.now() + ms; !done() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
      };
      await waitFor(() => received.includes('request body too large') || closed, 10_000);
      expect(received).toMatch(/^HTTP\/1\.1 413 /);
      expect(received).toContain('request body too large');
      const first = received.length;
      if (!closed) socket.write('GET /ready HTTP/1.1\r\nHost: kiln\r\n\r\n');
      await waitFor(() => closed || received.slice(first).includes('ready'), 5_000);
      socket.destroy();
      const servedOrClosed = closed || /HTTP\/1\.1 200 /.test(received.slice(first));
      expect(servedOrClosed, `after the 413 the connection neither answered nor closed; got ${JSON.stringify(received)}`).toBe(true);
    });
  });

  describe('bad references inside a pprof → 400', () => {
    it('a string index past the string table', async () => {
      const r = await ingest('hostile.string-index', tinyPprof({ functionName: 999 }));
      expect(r.status).toBe(400);
      expect(r.text).toContain('string index 999 out of range');
    });

    it('a negative string index (int64 -1 as a 10-byte varint)', async () => {
      const r = await ingest('hostile.negative-string', tinyPprof({ functionName: -1n }));
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/string index .* out of range/);
    });

    it('a negative sample label key', async () => {
      const r = await ingest('hostile.negative-label-key', tinyPprof({ labelKey: -5n }));
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/string index .* out of range/);
    });

    it('a sample referencing a missing location id', async () => {
      const r = await ingest('hostile.missing-location', tinyPprof({ sampleLocation: 2 }));
      expect(r.status).toBe(400);
      expect(r.text).toContain('unknown location id 2');
    });

    it('a sample referencing a negative location id', async () => {
      const r = await ingest('hostile.negative-location', tinyPprof({ sampleLocation: -1n }));
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/unknown location id/);
    });

    it('a location with id 0', async () => {
      const r = await ingest('hostile.location-zero', tinyPprof({ locationId: 0, sampleLocation: 0 }));
      expect(r.status).toBe(400);
      expect(r.text).toContain('location id is 0');
    });

    it('a huge string table (2M strings) under the size cap', async () => {
      const strings = ['', 'samples', 'count', 'main', 'thread', 'worker'];
      for (let i = 0; i < 2_000_000; i++) strings.push('x');
      const raw = tinyPprof({ strings });
      expect(raw.length).toBeLessThan(MAX_PROFILE);
      const r = await ingest('hostile.huge-string-table', gzipSync(raw));
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/string table/);
    });
  });

  describe('bad request parameters', () => {
    it('name with unbalanced braces', async () => {
      const r = await ingest('hostile.braces{a=b', tinyPprof());
      expect(r.status).toBe(400);
      expect(r.text).toContain('unbalanced braces');
    });

    it('name with a tag without "="', async () => {
      const r = await ingest('hostile.tag{a}', tinyPprof());
      expect(r.status).toBe(400);
      expect(r.text).toContain(`has no '='`);
    });

    it('name with a bad tag name', async () => {
      const r = await ingest('hostile.tagname{a-b=c}', tinyPprof());
      expect(r.status).toBe(400);
      expect(r.text).toContain('tag name "a-b"');
    });

    it('no name at all', async () => {
      const res = await fetch(`${kiln.url}/ingest?format=pprof`, { method: 'POST', body: tinyPprof() });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('name parameter is required');
    });

    it('31 labels → max-label-names-per-series', async () => {
      // 29 tags + service_name + pyroscope_spy = 31.
      const tags = Array.from({ length: 29 }, (_, i) => `t${String(i).padStart(2, '0')}=v`).join(',');
      const r = await ingest(`hostile.labels{${tags}}`, tinyPprof());
      expect(r.status).toBe(400);
      expect(r.text).toContain('has 31 label names; limit 30');
      expect(r.text).toContain('max-label-names-per-series');
    });

    it('a label value that is too long', async () => {
      const r = await ingest(`hostile.long-value{k=${'v'.repeat(2049)}}`, tinyPprof());
      expect(r.status).toBe(400);
      expect(r.text).toContain('label value too long');
      expect(r.text).toContain('err-kiln-label-value-too-long');
    });

    it('GET /ingest → 405', async () => {
      const res = await fetch(`${kiln.url}/ingest?name=hostile.get&format=pprof`);
      expect(res.status).toBe(405);
      expect(await res.text()).toContain('use POST');
    });

    it('format=jfr → 415 unsupported format', async () => {
      const r = await ingest('hostile.jfr', noise(100, 3), 'format=jfr');
      expect(r.status).toBe(415);
      expect(r.text).toContain('unsupported format "jfr"');
    });

    it('a multipart form with a non-empty prev_profile → 400 unsupported client version', async () => {
      const form = new FormData();
      form.append('profile', new Blob([gzipSync(goCpuNow())]), 'profile.pprof');
      form.append('prev_profile', new Blob([gzipSync(goCpuNow())]), 'profile.pprof');
      const r = await ingest('hostile.prev-profile', '', '', { body: form });
      expect(r.status).toBe(400);
      expect(r.text).toContain('unsupported client version');
    });

    it('a multipart form whose profile part is garbage', async () => {
      const form = new FormData();
      form.append('profile', new Blob([noise(300, 99)]), 'profile.pprof');
      const r = await ingest('hostile.form-garbage', '', '', { body: form });
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/invalid pprof/);
    });
  });

  describe('push.v1 over Connect JSON', () => {
    it('malformed JSON → invalid_argument', async () => {
      const { status, json } = await connectPush('{"series": [');
      expect(status).toBe(400);
      expect(json.code).toBe('invalid_argument');
      expect(json.message).toMatch(/JSON/);
    });

    it('a base64 rawProfile that is garbage → invalid_argument naming the profile', async () => {
      const { status, json } = await connectPush(JSON.stringify({ series: [series('hostile.connect-garbage', [noise(64, 5)])] }));
      expect(status).toBe(400);
      expect(json.code).toBe('invalid_argument');
      expect(json.message).toMatch(/malformed profile: invalid pprof/);
    });

    it('a rawProfile that is not base64 at all', async () => {
      const body = JSON.stringify({ series: [{ labels: [{ name: 'service_name', value: 'hostile.b64' }], samples: [{ rawProfile: '%%%not base64%%%' }] }] });
      const { status, json } = await connectPush(body);
      expect(status).toBe(400);
      expect(json.code).toBe('invalid_argument');
    });

    it('a garbage binary protobuf body → invalid_argument', async () => {
      const { status, json } = await connectPush(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0xff]), 'application/proto');
      expect(status).toBe(400);
      expect(json.code).toBe('invalid_argument');
    });

    it('a bad label name → invalid_argument naming it', async () => {
      const body = JSON.stringify({
        series: [{ labels: [{ name: 'service_name', value: 'hostile.label' }, { name: 'bad-name', value: 'x' }], samples: [{ rawProfile: b64(tinyPprof()) }] }],
      });
      const { status, json } = await connectPush(body);
      expect(status).toBe(400);
      expect(json.message).toContain("invalid label name 'bad-name'");
    });

    it('two series, the 2nd malformed → 400 and the 1st is not stored either', async () => {
      const body = JSON.stringify({
        series: [series('hostile.multi-first', [gzipSync(goCpuNow())]), series('hostile.multi-second', [tinyPprof({ sampleLocation: 9 })])],
      });
      const { status, json } = await connectPush(body);
      expect(status).toBe(400);
      expect(json.code).toBe('invalid_argument');
      expect(json.message).toContain('unknown location id 9');
    });

    it('one series, two samples, the 2nd malformed → 400 and neither is stored', async () => {
      const body = JSON.stringify({ series: [series('hostile.multi-sample', [gzipSync(goCpuNow()), noise(200, 42)])] });
      const { status, json } = await connectPush(body);
      expect(status).toBe(400);
      expect(json.message).toMatch(/invalid pprof/);
    });

    it('a valid push.v1 request is accepted (control)', async () => {
      const { status } = await connectPush(JSON.stringify({ series: [series('valid-connect', [gzipSync(goCpuNow())])] }));
      expect(status).toBe(200);
    });
  });

  describe('afterwards', () => {
    it('a valid push still gets 200', async () => {
      await pushValid('valid-last');
    });

    it('after SIGTERM, the bucket holds only the valid profiles', async () => {
      stopped = true;
      const code = await kiln.stop();
      const { profiles } = await readStoredProfiles(dataDirOf(kiln.dir));
      const services = [...new Set(profiles.map((p) => p.labels.service_name))].sort();
      // Nothing of a rejected request: exactly the services of the requests answered 2xx.
      expect(services).toEqual([...accepted].sort());
      // Every valid push is there (a hostile service answered 2xx fails its own test above).
      expect(services).toEqual(expect.arrayContaining(['valid-connect', 'valid-first', 'valid-last', 'valid-tiny']));
      for (const p of profiles) expect(p.tenant).toBe('anonymous');
      // A clean shutdown after all that: every component closed, exit 0.
      expect(code, `kiln exit code after SIGTERM; last log lines:\n${kiln.logs.slice(-4).join('\n')}`).toBe(0);
      expect(kiln.logs.join('\n')).toContain('"stopped"');
    });
  });
});

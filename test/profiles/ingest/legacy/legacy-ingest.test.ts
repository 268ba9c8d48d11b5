import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../../src/profiles/ingest/errors.js';
import { parseLegacyIngest, type LegacyIngest } from '../../../../src/profiles/ingest/legacy-ingest.js';
import { decodePprof } from '../../../../src/profiles/pprof/decode.js';
import { plain } from './helpers.js';

const NOW = new Date(Date.UTC(2026, 10, 21, 12, 0, 0));
const LIMITS = { maxProfileBytes: 1 << 20 };
const NODE_WALL_GZ = new Uint8Array(readFileSync(new URL('../../../../testdata/profiles/node-wall-cpu.pb.gz', import.meta.url)));
const NODE_WALL = new Uint8Array(gunzipSync(NODE_WALL_GZ));
const NODE_NAME =
  'eco-test-app{otel.scope.name=com.grafana.pyroscope/nodejs,otel.scope.version=0.6.4,process.runtime.name=nodejs,process.runtime.version=20.20.2,region=local,version=1.2.3}';

async function parse(query: string | Record<string, string>, body: Uint8Array | string, contentType?: string, limits = LIMITS): Promise<LegacyIngest> {
  return parseLegacyIngest(
    {
      query: new URLSearchParams(query),
      contentType,
      body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
    },
    limits,
    NOW,
  );
}

async function rejects(p: Promise<unknown>, status: number, reason: string, fragment: string): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(IngestError);
  const e = caught as IngestError;
  expect({ status: e.status, reason: e.reason }).toEqual({ status, reason });
  expect(e.message).toContain(fragment);
}

async function form(fields: [string, Uint8Array | string, string?][]): Promise<{ body: Uint8Array; contentType: string }> {
  const fd = new FormData();
  for (const [name, data, filename] of fields) {
    if (typeof data === 'string') fd.append(name, data);
    else fd.append(name, new Blob([data], { type: 'application/octet-stream' }), filename ?? name);
  }
  const req = new Request('http://x', { method: 'POST', body: fd });
  return { body: new Uint8Array(await req.arrayBuffer()), contentType: req.headers.get('content-type')! };
}

/** 8 MiB of zeros gzip to about 8 KiB: far over a 1 MiB cap once inflated. */
const BOMB = new Uint8Array(gzipSync(Buffer.alloc(8 << 20)));

describe('parseLegacyIngest: format=pprof (@pyroscope/nodejs 0.6.4)', () => {
  it('takes the gzipped pprof body and the query exactly as the client sends them', async () => {
    const q = `format=pprof&from=1795253221&name=${encodeURIComponent(NODE_NAME)}&spyName=nodespy&until=1795253224&sampleRate=17`;
    const r = await parse(q, NODE_WALL_GZ, 'application/octet-stream');
    expect(r.appName).toBe('eco-test-app');
    expect(r.labels).toEqual([
      ['otel.scope.name', 'com.grafana.pyroscope/nodejs'],
      ['otel.scope.version', '0.6.4'],
      ['process.runtime.name', 'nodejs'],
      ['process.runtime.version', '20.20.2'],
      ['region', 'local'],
      ['version', '1.2.3'],
    ]);
    expect(r.from.toISOString()).toBe('2026-11-21T09:27:01.000Z');
    expect(r.until.toISOString()).toBe('2026-11-21T09:27:04.000Z');
    expect(r.spyName).toBe('nodespy');
    expect(r.sampleRate).toBe(17);
    expect(r.sampleTypeConfig).toBeUndefined();
    expect(r.profiles).toHaveLength(1);
    const [p] = r.profiles;
    expect(p!.format).toBe('pprof');
    expect(p!.serviceName).toBe('eco-test-app');
    expect(p!.metricName).toBeUndefined();
    expect(p!.profile).toBeUndefined();
    // Handed over as sent: a segment build worker gunzips it.
    expect(Buffer.from(p!.bytes!).equals(Buffer.from(NODE_WALL_GZ))).toBe(true);
  });

  it('leaves the pprof alone whatever sampleRate says (the wall profiler sends 17)', async () => {
    const r = await parse('format=pprof&name=app&sampleRate=17', NODE_WALL_GZ);
    const before = decodePprof(NODE_WALL);
    const after = decodePprof(gunzipSync(r.profiles[0]!.bytes!));
    expect(after.period).toBe(before.period);
    expect(Array.from(after.sampleValues)).toEqual(Array.from(before.sampleValues));
  });

  it('accepts an uncompressed pprof body', async () => {
    const r = await parse('format=pprof&name=app', NODE_WALL);
    expect(Buffer.from(r.profiles[0]!.bytes!).equals(Buffer.from(NODE_WALL))).toBe(true);
  });

  it('reads format=pprof as a raw body even with a multipart content type (Pyroscope order)', async () => {
    const r = await parse('format=pprof&name=app', NODE_WALL_GZ, 'multipart/form-data; boundary=zzz');
    expect(Buffer.from(r.profiles[0]!.bytes!).equals(Buffer.from(NODE_WALL_GZ))).toBe(true);
  });

  it('answers an empty body with nothing to ingest, as Pyroscope does', async () => {
    expect((await parse('format=pprof&name=app', '')).profiles).toEqual([]);
  });

  it('does not inflate a gzip bomb: the size cap applies where profiles are gunzipped (segment builder)', async () => {
    expect(BOMB.length).toBeLessThan(20_000);
    const r = await parse('format=pprof&name=app', BOMB);
    expect(r.profiles[0]!.bytes).toBe(BOMB);
  });
});

describe('parseLegacyIngest: multipart pprof form (@pyroscope/nodejs 0.4.13)', () => {
  it('takes the gzipped pprof from the `profile` part', async () => {
    const { body, contentType } = await form([['profile', NODE_WALL_GZ, 'profile']]);
    const r = await parse(`from=1795253221&name=${encodeURIComponent('eco-test-app{region=local}')}&spyName=nodespy&until=1795253224`, body, contentType);
    expect(r.appName).toBe('eco-test-app');
    expect(r.labels).toEqual([['region', 'local']]);
    expect(r.profiles).toHaveLength(1);
    expect(r.profiles[0]!.format).toBe('pprof');
    expect(r.profiles[0]!.serviceName).toBe('eco-test-app');
    expect(Buffer.from(r.profiles[0]!.bytes!).equals(Buffer.from(NODE_WALL_GZ))).toBe(true);
  });

  it('requires the `profile` part', async () => {
    const { body, contentType } = await form([['other', NODE_WALL_GZ]]);
    await rejects(parse('name=app', body, contentType), 400, 'malformed_profile', 'no "profile" field');
  });

  it('rejects a non-empty prev_profile with Pyroscope\'s message, accepts an empty one', async () => {
    const a = await form([['profile', NODE_WALL_GZ], ['prev_profile', NODE_WALL_GZ]]);
    await rejects(parse('name=app', a.body, a.contentType), 400, 'unsupported_client', 'unsupported client version');
    const b = await form([['profile', NODE_WALL_GZ], ['prev_profile', new Uint8Array()]]);
    expect((await parse('name=app', b.body, b.contentType)).profiles).toHaveLength(1);
  });

  it('reads sample_type_config', async () => {
    const cfg = '{"inuse_space":{"units":"bytes","aggregation":"average","display-name":"inuse","sampled":false},"alloc_objects":{"cumulative":true,"extra":1},"x":null}';
    const { body, contentType } = await form([['profile', NODE_WALL_GZ], ['sample_type_config', new TextEncoder().encode(cfg), 'sample_type_config.json']]);
    const r = await parse('name=app', body, contentType);
    expect({ ...r.sampleTypeConfig }).toEqual({
      inuse_space: { units: 'bytes', aggregation: 'average', 'display-name': 'inuse', sampled: false },
      alloc_objects: { cumulative: true },
    });
  });

  it('rejects a bad sample_type_config with 400', async () => {
    for (const [cfg, fragment] of [
      ['{not json', 'invalid sample_type_config: '],
      ['[1]', 'expected a JSON object'],
      ['{"a":1}', 'entry "a" is not an object'],
      ['{"a":{"units":5}}', '"a".units is not a string'],
      ['{"a":{"cumulative":"yes"}}', '"a".cumulative is not a boolean'],
    ]) {
      const { body, contentType } = await form([['profile', NODE_WALL_GZ], ['sample_type_config', cfg!]]);
      await rejects(parse('name=app', body, contentType), 400, 'malformed_profile', fragment!);
    }
  });

  it('rejects broken framing with 400', async () => {
    await rejects(parse('name=app', 'not a form', 'multipart/form-data; boundary=abc'), 400, 'malformed_profile', 'invalid multipart body');
    await rejects(parse('name=app', 'x', 'multipart/form-data'), 400, 'malformed_profile', 'no boundary');
  });

  it('answers an empty `profile` part with nothing to ingest', async () => {
    const { body, contentType } = await form([['profile', new Uint8Array()]]);
    expect((await parse('name=app', body, contentType)).profiles).toEqual([]);
  });
});

describe('parseLegacyIngest: groups (folded text)', () => {
  it('builds a cpu profile scaled at the default 100 Hz, stamped with `from`', async () => {
    const r = await parse('name=my.app.cpu{env=prod}&from=1795253221&until=1795253231', 'main;work 3\nmain;idle 1\n', 'text/plain');
    expect(r.appName).toBe('my.app.cpu');
    expect(r.labels).toEqual([['env', 'prod']]);
    expect(r.sampleRate).toBe(100);
    expect(r.profiles).toHaveLength(1);
    const [p] = r.profiles;
    expect(p!.format).toBe('folded');
    expect(p!.metricName).toBe('process_cpu');
    expect(p!.serviceName).toBe('my.app');
    expect(p!.bytes).toBeUndefined();
    expect(plain(p!.profile!)).toEqual({
      sampleTypes: ['cpu:nanoseconds'],
      periodType: 'cpu:nanoseconds',
      period: 10_000_000,
      timeNanos: 1_795_253_221_000_000_000n,
      durationNanos: 10_000_000_000n,
      samples: [
        ['main;work', [30_000_000]],
        ['main;idle', [10_000_000]],
      ],
    });
  });

  it('uses the sampleRate parameter for folded cpu', async () => {
    const r = await parse('name=app&sampleRate=50', 'a 1');
    expect(plain(r.profiles[0]!.profile!).samples).toEqual([['a', [20_000_000]]]);
  });

  it('falls back to 100 Hz for invalid, zero, negative and huge sample rates', async () => {
    for (const sr of ['abc', '0', '-5', '1.5', '', '2000000000']) {
      const r = await parse({ name: 'app', sampleRate: sr }, 'a 1');
      expect(r.sampleRate, sr).toBe(100);
      expect(plain(r.profiles[0]!.profile!).samples, sr).toEqual([['a', [10_000_000]]]);
    }
  });

  it('maps a memory suffix to the memory metric with unscaled values', async () => {
    const r = await parse('name=svc.alloc_space', 'a;b 4096');
    expect(r.profiles[0]!.metricName).toBe('memory');
    expect(r.profiles[0]!.serviceName).toBe('svc');
    expect(plain(r.profiles[0]!.profile!).samples).toEqual([['a;b', [4096]]]);
  });

  it('rejects an unknown suffix with 400 before reading the body', async () => {
    await rejects(parse('name=my.service', 'garbage without count'), 400, 'invalid_labels', 'unknown profile type: service');
  });

  it('rejects a bad line with 400', async () => {
    await rejects(parse('name=app', 'a 1\nb two'), 400, 'malformed_profile', 'line 2');
  });

  it('rejects a body over the limit with 413', async () => {
    await rejects(parse('name=app', 'a 1\n'.repeat(10), undefined, { maxProfileBytes: 39 }), 413, 'profile_size_limit', 'limit of 39');
  });
});

describe('parseLegacyIngest: parameters and unsupported formats', () => {
  it('applies the defaults', async () => {
    const r = await parse('name=app', 'a 1');
    expect(r.spyName).toBe('unknown');
    expect(r.units).toBe('samples');
    expect(r.aggregationType).toBe('sum');
    expect(r.from.toISOString()).toBe('2026-11-21T12:00:00.000Z');
    expect(r.until.toISOString()).toBe('2026-11-21T12:00:00.000Z');
  });

  it('passes units and aggregationType through', async () => {
    const r = await parse('name=app.inuse_objects&units=objects&aggregationType=average&from=now-10s', 'a 1');
    expect(r.units).toBe('objects');
    expect(r.aggregationType).toBe('average');
    expect(r.from.toISOString()).toBe('2026-11-21T11:59:50.000Z');
  });

  it('rejects a missing or bad name and bad times with 400', async () => {
    await rejects(parse('', 'a 1'), 400, 'invalid_labels', 'name parameter is required');
    await rejects(parse('name=app{a', 'a 1'), 400, 'invalid_labels', 'invalid name parameter "app{a"');
    await rejects(parse('name=app&from=yesterday', 'a 1'), 400, 'invalid_request', 'invalid from parameter "yesterday"');
    await rejects(parse('name=app&until=tomorrow', 'a 1'), 400, 'invalid_request', 'invalid until parameter "tomorrow"');
  });

  it('answers 415 for the formats Kiln does not read yet', async () => {
    for (const f of ['trie', 'tree', 'lines', 'jfr', 'speedscope']) {
      await rejects(parse(`name=app&format=${f}`, 'x'), 415, 'unsupported_format', `unsupported format "${f}"`);
    }
    await rejects(parse('name=app', 'x', 'binary/octet-stream+trie'), 415, 'unsupported_format', 'unsupported format "trie"');
    await rejects(parse('name=app', 'x', 'binary/octet-stream+tree'), 415, 'unsupported_format', 'unsupported format "tree"');
    // jfr comes before the multipart check, as in Pyroscope.
    await rejects(parse('name=app&format=jfr', 'x', 'multipart/form-data; boundary=a'), 415, 'unsupported_format', 'jfr');
  });

  it('treats an unknown format value as groups, as Pyroscope does', async () => {
    const r = await parse('name=app&format=folded', 'a 1');
    expect(r.profiles[0]!.format).toBe('folded');
  });
});

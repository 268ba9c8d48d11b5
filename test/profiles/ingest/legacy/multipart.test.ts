import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../../src/profiles/ingest/errors.js';
import { multipartBoundary, parseMultipart } from '../../../../src/profiles/ingest/multipart.js';

const LIMITS = { maxParts: 4, maxPartBytes: 1024 };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array()).toString('latin1');

function fails(body: string | Uint8Array, contentType: string, fragment: string, status = 400, limits = LIMITS): void {
  let caught: unknown;
  try {
    parseMultipart(typeof body === 'string' ? enc(body) : body, contentType, limits);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(IngestError);
  expect((caught as IngestError).status).toBe(status);
  expect((caught as IngestError).message).toContain(fragment);
}

/** What @pyroscope/nodejs 0.4 does: undici FormData with one `profile` file part. */
async function undiciForm(fields: [name: string, data: Uint8Array | string, filename?: string][]): Promise<{ body: Uint8Array; contentType: string }> {
  const form = new FormData();
  for (const [name, data, filename] of fields) {
    if (typeof data === 'string') form.append(name, data);
    else form.append(name, new Blob([data], { type: 'application/octet-stream' }), filename ?? name);
  }
  const req = new Request('http://x', { method: 'POST', body: form });
  return { body: new Uint8Array(await req.arrayBuffer()), contentType: req.headers.get('content-type')! };
}

describe('multipartBoundary', () => {
  it('reads quoted and unquoted boundaries, whatever the case of the parameter name', () => {
    expect(multipartBoundary('multipart/form-data; boundary=abc')).toBe('abc');
    expect(multipartBoundary('multipart/form-data; boundary="a b;c"')).toBe('a b;c');
    expect(multipartBoundary('Multipart/Form-Data; charset=utf-8; BOUNDARY=xyz')).toBe('xyz');
  });

  it('rejects a missing, empty or overlong boundary and other media types', () => {
    for (const [ct, fragment] of [
      ['multipart/form-data', 'no boundary'],
      ['multipart/form-data; boundary=', 'no boundary'],
      ['multipart/form-data; boundary=""', 'no boundary'],
      [`multipart/form-data; boundary=${'x'.repeat(71)}`, 'longer than 70'],
      ['multipart/mixed; boundary=abc', 'is not multipart/form-data'],
      ['multipart/form-data; boundary="abc', 'unterminated quoted parameter'],
    ] as const) {
      let caught: unknown;
      try {
        multipartBoundary(ct);
      } catch (err) {
        caught = err;
      }
      expect(caught, ct).toBeInstanceOf(IngestError);
      expect((caught as IngestError).status).toBe(400);
      expect((caught as IngestError).message).toContain(fragment);
    }
  });
});

describe('parseMultipart', () => {
  it('reads the body undici FormData produces, as @pyroscope/nodejs 0.4.13 sends it', async () => {
    // Bytes that look like framing must survive: CR LF, dashes, and gzip magic.
    const profile = new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0x0d, 0x0a, 0x2d, 0x2d, 0x0d, 0x0a, 0xff]);
    const { body, contentType } = await undiciForm([['profile', profile, 'profile']]);
    expect(contentType).toMatch(/^multipart\/form-data; boundary=----formdata-undici-\d+$/);
    const parts = parseMultipart(body, contentType, LIMITS);
    expect([...parts.keys()]).toEqual(['profile']);
    expect([...parts.get('profile')!]).toEqual([0x1f, 0x8b, 0x08, 0x00, 0x0d, 0x0a, 0x2d, 0x2d, 0x0d, 0x0a, 0xff]);
  });

  it('reads several undici fields, file and text', async () => {
    const { body, contentType } = await undiciForm([
      ['profile', enc('PPROF'), 'profile.pprof'],
      ['sample_type_config', '{"cpu":{"units":"samples"}}'],
    ]);
    const parts = parseMultipart(body, contentType, LIMITS);
    expect(text(parts.get('profile'))).toBe('PPROF');
    expect(text(parts.get('sample_type_config'))).toBe('{"cpu":{"units":"samples"}}');
  });

  it('ignores preamble and epilogue and accepts transport padding after a delimiter', () => {
    const body =
      'This is a preamble.\r\n' +
      '--XyZ  \r\n' +
      'content-disposition: form-data; name=a\r\n' +
      '\r\n' +
      'alpha\r\n' +
      '--XyZ\r\n' +
      'Content-Disposition: form-data; name="b"; filename="b.bin"\r\n' +
      'Content-Type: application/octet-stream\r\n' +
      '\r\n' +
      '\r\n' +
      '--XyZ--\r\n' +
      'epilogue --XyZ garbage';
    const parts = parseMultipart(enc(body), 'multipart/form-data; boundary=XyZ', LIMITS);
    expect(text(parts.get('a'))).toBe('alpha');
    expect(text(parts.get('b'))).toBe('');
  });

  it('treats a boundary string not followed by a line break as data', () => {
    const body = '--b\r\nContent-Disposition: form-data; name="p"\r\n\r\nx\r\n--bogus\r\ny\r\n--b--';
    const parts = parseMultipart(enc(body), 'multipart/form-data; boundary=b', LIMITS);
    expect(text(parts.get('p'))).toBe('x\r\n--bogus\r\ny');
  });

  it('returns views into the body, not copies', () => {
    const body = enc('--b\r\nContent-Disposition: form-data; name="p"\r\n\r\nDATA\r\n--b--\r\n');
    const p = parseMultipart(body, 'multipart/form-data; boundary=b', LIMITS).get('p')!;
    expect(p.buffer).toBe(body.buffer);
    expect(p.byteOffset).toBe(49);
  });

  it('accepts an empty form', () => {
    expect(parseMultipart(enc('--b--\r\n'), 'multipart/form-data; boundary=b', LIMITS).size).toBe(0);
  });

  it('rejects malformed framing with a 400', () => {
    const ct = 'multipart/form-data; boundary=b';
    const head = '--b\r\nContent-Disposition: form-data; name="p"\r\n\r\n';
    fails('', ct, 'no opening boundary delimiter');
    fails('hello world', ct, 'no opening boundary delimiter');
    fails(`${head}data`, ct, 'no closing boundary delimiter');
    fails(`${head}data\r\n--b\r\n`, ct, 'part headers are not terminated');
    fails('--b\r\nContent-Disposition: form-data; name="p"\r\ndata\r\n--b--', ct, 'part headers are not terminated');
    fails('--b\r\n\r\ndata\r\n--b--', ct, 'no Content-Disposition');
    fails('--b\r\nContent-Type: text/plain\r\n\r\ndata\r\n--b--', ct, 'no Content-Disposition');
    fails('--b\r\nContent-Disposition: attachment; name="p"\r\n\r\nx\r\n--b--', ct, 'is not form-data');
    fails('--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--', ct, 'no field name');
    fails('--b\r\nno colon here\r\n\r\nx\r\n--b--', ct, 'malformed part header line');
    fails(`--b\r\nX-Long: ${'a'.repeat(20000)}\r\n\r\nx\r\n--b--`, ct, 'part headers are not terminated');
  });

  it('rejects a duplicate field', () => {
    const part = '--b\r\nContent-Disposition: form-data; name="profile"\r\n\r\nx\r\n';
    fails(`${part}${part}--b--\r\n`, 'multipart/form-data; boundary=b', 'duplicate field "profile"');
  });

  it('rejects more parts than the limit', () => {
    let body = '';
    for (let i = 0; i < 5; i++) body += `--b\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nx\r\n`;
    body += '--b--\r\n';
    fails(body, 'multipart/form-data; boundary=b', 'too many parts (limit 4)');
    // Exactly at the limit is fine.
    expect(parseMultipart(enc(body), 'multipart/form-data; boundary=b', { maxParts: 5, maxPartBytes: 10 }).size).toBe(5);
  });

  it('rejects a part larger than maxPartBytes with a 413', () => {
    const body = `--b\r\nContent-Disposition: form-data; name="profile"\r\n\r\n${'z'.repeat(11)}\r\n--b--\r\n`;
    fails(body, 'multipart/form-data; boundary=b', 'larger than 10 bytes', 413, { maxParts: 4, maxPartBytes: 10 });
    expect(parseMultipart(enc(body), 'multipart/form-data; boundary=b', { maxParts: 4, maxPartBytes: 11 }).get('profile')!.length).toBe(11);
  });

  it('stays fast on a body full of near-delimiters', () => {
    // 1.2 MB of "\r\n--bx" fragments that never complete a delimiter line.
    const body = `--b\r\nContent-Disposition: form-data; name="p"\r\n\r\n${'\r\n--bx'.repeat(200_000)}\r\n--b--`;
    const parts = parseMultipart(enc(body), 'multipart/form-data; boundary=b', { maxParts: 2, maxPartBytes: 2_000_000 });
    expect(parts.get('p')!.length).toBe(1_200_000);
  });
});

describe('parseMultipart on mutated input', () => {
  it('either parses or throws IngestError, never anything else', async () => {
    const { body, contentType } = await undiciForm([
      ['profile', enc('PPROF-BYTES'), 'profile'],
      ['sample_type_config', '{}'],
    ]);
    // Deterministic xorshift so a failure is reproducible.
    let seed = 0x2545f491;
    const rnd = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    let parsed = 0;
    let rejected = 0;
    for (let round = 0; round < 2000; round++) {
      const b = Uint8Array.from(body);
      for (let k = 0; k <= rnd(4); k++) b[rnd(b.length)] = [0x0d, 0x0a, 0x2d, 0x22, 0x3b, rnd(256)][rnd(6)]!;
      const cut = rnd(3) === 0 ? b.subarray(0, rnd(b.length + 1)) : b;
      try {
        parseMultipart(cut, contentType, LIMITS);
        parsed++;
      } catch (err) {
        if (!(err instanceof IngestError)) throw err;
        expect(err.status).toBe(400);
        rejected++;
      }
    }
    // Both outcomes must actually occur, or the mutations test nothing.
    expect(parsed).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
  });
});

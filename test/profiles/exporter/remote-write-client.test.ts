// The remote-write client against a real loopback HTTP server: headers, body, and how each
// answer is classified (the exporter retries or drops from that).
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRetryAfter, RemoteWriteClient, splitIntoRequests, USER_AGENT } from '../../../src/profiles/exporter/remote-write-client.js';
import { encodedSeriesSize, type RemoteWriteSeries } from '../../../src/profiles/exporter/remote-write-encoding.js';
import { startReceiver, type Receiver } from './receiver.js';

const receivers: Receiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.close();
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

const series: RemoteWriteSeries[] = [
  { labels: [{ name: '__name__', value: 'profiles_recorded_cpu' }, { name: 'service_name', value: 'api' }], samples: [{ value: 42.5, timestampMs: 1_735_689_600_000 }] },
];

describe('RemoteWriteClient', () => {
  it('sends the remote-write 1.0 headers, the tenant and a snappy protobuf body', async () => {
    const r = await receiver();
    const client = new RemoteWriteClient({ timeoutMs: 5000, basicAuth: { username: 'u', password: 'p w' } });
    expect(await client.send(r.url, 'acme', series)).toEqual({ kind: 'ok', status: 204 });
    const req = r.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/api/v1/write');
    expect(req.headers['content-encoding']).toBe('snappy');
    expect(req.headers['content-type']).toBe('application/x-protobuf');
    expect(req.headers['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(req.headers['user-agent']).toBe(USER_AGENT);
    expect(USER_AGENT).toMatch(/^kiln-metrics-exporter\/\d+\.\d+\.\d+/);
    expect(req.headers['x-scope-orgid']).toBe('acme');
    expect(req.headers['authorization']).toBe(`Basic ${Buffer.from('u:p w').toString('base64')}`);
    expect(req.series).toEqual(series);
  });

  it('sends a bearer token', async () => {
    const r = await receiver();
    await new RemoteWriteClient({ timeoutMs: 5000, bearerToken: 'tok' }).send(r.url, 'acme', series);
    expect(r.requests[0]!.headers['authorization']).toBe('Bearer tok');
  });

  it('classifies answers: 2xx ok, 5xx and 429 retry (with Retry-After), other 4xx drop', async () => {
    const answers = [
      { status: 200 },
      { status: 503, body: 'unavailable' },
      { status: 429, body: 'slow down', headers: { 'Retry-After': '7' } },
      { status: 500, headers: { 'Retry-After': new Date(Date.now() + 60_000).toUTCString() } },
      { status: 400, body: 'out of order sample\nsecond line' },
      { status: 413, body: 'x'.repeat(5000) },
    ];
    const r = await receiver((_req, n) => answers[n - 1]!);
    const client = new RemoteWriteClient({ timeoutMs: 5000 });
    const got = [];
    for (let i = 0; i < answers.length; i++) got.push(await client.send(r.url, 'acme', series));
    expect(got[0]).toEqual({ kind: 'ok', status: 200 });
    expect(got[1]).toEqual({ kind: 'retry', reason: '5xx', status: 503, message: 'unavailable' });
    expect(got[2]).toEqual({ kind: 'retry', reason: '429', status: 429, message: 'slow down', retryAfterMs: 7000 });
    expect(got[3]).toMatchObject({ kind: 'retry', reason: '5xx', status: 500 });
    const at = (got[3] as { retryAfterMs: number }).retryAfterMs;
    expect(at).toBeGreaterThan(50_000);
    expect(at).toBeLessThanOrEqual(60_000);
    expect(got[4]).toEqual({ kind: 'drop', status: 400, message: 'out of order sample\nsecond line' });
    expect(got[5]).toMatchObject({ kind: 'drop', status: 413 });
    expect((got[5] as { message: string }).message.length).toBeLessThanOrEqual(1025);
  });

  it('retries on a network error, a refused connection and a timeout', async () => {
    const r = await receiver(() => ({ status: 204, destroy: true }));
    const client = new RemoteWriteClient({ timeoutMs: 5000 });
    expect(await client.send(r.url, 'acme', series)).toMatchObject({ kind: 'retry', reason: 'network' });
    const url = r.url;
    await r.close();
    receivers.splice(receivers.indexOf(r), 1);
    expect(await client.send(url, 'acme', series)).toMatchObject({ kind: 'retry', reason: 'network' });

    // A server that takes the request and never answers.
    const stuck = http.createServer(() => {});
    await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve));
    const port = (stuck.address() as { port: number }).port;
    try {
      const t0 = Date.now();
      expect(await new RemoteWriteClient({ timeoutMs: 200 }).send(`http://127.0.0.1:${port}/`, 'acme', series)).toMatchObject({ kind: 'retry', reason: 'timeout' });
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      stuck.closeAllConnections();
      await new Promise((resolve) => stuck.close(resolve));
    }
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.UTC(2025, 0, 1, 12, 0, 0);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('splitIntoRequests', () => {
  const many = Array.from({ length: 10 }, (_, i): RemoteWriteSeries => ({ labels: [{ name: '__name__', value: `m${i}` }], samples: [{ value: i, timestampMs: 1 }] }));

  it('splits by series count and by bytes, keeping order', () => {
    expect(splitIntoRequests(many, 4, 1 << 20).map((p) => p.length)).toEqual([4, 4, 2]);
    const size = encodedSeriesSize(many[1]!); // (m0's value 0 is left out: it is smaller)
    expect(splitIntoRequests(many.slice(1), 100, size * 3).map((p) => p.length)).toEqual([3, 3, 3]);
    expect(splitIntoRequests(many, 100, 1).map((p) => p.length)).toEqual(Array(10).fill(1)); // too big alone: still sent
    expect(splitIntoRequests(many, 3, 1 << 20).flat()).toEqual(many);
    expect(splitIntoRequests([], 3, 100)).toEqual([]);
  });
});

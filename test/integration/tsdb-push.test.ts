// The TSDB receiver over HTTP in a real `kiln serve -target=tsdb` process with its real storage:
// content negotiation (1.0/2.0, 415), 2.0's *-Written headers, body limits (413), snappy errors,
// tenancy (anonymous, X-Scope-OrgID, basic auth), the head's sample rules end to end, stale
// markers stored bit for bit, and the /tsdb/series read-back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KilnProcess, startKiln } from '../helpers/kiln-process.js';
import { STALE_PLACEHOLDER, encodeV1, encodeV2, snappy, withStaleMarkers, type TestSeries } from '../tsdb/distributor/helpers.js';

const V1 = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
const V2 = { 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '2.0.0' };

async function post(kiln: KilnProcess, body: Uint8Array, headers: Record<string, string> = V1, path = '/api/v1/push') {
  const res = await fetch(`${kiln.url}${path}`, { method: 'POST', headers, body });
  return { status: res.status, text: (await res.text()).trim(), headers: res.headers };
}

async function series(kiln: KilnProcess, metric: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${kiln.url}/tsdb/series?match=${encodeURIComponent(metric)}`, { headers });
  const body = (await res.json()) as { status: string; data: { metric: Record<string, string>; values: [number, string][] }[] };
  return body.data;
}

const basic = (user: string) => ({ authorization: `Basic ${Buffer.from(`${user}:x`).toString('base64')}` });

describe('kiln serve -target=tsdb: remote write', () => {
  let kiln: KilnProcess;
  const now = Date.now();
  beforeAll(async () => {
    kiln = await startKiln(['-target=tsdb', '-tsdb.distributor.max-recv-msg-size=100000']);
  });
  afterAll(async () => {
    await kiln?.stop();
  });

  it('stores a 1.0 request (200, empty body) and reads it back; /api/v1/write too', async () => {
    const r = await post(kiln, snappy(encodeV1([{ labels: { __name__: 'rw_one', job: 'a' }, samples: [[now - 2000, 1], [now - 1000, 2]] }])));
    expect(r).toMatchObject({ status: 200, text: '' });
    expect(r.headers.get('x-prometheus-remote-write-samples-written')).toBeNull();
    expect((await post(kiln, snappy(encodeV1([{ labels: { __name__: 'rw_one', job: 'a' }, samples: [[now, 3]] }])), V1, '/api/v1/write')).status).toBe(200);
    expect(await series(kiln, 'rw_one')).toEqual([{ metric: { __name__: 'rw_one', job: 'a' }, values: [[now - 2000, '1'], [now - 1000, '2'], [now, '3']] }]);
  });

  it('stores a 2.0 request: 204 with the three *-Written headers, also on a 400', async () => {
    const ok = await post(kiln, snappy(encodeV2([{ labels: { __name__: 'rw_two' }, samples: [[now, 1]], exemplars: 1 }])), V2);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('x-prometheus-remote-write-samples-written')).toBe('1');
    expect(ok.headers.get('x-prometheus-remote-write-histograms-written')).toBe('0');
    expect(ok.headers.get('x-prometheus-remote-write-exemplars-written')).toBe('0');
    const bad = await post(kiln, snappy(encodeV2([{ labels: { __name__: 'rw_two' }, samples: [[now + 1, 1]] }, { labels: { job: 'x' }, samples: [[now, 1]] }])), V2);
    expect(bad.status).toBe(400);
    expect(bad.text).toBe('received series has no metric name (err-kiln-missing-metric-name)');
    expect(bad.headers.get('x-prometheus-remote-write-samples-written')).toBe('1');
    expect((await series(kiln, 'rw_two'))[0]!.values).toHaveLength(2);
  });

  it('415 for other content types, unknown proto messages and encodings; 405 for GET', async () => {
    const body = snappy(encodeV1([{ labels: { __name__: 'x' }, samples: [[now, 1]] }]));
    expect((await post(kiln, body, { ...V1, 'content-type': 'application/json' })).status).toBe(415);
    const proto = await post(kiln, body, { ...V1, 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v3.Request' });
    expect(proto.status).toBe(415);
    expect(proto.text).toContain('unsupported remote-write message type');
    expect((await post(kiln, body, { ...V1, 'content-encoding': 'gzip' })).status).toBe(415);
    expect((await post(kiln, body, { ...V1, 'content-type': 'application/x-protobuf;proto=prometheus.WriteRequest' })).status).toBe(200);
    const get = await fetch(`${kiln.url}/api/v1/push`);
    expect(get.status).toBe(405);
    await get.text();
  });

  it('413 beyond -tsdb.distributor.max-recv-msg-size (as sent or decompressed); 400 for bad snappy and protobuf', async () => {
    const big = await post(kiln, Buffer.alloc(100_001));
    expect(big.status).toBe(413);
    expect(big.text).toContain('(err-kiln-distributor-max-write-message-size)');
    // 200 kB of zeros compress to a few kB but decompress past the limit.
    const bomb = await post(kiln, snappy(Buffer.alloc(200_000)));
    expect(bomb.status).toBe(413);
    expect(bomb.text).toContain('of 200000 bytes is larger than the allowed limit of 100000 bytes');
    const framed = await post(kiln, Buffer.from('ff060000734e61507059', 'hex'));
    expect(framed.status).toBe(400);
    expect(framed.text).toMatch(/^snappy: corrupt input/);
    const raw = await post(kiln, snappy(Buffer.from([0x0a, 0x05, 0x0a])));
    expect(raw.status).toBe(400);
    expect(raw.text).toMatch(/^failed to decode prometheus.WriteRequest: /);
  });

  it('applies the head rules: same value accepted, other value / out of order rejected with Mimir messages', async () => {
    const s = (t: number, v: number): TestSeries[] => [{ labels: { __name__: 'rw_rules' }, samples: [[t, v]] }];
    expect((await post(kiln, snappy(encodeV1(s(now, 1))))).status).toBe(200);
    expect((await post(kiln, snappy(encodeV1(s(now, 1))))).status).toBe(200);
    const dup = await post(kiln, snappy(encodeV1(s(now, 2))));
    expect(dup.status).toBe(400);
    expect(dup.text).toContain('(err-kiln-sample-duplicate-timestamp). The affected sample has timestamp');
    const ooo = await post(kiln, snappy(encodeV1(s(now - 10_000, 1))));
    expect(ooo.status).toBe(400);
    expect(ooo.text).toContain('(err-kiln-sample-out-of-order)');
    expect(ooo.text).toContain('is from series {__name__="rw_rules"}');
  });

  it('stores stale markers as the exact bit pattern', async () => {
    const body = snappy(withStaleMarkers(encodeV1([{ labels: { __name__: 'rw_stale' }, samples: [[now - 1000, 7], [now, STALE_PLACEHOLDER]] }])));
    expect(await post(kiln, body)).toMatchObject({ status: 200, text: '' });
    expect((await series(kiln, 'rw_stale'))[0]!.values).toEqual([[now - 1000, '7'], [now, 'stale']]);
  });

  it('counts requests, samples and discards in /metrics', async () => {
    const text = await (await fetch(`${kiln.url}/metrics`)).text();
    expect(text).toMatch(/kiln_tsdb_distributor_requests_total\{version="1.0",status_code="200"\} \d+/);
    expect(text).toMatch(/kiln_tsdb_discarded_samples_total\{reason="sample_out_of_order",tenant="anonymous"\} 1/);
    expect(text).toMatch(/kiln_tsdb_distributor_received_bytes_total\{kind="compressed"\} \d+/);
  });
});

describe('kiln serve -target=tsdb: tenancy', () => {
  let kiln: KilnProcess;
  const now = Date.now();
  beforeAll(async () => {
    kiln = await startKiln(['-target=tsdb', '-auth.multitenancy-enabled', '-tsdb.distributor.tenant-from-basic-auth']);
  });
  afterAll(async () => {
    await kiln?.stop();
  });

  it('401 without a tenant; X-Scope-OrgID and the basic-auth username name the tenant; tenants are isolated', async () => {
    const body = (v: number) => snappy(encodeV1([{ labels: { __name__: 'tenant_m' }, samples: [[now, v]] }]));
    const none = await post(kiln, body(1));
    expect(none).toMatchObject({ status: 401, text: 'no org id' });
    expect((await post(kiln, body(1), { ...V1, 'x-scope-orgid': 'acme' })).status).toBe(200);
    expect((await post(kiln, body(2), { ...V1, ...basic('globex') })).status).toBe(200);
    expect((await post(kiln, body(3), { ...V1, ...basic('bad/tenant') })).status).toBe(400);
    expect((await series(kiln, 'tenant_m', { 'x-scope-orgid': 'acme' }))[0]!.values).toEqual([[now, '1']]);
    expect((await series(kiln, 'tenant_m', basic('globex')))[0]!.values).toEqual([[now, '2']]);
    expect(await series(kiln, 'tenant_m', { 'x-scope-orgid': 'initech' })).toEqual([]);
  });
});

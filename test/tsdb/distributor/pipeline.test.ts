// The push pipeline (spec §2.3, 2.5–2.7) against a Storage with the head's rules: storage
// rejections → Mimir's messages and 400, series limit, HA dedupe, rate limit (429), exemplars,
// histograms, metadata, stale markers through unchanged, storage failure → 500.
import { describe, expect, it } from 'vitest';
import { decodeWriteRequestV1 } from '../../../src/tsdb/distributor/remote-write-v1.js';
import { FakeStorage, STALE_HEX, STALE_PLACEHOLDER, encodeV1, testDistributor, withStaleMarkers, type TestSeries } from './helpers.js';

const NOW = 1_700_000_000_000;
// Go's RFC 3339 with nanoseconds drops a zero fraction.
const ISO = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const req = (series: TestSeries[], metadata: Parameters<typeof encodeV1>[1] = []) => decodeWriteRequestV1(Buffer.from(encodeV1(series, metadata)));
const UP = { __name__: 'up', job: 'a' };

describe('storage rejections (spec §2.7)', () => {
  it('same timestamp and value: accepted silently; different value: 400 duplicate', async () => {
    const { distributor } = testDistributor({ now: () => NOW });
    expect((await distributor.push('t', req([{ labels: UP, samples: [[NOW, 1]] }]))).status).toBe(200);
    expect(await distributor.push('t', req([{ labels: UP, samples: [[NOW, 1]] }]))).toMatchObject({ status: 200, samplesWritten: 0 });
    const res = await distributor.push('t', req([{ labels: UP, samples: [[NOW, 2]] }]));
    expect(res.status).toBe(400);
    expect(res.message).toBe(
      `the sample has been rejected because another sample with the same timestamp, but a different value, has already been ingested (err-kiln-sample-duplicate-timestamp). The affected sample has timestamp ${ISO(NOW)} and is from series {__name__="up", job="a"}`,
    );
  });

  it('out of order: 400 unless within the OOO window; beyond it too old (with the window)', async () => {
    const { distributor } = testDistributor({ now: () => NOW });
    await distributor.push('t', req([{ labels: UP, samples: [[NOW, 1]] }]));
    const res = await distributor.push('t', req([{ labels: UP, samples: [[NOW - 1000, 1]] }]));
    expect(res.status).toBe(400);
    expect(res.message).toBe(
      `the sample has been rejected because another sample with a more recent timestamp has already been ingested and out-of-order samples are not allowed (err-kiln-sample-out-of-order). The affected sample has timestamp ${ISO(NOW - 1000)} and is from series {__name__="up", job="a"}`,
    );
    const ooo = testDistributor({ now: () => NOW, limits: { outOfOrderWindowMs: 600_000 } }).distributor;
    await ooo.push('t', req([{ labels: UP, samples: [[NOW, 1]] }]));
    expect((await ooo.push('t', req([{ labels: UP, samples: [[NOW - 1000, 1]] }]))).status).toBe(200);
    const old = await ooo.push('t', req([{ labels: UP, samples: [[NOW - 3_600_000, 1]] }]));
    expect(old.status).toBe(400);
    expect(old.message).toContain('this sample is beyond the out-of-order time window of 10m (err-kiln-sample-timestamp-too-old)');
  });

  it('too old without a window: Mimir\'s "its timestamp is too old"', async () => {
    const storage = new FakeStorage();
    storage.append = async () => ({ appended: 0, rejected: [{ series: 0, timestampMs: 1000, reason: 'too_old' }] });
    const { distributor } = testDistributor({ now: () => NOW, storage });
    const res = await distributor.push('t', req([{ labels: UP, samples: [[1000, 1]] }]));
    expect(res.message).toBe('the sample has been rejected because its timestamp is too old (err-kiln-sample-timestamp-too-old). The affected sample has timestamp 1970-01-01T00:00:01Z and is from series {__name__="up", job="a"}');
  });

  it('series limit: new series beyond it get 400 with Mimir\'s message, existing ones still append', async () => {
    const { distributor, storage } = testDistributor({ now: () => NOW, limits: { maxSeriesPerUser: 2 } });
    const res = await distributor.push('t', req([1, 2, 3].map((i) => ({ labels: { __name__: `m${i}` }, samples: [[NOW, 1]] as [number, number][] }))));
    expect(res.status).toBe(400);
    expect(res.message).toBe('per-user series limit of 2 exceeded (err-kiln-max-series-per-user). To adjust the related per-tenant limit, configure -tsdb.ingester.max-global-series-per-user, or contact your service administrator.');
    expect(Object.keys(storage.dump('t'))).toHaveLength(2);
  });

  it('storage errors win over validation errors; a failing storage is a 500', async () => {
    const { distributor, storage } = testDistributor({ now: () => NOW });
    await distributor.push('t', req([{ labels: UP, samples: [[NOW, 1]] }]));
    const res = await distributor.push('t', req([{ labels: { job: 'no-name' }, samples: [[NOW, 1]] }, { labels: UP, samples: [[NOW - 5, 1]] }]));
    expect(res.message).toContain('err-kiln-sample-out-of-order');
    storage.fail = new Error('disk full');
    expect(await distributor.push('t', req([{ labels: UP, samples: [[NOW + 1, 1]] }]))).toMatchObject({ status: 500, message: 'failed to store samples: disk full' });
  });

  it('passes stale markers to storage bit for bit', async () => {
    const { distributor, storage } = testDistributor({ now: () => NOW });
    const body = withStaleMarkers(encodeV1([{ labels: UP, samples: [[NOW - 2, 1], [NOW - 1, STALE_PLACEHOLDER], [NOW - 1, 5], [NOW, STALE_PLACEHOLDER]] }]));
    // The duplicate timestamp forces the filtered-copy path too.
    expect((await distributor.push('t', decodeWriteRequestV1(body))).status).toBe(200);
    expect(storage.dump('t')['{"__name__":"up","job":"a"}']!.map(([, bits]) => bits)).toEqual(['3ff0000000000000', STALE_HEX, STALE_HEX]);
  });
});

describe('HA dedupe (spec §2.6)', () => {
  const ha = (replica: string, t: number, cluster = 'c1') => req([{ labels: { __name__: 'up', cluster, __replica__: replica }, samples: [[t, 1]] }]);

  it('stores the elected replica without the replica label, answers 202 to the other, fails over after the timeout', async () => {
    let now = NOW;
    const { distributor, storage, ha: tracker } = testDistributor({ now: () => now, ha: { enabled: true } });
    expect((await distributor.push('t', ha('a', now))).status).toBe(200);
    const other = await distributor.push('t', ha('b', now));
    expect(other).toMatchObject({ status: 202, message: 'replicas did not match, rejecting sample: replica=b, elected=a' });
    expect(Object.keys(storage.dump('t'))).toEqual(['{"__name__":"up","cluster":"c1"}']);
    now += 31_000;
    expect((await distributor.push('t', ha('b', now))).status).toBe(200);
    expect(tracker.elected('t', 'c1')).toBe('b');
    expect((await distributor.push('t', ha('a', now))).status).toBe(202);
    expect(storage.dump('t')['{"__name__":"up","cluster":"c1"}']).toHaveLength(2);
  });

  it('does not track requests without both labels, nor when disabled; limits clusters per tenant', async () => {
    const { distributor, storage } = testDistributor({ now: () => NOW, ha: { enabled: true, maxClusters: 1 } });
    expect((await distributor.push('t', req([{ labels: { __name__: 'up', __replica__: 'a' }, samples: [[NOW, 1]] }]))).status).toBe(200);
    expect(Object.keys(storage.dump('t'))).toEqual(['{"__name__":"up","__replica__":"a"}']);
    expect((await distributor.push('t', ha('a', NOW, 'c1'))).status).toBe(200);
    const res = await distributor.push('t', ha('a', NOW, 'c2'));
    expect(res.status).toBe(400);
    expect(res.message).toContain('(err-kiln-tenant-too-many-ha-clusters)');
    const off = testDistributor({ now: () => NOW });
    expect((await off.distributor.push('t', ha('a', NOW))).status).toBe(200);
    expect((await off.distributor.push('t', ha('b', NOW + 1))).status).toBe(200);
  });
});

describe('rate limit', () => {
  it('429 with Retry-After and nothing stored once the burst is used; refills at the rate', async () => {
    let now = NOW;
    const { distributor, storage } = testDistributor({ now: () => now, limits: { ingestionRate: 10, ingestionBurstSize: 20 } });
    const batch = (t0: number, n: number) => req([{ labels: UP, samples: Array.from({ length: n }, (_, i) => [t0 + i, 1] as [number, number]) }]);
    expect((await distributor.push('t', batch(now - 100, 15))).status).toBe(200);
    const res = await distributor.push('t', batch(now - 50, 10));
    expect(res).toMatchObject({ status: 429, retryAfterSeconds: 1 });
    expect(res.message).toMatch(/^the request has been rejected because the tenant exceeded the ingestion rate limit, set to 10 items\/s with a maximum allowed burst of 20\./);
    expect(res.message).toContain('(err-kiln-tenant-max-ingestion-rate)');
    expect(storage.dump('t')['{"__name__":"up","job":"a"}']).toHaveLength(15);
    now += 1000;
    expect((await distributor.push('t', batch(now - 50, 10))).status).toBe(200);
    // Bigger than the burst: never passes, so no Retry-After.
    now += 100_000;
    const huge = await distributor.push('t', batch(now - 50, 21));
    expect(huge.status).toBe(429);
    expect(huge.retryAfterSeconds).toBeUndefined();
    // Tenants have their own buckets.
    expect((await distributor.push('other', batch(now - 50, 20))).status).toBe(200);
  });
});

describe('exemplars, histograms, metadata', () => {
  it('drops and counts exemplars, keeps the samples', async () => {
    const { distributor, storage, registry } = testDistributor({ now: () => NOW });
    expect(await distributor.push('t', req([{ labels: UP, samples: [[NOW, 1]], exemplars: 3 }]))).toMatchObject({ status: 200, exemplarsWritten: 0 });
    expect(Object.keys(storage.dump('t'))).toHaveLength(1);
    expect(await registry.getSingleMetricAsString('kiln_tsdb_discarded_exemplars_total')).toContain('{reason="exemplars_disabled",tenant="t"} 3');
  });

  it('rejects native histograms with a 400 naming the series; float samples of the request are stored', async () => {
    const { distributor, storage } = testDistributor({ now: () => NOW });
    const res = await distributor.push('t', req([{ labels: { __name__: 'h' }, histograms: 2 }, { labels: UP, samples: [[NOW, 1]] }]));
    expect(res.status).toBe(400);
    expect(res.message).toBe(`received native histogram samples, which this Kiln version does not store; series: '{__name__="h"}' (err-kiln-native-histograms-unsupported)`);
    expect(Object.keys(storage.dump('t'))).toEqual(['{"__name__":"up","job":"a"}']);
  });

  it('keeps metadata per tenant (metadata-only requests included)', async () => {
    const { distributor, metadata } = testDistributor({ now: () => NOW });
    const res = await distributor.push('t', req([], [{ type: 2, metricFamilyName: 'temp', help: 'Temperature.', unit: 'celsius' }]));
    expect(res.status).toBe(200);
    expect([...metadata.get('t')]).toEqual([['temp', { type: 'gauge', help: 'Temperature.', unit: 'celsius' }]]);
    expect(metadata.get('other').size).toBe(0);
  });
});

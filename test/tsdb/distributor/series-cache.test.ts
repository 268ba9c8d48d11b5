// The per-tenant cache of known label sets (series-cache.ts) and the head's series memo: hits,
// misses, changed labels, limits, invalid series never cached, series removed by head
// compaction, tenants kept apart — with results identical to the uncached path.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { decodeBody } from '../../../src/tsdb/distributor/push-handler.js';
import { decodeWriteRequestV1 } from '../../../src/tsdb/distributor/remote-write-v1.js';
import { SeriesCache, viewOf } from '../../../src/tsdb/distributor/series-cache.js';
import { TsdbStorage } from '../../../src/tsdb/db.js';
import { Head } from '../../../src/tsdb/head/head.js';
import type { SeriesMemo } from '../../../src/tsdb/storage.js';
import { NO_OOO, recordingLogger, series, tempDirsRemovedAfterAll } from '../helpers.js';
import { FakeStorage, encodeV1, snappy, testDistributor, type TestSeries } from './helpers.js';

const NOW = 1_700_000_000_000;
const newDir = tempDirsRemovedAfterAll();

/** Decodes with the tenant's cache, as the push handler does, and pushes. */
async function push(d: ReturnType<typeof testDistributor>['distributor'], tenant: string, list: TestSeries[]) {
  const decoded = decodeWriteRequestV1(Buffer.from(encodeV1(list)), d.seriesCache(tenant));
  const hits = decoded.series.filter((s) => s.cached !== undefined).length;
  return { hits, result: await d.push(tenant, decoded) };
}

describe('SeriesCache', () => {
  const bytes = (s: string) => Buffer.from(s, 'latin1');

  it('finds exactly the byte ranges added, whatever buffer they are in', () => {
    const c = new SeriesCache(100);
    const a = bytes('xxlabels-of-a-series-yy');
    expect(c.find(viewOf(a), 2, 21)).toBeUndefined();
    const e = c.add(a, 2, 20, [['__name__', 'a']]);
    const elsewhere = bytes('----labels-of-a-series');
    expect(c.find(viewOf(elsewhere), 4, 22)).toBe(e);
    expect(c.find(viewOf(bytes('labels-of-a-serieZ')), 0, 18)).toBeUndefined();
    expect(c.find(viewOf(bytes('labels-of-a-series!')), 0, 19)).toBeUndefined(); // longer
    expect(c.find(viewOf(bytes('labels-of-a-serie')), 0, 17)).toBeUndefined(); // shorter
  });

  it('keeps many keys apart as it grows', () => {
    const c = new SeriesCache(1 << 20);
    const keys = Array.from({ length: 5000 }, (_, i) => bytes(`{__name__="m${i % 13}", instance="host-${i}:9100"}${'z'.repeat(i % 7)}`));
    const entries = keys.map((k, i) => c.add(k, 0, k.length, [['i', String(i)]]));
    keys.forEach((k, i) => expect(c.find(viewOf(k), 0, k.length)).toBe(entries[i]));
    expect(c.size).toBe(5000);
  });

  it('findAfter: the entry that followed last time is tried first, and only if this cache holds it', () => {
    const c = new SeriesCache(100);
    const [a, b, x] = ['key-a', 'key-b', 'key-x'].map(bytes);
    const ea = c.add(a!, 0, 5, []);
    const eb = c.add(b!, 0, 5, []);
    const ex = c.add(x!, 0, 5, []);
    expect(c.findAfter(ea, viewOf(b!), 0, 5)).toBe(eb);
    expect(ea.next).toBe(eb);
    expect(c.findAfter(ea, viewOf(b!), 0, 5)).toBe(eb); // the guess
    expect(c.findAfter(ea, viewOf(x!), 0, 5)).toBe(ex); // a wrong guess falls back to the table
    expect(ea.next).toBe(ex);
    expect(c.findAfter(ea, viewOf(bytes('key-z')), 0, 5)).toBeUndefined();
    // A guess from another cache with a key at the same index is not trusted.
    const other = new SeriesCache(100);
    const oa = other.add(bytes('key-a'), 0, 5, []);
    oa.next = other.add(bytes('key-q'), 0, 5, []);
    expect(c.findAfter(oa, viewOf(bytes('key-b')), 0, 5)).toBe(eb);
    // Nor one from before a clear().
    c.clear();
    const ea2 = c.add(a!, 0, 5, []);
    ea2.next = ex; // stale
    expect(c.findAfter(ea2, viewOf(x!), 0, 5)).toBeUndefined();
    expect(ea.next).toBeUndefined();
  });

  it('is bounded: full, it starts over', () => {
    const c = new SeriesCache(3);
    const keys = ['a1', 'b22', 'c333', 'd4444'].map(bytes);
    for (const k of keys) c.add(k, 0, k.length, []);
    expect(c.size).toBe(1);
    expect(c.find(viewOf(keys[0]!), 0, 2)).toBeUndefined();
    expect(c.find(viewOf(keys[3]!), 0, 5)).toBeDefined();
  });

  it('is emptied when the limits change', () => {
    const c = new SeriesCache(10);
    c.useLimits('a');
    c.add(bytes('k'), 0, 1, []);
    c.useLimits('a');
    expect(c.size).toBe(1);
    c.useLimits('b');
    expect(c.size).toBe(0);
  });
});

describe('decoding and pushing with the cache', () => {
  const a = { __name__: 'up', job: 'a', instance: 'h:1' };

  it('a known series is a hit: not decoded, stored as before', async () => {
    const t = testDistributor({ now: () => NOW });
    expect((await push(t.distributor, 't', [{ labels: a, samples: [[NOW, 1]] }])).hits).toBe(0);
    const second = await push(t.distributor, 't', [{ labels: a, samples: [[NOW + 1, 2]] }, { labels: { ...a, job: 'b' }, samples: [[NOW + 1, 3]] }]);
    expect(second.hits).toBe(1); // the changed label set is a miss
    expect(second.result).toMatchObject({ status: 200, samplesWritten: 2 });
    const third = decodeWriteRequestV1(Buffer.from(encodeV1([{ labels: a, samples: [[NOW + 2, 4]] }])), t.distributor.seriesCache('t'));
    expect(third.series[0]!.cached?.labels).toEqual([['__name__', 'up'], ['instance', 'h:1'], ['job', 'a']]);
    expect(third.series[0]!.labels).toEqual([]);
    expect(await t.distributor.push('t', third)).toMatchObject({ status: 200, samplesWritten: 1 });
    expect(Object.keys(t.storage.dump('t'))).toHaveLength(2);
    expect(t.storage.dump('t')['{"__name__":"up","instance":"h:1","job":"a"}']?.map(([ts]) => ts)).toEqual([NOW, NOW + 1, NOW + 2]);
  });

  it('unsorted labels and empty values: the cached set is the normalised one', async () => {
    const t = testDistributor({ now: () => NOW });
    const raw: [string, string][] = [['job', 'a'], ['empty', ''], ['__name__', 'up']];
    await push(t.distributor, 't', [{ labels: raw, samples: [[NOW, 1]] }]);
    const again = decodeWriteRequestV1(Buffer.from(encodeV1([{ labels: raw, samples: [[NOW + 1, 1]] }])), t.distributor.seriesCache('t'));
    expect(again.series[0]!.cached?.labels).toEqual([['__name__', 'up'], ['job', 'a']]);
    await t.distributor.push('t', again);
    expect(t.storage.dump('t')).toEqual({ '{"__name__":"up","job":"a"}': [[NOW, expect.any(String)], [NOW + 1, expect.any(String)]] });
  });

  it('invalid series are never cached: the same 400 every time', async () => {
    const t = testDistributor({ now: () => NOW, limits: { maxLengthLabelValue: 10 } });
    const bad = [{ labels: { __name__: 'up', job: 'a-very-long-value' }, samples: [[NOW, 1]] as [number, number][] }];
    const first = await push(t.distributor, 't', bad);
    const second = await push(t.distributor, 't', bad);
    expect(first.result.status).toBe(400);
    expect(second.hits).toBe(0);
    expect(second.result).toEqual(first.result);
    expect(t.distributor.seriesCache('t')!.size).toBe(0);
    // A missing metric name too.
    await push(t.distributor, 't', [{ labels: { job: 'a' }, samples: [[NOW, 1]] }]);
    expect((await push(t.distributor, 't', [{ labels: { job: 'a' }, samples: [[NOW, 1]] }])).hits).toBe(0);
    // And a value that is not UTF-8 (0xff where the encoder wrote '~').
    const body = Buffer.from(encodeV1([{ labels: { __name__: 'up', v: 'a~b' }, samples: [[NOW, 1]] }]));
    body[body.indexOf('a~b') + 1] = 0xff;
    const results = [];
    for (let i = 0; i < 2; i++) {
      const d = decodeWriteRequestV1(body, t.distributor.seriesCache('t'));
      expect(d.series[0]!.cached).toBeUndefined();
      results.push(await t.distributor.push('t', d));
    }
    expect(results[0]!.message).toContain('err-kiln-label-value-invalid');
    expect(results[1]).toEqual(results[0]);
    expect(t.distributor.seriesCache('t')!.size).toBe(0);
  });

  it('limits that change are applied again to known series', async () => {
    const t = testDistributor({ now: () => NOW });
    const long = [{ labels: { __name__: 'up', job: 'a-very-long-value' }, samples: [[NOW, 1]] as [number, number][] }];
    expect((await push(t.distributor, 't', long)).result.status).toBe(200);
    (t.distributor as unknown as { o: { limits: { maxLengthLabelValue: number } } }).o.limits.maxLengthLabelValue = 10;
    const after = await push(t.distributor, 't', long);
    expect(after.hits).toBe(0);
    expect(after.result.status).toBe(400);
    expect(after.result.message).toContain('err-kiln-label-value-too-long');
  });

  it('a series limit still applies to a known label set that has no series yet', async () => {
    const t = testDistributor({ now: () => NOW, limits: { maxSeriesPerUser: 1 } });
    await push(t.distributor, 't', [{ labels: a, samples: [[NOW, 1]] }, { labels: { ...a, job: 'b' }, samples: [[NOW, 1]] }]);
    const again = await push(t.distributor, 't', [{ labels: { ...a, job: 'b' }, samples: [[NOW + 1, 1]] }]);
    expect(again.hits).toBe(1);
    expect(again.result.status).toBe(400);
    expect(again.result.message).toContain('per-user series limit of 1 exceeded');
  });

  it('labels after the samples: no key, decoded every time', async () => {
    const t = testDistributor({ now: () => NOW });
    // TimeSeries { labels, samples, labels }: the cached run would be only part of the set.
    const one = Buffer.from(encodeV1([{ labels: { __name__: 'up' }, samples: [[NOW, 1]] }]));
    const extra = Buffer.from(encodeV1([{ labels: { job: 'a' } }]));
    // Splice the second request's label field onto the end of the first series.
    const seriesLen = one[1]!;
    const labelField = extra.subarray(2, 2 + extra[1]!);
    const body = Buffer.concat([Buffer.from([0x0a, seriesLen + labelField.length]), one.subarray(2), labelField]);
    for (let i = 0; i < 2; i++) {
      const d = decodeWriteRequestV1(body, t.distributor.seriesCache('t'));
      expect(d.series[0]!.labels).toEqual([['__name__', 'up'], ['job', 'a']]);
      expect(d.series[0]!.keyStart).toBe(-1);
      expect((await t.distributor.push('t', d)).status).toBe(200);
    }
    // And when the leading run is known on its own, the later label still counts.
    await push(t.distributor, 't', [{ labels: { __name__: 'up' }, samples: [[NOW, 1]] }]);
    const d = decodeWriteRequestV1(body, t.distributor.seriesCache('t'));
    expect(d.series[0]!.cached).toBeUndefined();
    expect(d.series[0]!.labels).toEqual([['__name__', 'up'], ['job', 'a']]);
  });

  it('tenants have their own caches', async () => {
    const t = testDistributor({ now: () => NOW });
    await push(t.distributor, 'a', [{ labels: a, samples: [[NOW, 1]] }]);
    expect((await push(t.distributor, 'b', [{ labels: a, samples: [[NOW, 1]] }])).hits).toBe(0);
    expect((await push(t.distributor, 'b', [{ labels: a, samples: [[NOW + 1, 1]] }])).hits).toBe(1);
    expect(t.distributor.seriesCache('a')).not.toBe(t.distributor.seriesCache('b'));
    expect(Object.keys(t.storage.dump('a'))).toHaveLength(1);
    expect(Object.keys(t.storage.dump('b'))).toHaveLength(1);
  });

  it('no cache with HA dedupe on', () => {
    const t = testDistributor({ ha: { enabled: true } });
    expect(t.distributor.seriesCache('t')).toBeUndefined();
  });

  it('the push handler decodes with the tenant cache (2.0 bodies without)', () => {
    const t = testDistributor({ now: () => NOW });
    const body = snappy(encodeV1([{ labels: a, samples: [[NOW, 1]] }]));
    const cache = t.distributor.seriesCache('t')!;
    const first = decodeBody('1.0', body, 1 << 20, undefined, cache);
    cache.add(first.body!, first.series[0]!.keyStart!, first.series[0]!.keyEnd!, [['__name__', 'up']]);
    expect(decodeBody('1.0', body, 1 << 20, undefined, cache).series[0]!.cached).toBeDefined();
  });
});

describe('the head series memo', () => {
  const HOUR = 3_600_000;

  it('finds the series again; a memo of another head or from before a truncation is not trusted', async () => {
    const head = await Head.open(await newDir(), { logger: recordingLogger() });
    const memo: SeriesMemo = { owner: undefined, epoch: 0, series: undefined };
    const s = (t: number, o = { __name__: 'up', job: 'a' }) => ({ ...series(o, [[t, 1]]), memo });
    await head.append([s(0)], NO_OOO);
    expect(memo.owner).toBe(head);
    const first = memo.series;
    await head.append([s(1000)], NO_OOO);
    expect(memo.series).toBe(first);
    expect(head.numSeries).toBe(1);

    // The series goes quiet; truncation removes it; the memo must not bring it back.
    await head.append([series({ __name__: 'other' }, [[3 * HOUR, 1]])], NO_OOO);
    await head.truncate(2 * HOUR);
    expect(head.numSeries).toBe(1);
    await head.append([s(3 * HOUR + 1000)], NO_OOO);
    expect(head.numSeries).toBe(2);
    expect(memo.series).not.toBe(first);
    expect(head.seriesByRef((memo.series as { ref: number }).ref)).toBe(memo.series);
    const [got] = await head.querier().select([{ name: 'job', type: '=', value: 'a' }], -Infinity, Infinity);
    expect(Array.from(got!.timestamps)).toEqual([3 * HOUR + 1000]);

    // Another head (another tenant) with a memo set by this one: looked up there, not trusted.
    const other = await Head.open(await newDir(), { logger: recordingLogger() });
    await other.append([s(5 * HOUR)], NO_OOO);
    expect(other.numSeries).toBe(1);
    expect(memo.owner).toBe(other);
    await head.append([s(5 * HOUR)], NO_OOO);
    expect(head.numSeries).toBe(2);
    const [again] = await head.querier().select([{ name: 'job', type: '=', value: 'a' }], -Infinity, Infinity);
    expect(Array.from(again!.timestamps)).toEqual([3 * HOUR + 1000, 5 * HOUR]);
    await head.close();
    await other.close();

    // The re-created series was logged: replay has it.
    const reopened = await Head.open(head.dir, { logger: recordingLogger() });
    const [replayed] = await reopened.querier().select([{ name: 'job', type: '=', value: 'a' }], -Infinity, Infinity);
    expect(Array.from(replayed!.timestamps)).toEqual([3 * HOUR + 1000, 5 * HOUR]);
    await reopened.close();
  });

  it('end to end: known series keep being stored across head compaction, per tenant', async () => {
    const dir = await newDir();
    const storage = await TsdbStorage.open({ dir, logger: recordingLogger(), compactionIntervalMs: 0, registry: new Registry(), blockRangeMs: 2 * HOUR });
    const t0 = 10 * HOUR;
    let now = t0;
    const t = testDistributor({ now: () => now, storage: storage as unknown as FakeStorage });
    const quiet = { __name__: 'quiet', job: 'a' };
    const busy = { __name__: 'busy', job: 'a' };
    for (const tenant of ['x', 'y']) {
      await push(t.distributor, tenant, [{ labels: quiet, samples: [[t0, 1]] }, { labels: busy, samples: [[t0, 1]] }]);
    }
    // Only `busy` goes on for 4 h; compaction cuts [10h, 12h) and the head drops `quiet`.
    for (let h = 1; h <= 4; h++) {
      now = t0 + h * HOUR;
      for (const tenant of ['x', 'y']) expect((await push(t.distributor, tenant, [{ labels: busy, samples: [[now, h]] }])).hits).toBe(1);
    }
    for (const tenant of ['x', 'y']) {
      const db = await storage.tenant(tenant);
      expect((await db.compactHead()).length).toBeGreaterThan(0);
      expect(db.head.numSeries).toBe(1);
    }
    // `quiet` comes back: a cache hit, but its head series is gone — created again.
    now = t0 + 4 * HOUR + 1000;
    for (const tenant of ['x', 'y']) {
      const r = await push(t.distributor, tenant, [{ labels: quiet, samples: [[now, 7]] }, { labels: busy, samples: [[now, 8]] }]);
      expect(r.hits).toBe(2);
      expect(r.result).toMatchObject({ status: 200, samplesWritten: 2 });
      const db = await storage.tenant(tenant);
      expect(db.head.numSeries).toBe(2);
      const got = await db.querier().select([{ name: '__name__', type: '=', value: 'quiet' }], -Infinity, Infinity);
      expect(got.map((s) => Array.from(s.timestamps))).toEqual([[t0, now]]);
    }
    await storage.close();
  });
});

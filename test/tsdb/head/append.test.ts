// Head append rules (spec/tsdb.md §2.7) and what survives a WAL replay.
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Head } from '../../../src/tsdb/head/head.js';
import type { AppendOptions } from '../../../src/tsdb/storage.js';
import { bitsAt, floatsFromBits, NO_OOO, recordingLogger, series, tempDir } from '../helpers.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function openHead(): Promise<Head> {
  const dir = await tempDir();
  dirs.push(dir);
  return Head.open(dir, { logger: recordingLogger(), walSegmentBytes: 4096 });
}

const up = { __name__: 'up', job: 'a' };
const HOUR = 3_600_000;

async function samplesOf(head: Head, minT = -Infinity, maxT = Infinity): Promise<Array<[number, number]>> {
  const [s] = await head.querier().select([{ name: 'job', type: '=', value: 'a' }], minT, maxT);
  return s ? Array.from(s.timestamps, (t, i) => [t, s.values[i]!]) : [];
}

describe('head appends', () => {
  it('accepts a same-timestamp same-value duplicate silently and does not count it', async () => {
    const head = await openHead();
    expect(await head.append([series(up, [[1000, 1]])], NO_OOO)).toEqual({ appended: 1, rejected: [] });
    expect(await head.append([series(up, [[1000, 1]])], NO_OOO)).toEqual({ appended: 0, rejected: [] });
    expect(await samplesOf(head)).toEqual([[1000, 1]]);
    await head.close();
  });

  it('rejects a same-timestamp different value as duplicate_timestamp', async () => {
    const head = await openHead();
    const out = await head.append([series(up, [[1000, 1], [1000, 2], [2000, 3]])], NO_OOO);
    expect(out).toEqual({ appended: 2, rejected: [{ series: 0, timestampMs: 1000, reason: 'duplicate_timestamp' }] });
    // NaN with different bits is a different value; the same NaN bits are a duplicate.
    const stale = { labels: series(up, []).labels, timestamps: [3000], values: floatsFromBits(['7ff0000000000002']) };
    await head.append([stale], NO_OOO);
    expect(await head.append([stale], NO_OOO)).toEqual({ appended: 0, rejected: [] });
    expect((await head.append([series(up, [[3000, NaN]])], NO_OOO)).rejected[0]?.reason).toBe('duplicate_timestamp');
    await head.close();
  });

  it('rejects older samples as out_of_order without an OOO window', async () => {
    const head = await openHead();
    const out = await head.append([series(up, [[2000, 1], [1000, 2], [3000, 3]])], NO_OOO);
    expect(out.appended).toBe(2);
    expect(out.rejected).toEqual([{ series: 0, timestampMs: 1000, reason: 'out_of_order' }]);
    expect(await samplesOf(head)).toEqual([[2000, 1], [3000, 3]]);
    await head.close();
  });

  it('accepts out-of-order samples inside the window and returns them in order', async () => {
    const head = await openHead();
    const ooo: AppendOptions = { outOfOrderWindowMs: 10 * 60_000, maxSeriesPerUser: 0 };
    const base = 10 * HOUR;
    await head.append([series(up, [[base, 1], [base + 60_000, 2], [base + 120_000, 3]])], ooo);
    const out = await head.append([series(up, [[base + 30_000, 1.5], [base + 90_000, 2.5], [base + 30_000, 1.5], [base + 30_000, 9]])], ooo);
    expect(out).toEqual({ appended: 2, rejected: [{ series: 0, timestampMs: base + 30_000, reason: 'duplicate_timestamp' }] });
    // Before headMax − window: too old (the window turns out-of-order into too_old).
    const old = await head.append([series(up, [[base + 120_000 - 11 * 60_000, 0]])], ooo);
    expect(old.rejected).toEqual([{ series: 0, timestampMs: base + 120_000 - 11 * 60_000, reason: 'too_old' }]);
    expect(await samplesOf(head)).toEqual([[base, 1], [base + 30_000, 1.5], [base + 60_000, 2], [base + 90_000, 2.5], [base + 120_000, 3]]);
    // Range selection merges too.
    expect(await samplesOf(head, base + 30_000, base + 60_000)).toEqual([[base + 30_000, 1.5], [base + 60_000, 2]]);
    // An OOO sample landing on an in-order one is a duplicate (same value: silent).
    expect(await head.append([series(up, [[base + 60_000, 2]])], ooo)).toEqual({ appended: 0, rejected: [] });
    expect((await head.append([series(up, [[base + 60_000, 7]])], ooo)).rejected[0]?.reason).toBe('duplicate_timestamp');
    await head.close();
  });

  it('rejects samples older than head max time − 1h as too_old, for new and existing series', async () => {
    const head = await openHead();
    await head.append([series(up, [[5 * HOUR, 1]])], NO_OOO);
    const out = await head.append(
      [series({ __name__: 'new', job: 'b' }, [[4 * HOUR - 1, 1], [4 * HOUR, 2]]), series(up, [[4 * HOUR - 1, 1]])],
      NO_OOO,
    );
    expect(out.appended).toBe(1);
    expect(out.rejected).toEqual([
      { series: 0, timestampMs: 4 * HOUR - 1, reason: 'too_old' },
      { series: 1, timestampMs: 4 * HOUR - 1, reason: 'too_old' },
    ]);
    // A series whose only samples are too old is not created.
    const nothing = await head.append([series({ __name__: 'ghost' }, [[HOUR, 1]])], NO_OOO);
    expect(nothing.rejected[0]?.reason).toBe('too_old');
    expect(head.numSeries).toBe(2);
    await head.close();
  });

  it('rejects new series beyond maxSeriesPerUser, one rejection per sample', async () => {
    const head = await openHead();
    const lim: AppendOptions = { outOfOrderWindowMs: 0, maxSeriesPerUser: 2 };
    const out = await head.append(
      [series({ a: '1' }, [[1, 1]]), series({ a: '2' }, [[1, 1]]), series({ a: '3' }, [[1, 1], [2, 2]]), series({ a: '1' }, [[2, 2]])],
      lim,
    );
    expect(out.appended).toBe(3);
    expect(out.rejected).toEqual([
      { series: 2, timestampMs: 1, reason: 'max_series_per_user' },
      { series: 2, timestampMs: 2, reason: 'max_series_per_user' },
    ]);
    expect(head.numSeries).toBe(2);
    await head.close();
  });

  it('stores stale markers with their exact bits, also across replay', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    let head = await Head.open(dir, { logger: recordingLogger() });
    const values = floatsFromBits(['3ff0000000000000', '7ff0000000000002', '8000000000000000']);
    await head.append([{ labels: [['job', 'a']], timestamps: [1, 2, 3], values }], NO_OOO);
    const check = async (): Promise<void> => {
      const [s] = await head.querier().select([{ name: 'job', type: '=', value: 'a' }], 0, 10);
      expect([bitsAt(s!.values, 0), bitsAt(s!.values, 1), bitsAt(s!.values, 2)]).toEqual(['3ff0000000000000', '7ff0000000000002', '8000000000000000']);
    };
    await check();
    await head.close();
    head = await Head.open(dir, { logger: recordingLogger() });
    await check();
    await head.close();
  });

  it('writes one WAL batch per append call and group-commits concurrent ones', async () => {
    const head = await openHead();
    const many = Array.from({ length: 50 }, (_, i) => series({ __name__: 'm', i: String(i) }, [[1, i], [2, i]]));
    await head.append(many, NO_OOO);
    expect(head.walStats.writes).toBe(1);
    await Promise.all(Array.from({ length: 20 }, (_, k) => head.append([series({ __name__: 'c', k: String(k) }, [[5, k]])], NO_OOO)));
    expect(head.walStats.writes).toBe(21);
    expect(head.walStats.fsyncs).toBeLessThan(21);
    await head.close();
  });
});

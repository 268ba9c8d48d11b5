// WAL replay: a reopened head equals the one that wrote the WAL; torn tails are cut and logged;
// a checksummed record that does not decode fails the open clearly; truncation checkpoints.
import { appendFile, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeXorChunk } from '../../../src/tsdb/chunkenc/xor-chunk.js';
import { Head } from '../../../src/tsdb/head/head.js';
import type { AppendOptions, SelectedSeries } from '../../../src/tsdb/storage.js';
import { frameRecords } from '../../../src/tsdb/wal/wal-segment.js';
import { RECORD_SAMPLES } from '../../../src/tsdb/wal/wal-records.js';
import { bitsAt, NO_OOO, recordingLogger, series, tempDirsRemovedAfterAll } from '../helpers.js';

const newDir = tempDirsRemovedAfterAll();

const OOO: AppendOptions = { outOfOrderWindowMs: 60_000, maxSeriesPerUser: 0 };
const ALL = [{ name: '__name__', type: '=~' as const, value: '.+' }];

/** Every series with exact value bits, for equality across replays. */
async function dump(head: Head): Promise<string[]> {
  const out: SelectedSeries[] = await head.querier().select(ALL, -Infinity, Infinity);
  return out.map((s) => `${JSON.stringify(s.labels)} ${Array.from(s.timestamps, (t, i) => `${t}=${bitsAt(s.values, i)}`).join(' ')}`);
}

/** Writes `n` requests of 20 series × 10 samples, some out of order, some NaN. */
async function fill(head: Head, requests: number, start = 0): Promise<void> {
  for (let r = 0; r < requests; r++) {
    const batch = Array.from({ length: 20 }, (_, s) =>
      series(
        { __name__: `metric_${s % 3}`, instance: `host-${s}` },
        Array.from({ length: 10 }, (_, k): [number, number] => {
          const t = start + (r * 10 + k) * 15_000;
          return [(k === 5 && s % 4 === 0 ? t - 20_000 : t), k === 3 ? NaN : Math.sin(t + s)];
        }),
      ),
    );
    await head.append(batch, OOO);
  }
}

describe('WAL replay', () => {
  it('rebuilds an identical head across many segments', async () => {
    const dir = await newDir();
    const head = await Head.open(dir, { logger: recordingLogger(), walSegmentBytes: 8192 });
    await fill(head, 30);
    const before = await dump(head);
    await head.close();
    expect((await readdir(path.join(dir, 'wal'))).length).toBeGreaterThan(5);
    const again = await Head.open(dir, { logger: recordingLogger(), walSegmentBytes: 8192 });
    expect(await dump(again)).toEqual(before);
    expect(again.minTime).toBe(head.minTime);
    expect(again.maxTime).toBe(head.maxTime);
    await again.close();
  });

  it('cuts a torn tail, logs a warning, and keeps going', async () => {
    const dir = await newDir();
    const head = await Head.open(dir, { logger: recordingLogger() });
    await fill(head, 3);
    const whole = await dump(head);
    await head.append([series({ __name__: 'last' }, [[10_000_000, 1]])], NO_OOO);
    await head.close();
    const walDir = path.join(dir, 'wal');
    const segs = (await readdir(walDir)).sort();
    const last = path.join(walDir, segs[segs.length - 1]!);
    await truncate(last, (await stat(last)).size - 3); // the last record loses its end
    await appendFile(last, Buffer.from([2, 0, 0]));
    const log = recordingLogger();
    const again = await Head.open(dir, { logger: log });
    expect(await dump(again)).toEqual(whole);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]!.msg).toMatch(/torn or corrupt tail/);
    // Appends work and survive another reopen.
    await again.append([series({ __name__: 'after' }, [[10_000_000, 2]])], NO_OOO);
    await again.close();
    const third = await Head.open(dir, { logger: recordingLogger() });
    expect((await dump(third)).some((l) => l.includes('"after"'))).toBe(true);
    await third.close();
  });

  it('cuts at a CRC mismatch and drops later segments', async () => {
    const dir = await newDir();
    const head = await Head.open(dir, { logger: recordingLogger(), walSegmentBytes: 4096 });
    await fill(head, 10);
    await head.close();
    const walDir = path.join(dir, 'wal');
    const segs = (await readdir(walDir)).sort();
    const victim = path.join(walDir, segs[1]!);
    const bytes = await readFile(victim);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(victim, bytes);
    const log = recordingLogger();
    const again = await Head.open(dir, { logger: log });
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]!.obj).toMatchObject({ reason: 'CRC-32C mismatch' });
    expect((await readdir(walDir)).sort().length).toBe(3); // two kept + the new one
    await again.close();
  });

  it('fails the open with a clear message on a checksummed record that does not decode', async () => {
    const dir = await newDir();
    const head = await Head.open(dir, { logger: recordingLogger() });
    await head.close();
    const walDir = path.join(dir, 'wal');
    // A samples record for a series ref no series record announced.
    await writeFile(path.join(walDir, '00000007'), frameRecords([{ type: RECORD_SAMPLES, payload: Uint8Array.from([42, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0]) }]));
    await expect(Head.open(dir, { logger: recordingLogger() })).rejects.toThrow(/00000007 at byte 0: record of type 2 \(CRC valid\) cannot be replayed: samples for series ref 42/);
    await writeFile(path.join(walDir, '00000007'), frameRecords([{ type: 9, payload: Uint8Array.of(1) }]));
    await expect(Head.open(dir, { logger: recordingLogger() })).rejects.toThrow(/unknown record type 9/);
  });
});

describe('truncate and checkpoint', () => {
  it('drops old data, refuses appends before the cut, replays from the checkpoint', async () => {
    const dir = await newDir();
    const HOUR = 3_600_000;
    const head = await Head.open(dir, { logger: recordingLogger(), walSegmentBytes: 4096 });
    // 3 h of data at 1-minute steps for 10 series, plus one series that ends early.
    for (let t = 0; t < 3 * HOUR; t += 60_000) {
      const batch = Array.from({ length: 10 }, (_, s) => series({ __name__: 'm', s: String(s) }, [[t, t / 1000 + s]]));
      if (t < HOUR) batch.push(series({ __name__: 'early' }, [[t, 1]]));
      await head.append(batch, NO_OOO);
    }
    const walDir = path.join(dir, 'wal');
    const segsBefore = (await readdir(walDir)).length;
    expect(segsBefore).toBeGreaterThan(3);

    // A block would hold [0, 2h): what seriesChunks hands the block writer.
    const blockSeries = [...head.seriesChunks(0, 2 * HOUR - 1)];
    expect(blockSeries).toHaveLength(11);
    for (const s of blockSeries) {
      for (const c of s.chunks) {
        const d = decodeXorChunk(c.bytes);
        expect(d.timestamps[0]).toBe(c.minT);
        expect(d.timestamps[d.timestamps.length - 1]).toBe(c.maxT);
        expect(c.maxT).toBeLessThan(2 * HOUR);
      }
    }
    const s0 = blockSeries.find((s) => s.labels.some(([n, v]) => n === 's' && v === '0'))!;
    expect(s0.chunks.reduce((n, c) => n + decodeXorChunk(c.bytes).timestamps.length, 0)).toBe(120);

    await head.truncate(2 * HOUR);
    expect(head.numSeries).toBe(10); // "early" is gone
    expect(head.minTime).toBe(2 * HOUR);
    const files = (await readdir(walDir)).sort();
    expect(files.filter((f) => f.startsWith('checkpoint.'))).toHaveLength(1);
    expect(files.length).toBeLessThan(segsBefore);
    const out = await head.append([series({ __name__: 'm', s: '0' }, [[2 * HOUR - 1, 1], [3 * HOUR, 2]])], NO_OOO);
    expect(out.rejected).toEqual([{ series: 0, timestampMs: 2 * HOUR - 1, reason: 'too_old' }]);
    const before = await dump(head);
    expect(before.every((l) => !l.includes(' 7140000='))).toBe(true); // nothing < 2h is visible
    await head.close();

    const again = await Head.open(dir, { logger: recordingLogger(), walSegmentBytes: 4096 });
    expect(again.replayStats.checkpoint).toMatch(/^checkpoint\.\d{8}$/);
    expect(await dump(again)).toEqual(before);
    expect(again.numSeries).toBe(10);
    await again.close();
  });

  it('keeps appends made while the checkpoint is written', async () => {
    const dir = await newDir();
    const head = await Head.open(dir, { logger: recordingLogger() });
    await fill(head, 5);
    const truncating = head.truncate(30_000);
    const during = head.append([series({ __name__: 'during' }, [[10_000_000, 1]])], NO_OOO);
    await Promise.all([truncating, during]);
    const expected = await dump(head);
    await head.close();
    const again = await Head.open(dir, { logger: recordingLogger() });
    expect(await dump(again)).toEqual(expected);
    await again.close();
  });
});

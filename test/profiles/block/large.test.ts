import { describe, expect, it } from 'vitest';
import { emptySymbols, type DatasetContent, type ProfileRow } from '../../../src/profiles/block/model.js';
import { ROW_GROUP_SIZE, encodeRowGroupsApart } from '../../../src/profiles/block/profiles.js';
import { BlockReader } from '../../../src/profiles/block/reader.js';
import { encodeBlock } from '../../../src/profiles/block/writer.js';
import { MemoryBucket } from './memory-bucket.js';

const SERIES = 50;
const PER_SERIES = 1000;
const BASE = 1763700000000000001n;

/** 50 series × 1000 profiles, given newest-first so the writer has to sort. */
function bigDataset(): DatasetContent {
  const symbols = emptySymbols();
  symbols.strings.push('f');
  symbols.functionName.push(1);
  symbols.functionSystemName.push(1);
  symbols.functionFilename.push(0);
  symbols.functionStartLine.push(0);
  symbols.locationMapping.push(0);
  symbols.locationAddress.push(0);
  symbols.locationLineEnd.push(1);
  symbols.lineFunction.push(0);
  symbols.lineNumber.push(1);
  for (let k = 0; k < 30; k++) {
    symbols.stacktraceLocations.push(0);
    symbols.stacktraceEnd.push(k + 1);
  }
  const series = Array.from({ length: SERIES }, (_, s) => [
    ['__profile_type__', 'process_cpu:cpu:nanoseconds:cpu:nanoseconds'],
    ['pod', `pod-${String(s).padStart(2, '0')}`],
    ['service_name', 'big'],
  ] as [string, string][]);
  const rows: ProfileRow[] = [];
  for (let s = SERIES - 1; s >= 0; s--) {
    for (let k = PER_SERIES - 1; k >= 0; k--) {
      const id = new Uint8Array(16);
      new DataView(id.buffer).setUint32(12, s * PER_SERIES + k);
      rows.push({
        seriesIndex: s,
        profileId: id,
        timeNanos: BASE + BigInt(k) * 15_000_000_000n + BigInt(s),
        durationNanos: 15_000_000_000n,
        period: 10_000_000n,
        totalValue: 3 * k + s,
        stacktraceIds: Uint32Array.of(k % 7, 7 + (k % 5), 20 + (s % 3)),
        values: Float64Array.of(k, k, s),
      });
    }
  }
  return { tenant: 't', name: 'big', series, rows, symbols };
}

describe('large dataset', () => {
  it('streams 50k rows by row group, in order, exactly', async () => {
    const { bytes } = await encodeBlock({ id: '01JDQ4Z5X8K9M2N3P4Q5R6S7T8', shard: 1, compactionLevel: 0, createdBy: 'w' }, [bigDataset()]);
    const bucket = new MemoryBucket();
    await bucket.put('b', bytes);
    const r = await BlockReader.open(bucket, 'b', bytes.length);
    const groups: number[] = [];
    let i = 0;
    for await (const group of r.rowGroups(0)) {
      groups.push(group.length);
      for (const row of group) {
        const s = Math.floor(i / PER_SERIES);
        const k = i % PER_SERIES;
        if (
          row.seriesIndex !== s ||
          row.timeNanos !== BASE + BigInt(k) * 15_000_000_000n + BigInt(s) ||
          row.totalValue !== 3 * k + s ||
          new DataView(row.profileId.buffer, row.profileId.byteOffset).getUint32(12) !== s * PER_SERIES + k ||
          // Samples of every row: rows share one buffer per row group, so a wrong offset shows here.
          row.stacktraceIds.join() !== `${k % 7},${7 + (k % 5)},${20 + (s % 3)}` ||
          row.values.join() !== `${k},${k},${s}`
        ) {
          expect({ i, row }).toBe('row in order with the generated values');
        }
        i++;
      }
    }
    expect(i).toBe(SERIES * PER_SERIES);
    expect(groups).toEqual([10240, 10240, 10240, 10240, 9040]);
    // One sample row checked whole: series 7, k = 123 (ids canonicalized ascending).
    const rows = r.rows(0);
    let n = 0;
    for await (const row of rows) {
      if (n++ === 7 * PER_SERIES + 123) {
        expect(Array.from(row.stacktraceIds)).toEqual([4, 10, 21]);
        expect(Array.from(row.values)).toEqual([123, 123, 7]);
        expect(row.durationNanos).toBe(15_000_000_000n);
        break;
      }
    }
    expect(bucket.gets).toBe(0);
    // The Parquet file reads are bounded by the section: no read spans the whole object.
    expect(Math.max(...bucket.ranges.map((c) => c.length))).toBeLessThan(bytes.length / 2);
  });
});

describe('row groups encoded apart', () => {
  it('gives the same bytes as encoding every row group in one place', async () => {
    const header = { id: '01JDQ4Z5X8K9M2N3P4Q5R6S7T8', shard: 1, compactionLevel: 0, createdBy: 'w' };
    const whole = await encodeBlock(header, [bigDataset()]);
    const offloaded: number[] = [];
    const split = await encodeBlock(header, [bigDataset()], async (rows) => {
      offloaded.push(rows.rowSeries.length);
      // Through a structured clone, as between worker threads.
      return structuredClone(await encodeRowGroupsApart(structuredClone(rows)));
    });
    // 50,000 rows are five groups: the later three were encoded apart.
    expect(offloaded).toEqual([50_000 - 2 * ROW_GROUP_SIZE]);
    expect(Buffer.from(split.bytes).equals(Buffer.from(whole.bytes))).toBe(true);
    expect(split.meta).toEqual(whole.meta);
  });

  it('fails the block when the offload fails', async () => {
    const header = { id: '01JDQ4Z5X8K9M2N3P4Q5R6S7T8', shard: 1, compactionLevel: 0, createdBy: 'w' };
    await expect(encodeBlock(header, [bigDataset()], () => Promise.reject(new Error('worker gone')))).rejects.toThrow('worker gone');
  });
});

// The block writer takes a dataset's rows as objects or in columns (as a
// segment head builds them): both give the same bytes, and bad columns are
// refused with the dataset, the row and what is wrong.

import { describe, expect, it } from 'vitest';
import type { ColumnarDataset, DatasetContent, RowColumns } from '../../../src/profiles/block/model.js';
import { encodeBlock } from '../../../src/profiles/block/writer.js';
import { RowBuilder } from '../../../src/profiles/segment/row-columns.js';
import { fixtureDatasets, shuffled } from './fixture.js';

const HEADER = { id: '01JDQ4Z5X8K9M2N3P4Q5R6S7T8', shard: 3, compactionLevel: 0, createdBy: 'ingester-7' };

/** A dataset's rows copied into columns by the segment head's builder. */
function columnar(d: DatasetContent): ColumnarDataset {
  const b = new RowBuilder();
  for (const r of d.rows) {
    const at = b.reserve(r.values.length);
    b.stacks.set(r.stacktraceIds, at);
    b.values.set(r.values, at);
    b.push(r.seriesIndex, r.profileId, r.timeNanos, r.durationNanos, r.period, r.totalValue, r.values.length);
  }
  return { ...d, rows: b.columns() };
}

describe('rows in columns', () => {
  it('encode to the same bytes as the same rows as objects, in any order', async () => {
    const want = await encodeBlock(HEADER, fixtureDatasets());
    const fromColumns = await encodeBlock(HEADER, fixtureDatasets().map(columnar));
    const fromShuffledColumns = await encodeBlock(HEADER, shuffled(fixtureDatasets()).map(columnar));
    const mixed = fixtureDatasets().map((d, i) => (i % 2 ? columnar(d) : d));
    expect(Buffer.from(fromColumns.bytes).equals(Buffer.from(want.bytes))).toBe(true);
    expect(Buffer.from(fromShuffledColumns.bytes).equals(Buffer.from(want.bytes))).toBe(true);
    expect(Buffer.from((await encodeBlock(HEADER, mixed)).bytes).equals(Buffer.from(want.bytes))).toBe(true);
  });

  it('are refused when they cannot be written, naming the dataset, the row and the problem', async () => {
    // acme/api: 5 rows, 3 series, 3 stack traces.
    const bad = (change: (c: RowColumns) => void) => {
      const datasets = fixtureDatasets().map(columnar);
      change(datasets[1]!.rows);
      return encodeBlock(HEADER, datasets);
    };
    const where = 'encodeBlock: dataset "acme"/"api" row';
    await expect(bad((c) => (c.rowSeries[3] = 3))).rejects.toThrow(`${where} 3: seriesIndex 3 out of range (3 series)`);
    await expect(bad((c) => (c.rowStacks[0] = 7))).rejects.toThrow(`${where} 0: stack trace id 7 out of range (3 stack traces)`);
    await expect(bad((c) => (c.rowValues[c.rowValues.length - 1] = NaN))).rejects.toThrow(`${where} 4: value NaN is not finite`);
    await expect(bad((c) => (c.rowTotal[2] = -Infinity))).rejects.toThrow(`${where} 2: totalValue -Infinity is not finite`);
    await expect(bad((c) => (c.rowIdStart[2] = 20))).rejects.toThrow(`${where} 1: profileId must be 16 bytes`);
    await expect(bad((c) => {
      c.rowStackStart[2] = c.rowStackStart[3]! + 1;
    })).rejects.toThrow(`${where} 2: rowStackStart decreases`);
    await expect(bad((c) => (c.rowTime = c.rowTime.subarray(1)))).rejects.toThrow(`${where} 0: row columns differ in length (5 rows)`);
    await expect(bad((c) => (c.rowStacks = c.rowStacks.subarray(1)))).rejects.toThrow('rowStackStart does not cover rowStacks and rowValues');
    await expect(bad((c) => (c.rowIds = c.rowIds.subarray(0, 32)))).rejects.toThrow('rowIdStart does not cover rowIds');
    await expect(bad((c) => ((c as unknown as { rowTotal: number[] }).rowTotal = [1, 2, 3, 4, 5]))).rejects.toThrow('row columns must be typed arrays');
  });
});

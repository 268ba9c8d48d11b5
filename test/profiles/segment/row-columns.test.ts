// RowBuilder: rows appended to growing columns come back as they went in,
// across every growth of the row, id and sample columns.

import { describe, expect, it } from 'vitest';
import type { ProfileRow } from '../../../src/profiles/block/model.js';
import { RowBuilder } from '../../../src/profiles/segment/row-columns.js';
import { profileRows } from './profile-rows.js';

/** Row i of the test: sample counts 0..6, ids of 16 bytes and now and then of other lengths. */
function expectedRow(i: number): ProfileRow {
  const n = i % 7;
  const idLength = i % 50 === 3 ? 5 : 16;
  return {
    seriesIndex: i % 13,
    profileId: Uint8Array.from({ length: idLength }, (_, k) => (i * 31 + k) & 255),
    timeNanos: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_003n,
    durationNanos: BigInt(i % 5) * 10_000_000_000n,
    period: -BigInt(i),
    totalValue: i * 1.5,
    stacktraceIds: Uint32Array.from({ length: n }, (_, k) => i * 10 + k),
    values: Float64Array.from({ length: n }, (_, k) => (k + 1) * 0.25 + i),
  };
}

/** Pushes rows from..to-1 of the test; returns them. */
function pushRows(b: RowBuilder, from: number, to: number): ProfileRow[] {
  const want: ProfileRow[] = [];
  for (let i = from; i < to; i++) {
    const r = expectedRow(i);
    want.push(r);
    const at = b.reserve(r.stacktraceIds.length);
    b.stacks.set(r.stacktraceIds, at);
    b.values.set(r.values, at);
    b.push(r.seriesIndex, r.profileId, r.timeNanos, r.durationNanos, r.period, r.totalValue, r.stacktraceIds.length);
  }
  return want;
}

describe('RowBuilder', () => {
  it('gives back every row pushed, through many growths of its columns', () => {
    const b = new RowBuilder();
    // Far past the initial room for rows (64), id bytes (64 × 16) and samples (1024).
    const want = pushRows(b, 0, 3000);
    expect(b.length).toBe(3000);
    expect(profileRows(b.columns())).toEqual(want);
  });

  it('hands a released builder out again, empty, and only once', () => {
    const big = RowBuilder.take();
    pushRows(big, 0, 3000);
    const grownStacks = big.stacks;
    big.release();
    big.release(); // a second release must not offer it twice
    const again = RowBuilder.take();
    const other = RowBuilder.take();
    expect(again).toBe(big);
    expect(other).not.toBe(big);
    // Empty, with the grown buffers kept, and nothing of the last use shows through.
    expect(again.length).toBe(0);
    expect(again.stacks).toBe(grownStacks);
    expect(profileRows(again.columns())).toEqual([]);
    const want = pushRows(again, 5000, 5100);
    expect(profileRows(again.columns())).toEqual(want);
    again.release();
    other.release();
  });

  it('has no rows until one is pushed, whatever was reserved', () => {
    const b = new RowBuilder();
    b.reserve(5000);
    const c = b.columns();
    expect(profileRows(c)).toEqual([]);
    expect(c.rowStackStart).toEqual(new Uint32Array([0]));
    expect(c.rowStacks).toHaveLength(0);
  });
});

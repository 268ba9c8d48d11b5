// StacktraceTable: dedup by content, ids in first-seen order, columns that
// hold exactly what was interned, across growth of both columns.

import { describe, expect, it } from 'vitest';
import { StacktraceTable } from '../../../src/profiles/segment/stacktrace-table.js';

/** A deterministic pseudo-random stack of `n` location ids below `range`. */
function stack(seed: number, n: number, range: number): number[] {
  const out: number[] = [];
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(x % range);
  }
  return out;
}

describe('StacktraceTable', () => {
  it('gives equal stacks one id and different ones (prefixes, reorderings, empty) their own', () => {
    const t = new StacktraceTable();
    const stacks = [[1, 2, 3], [1, 2], [3, 2, 1], [], [1, 2, 3, 0], [0xffffffff, 7]];
    const frames = Uint32Array.from(stacks.flat());
    const ids: number[] = [];
    let at = 0;
    for (const s of stacks) {
      ids.push(t.intern(frames, at, at + s.length));
      at += s.length;
    }
    expect(ids).toEqual([0, 1, 2, 3, 4, 5]);
    // Again, from another buffer and offset: the same ids, nothing added.
    const again = Uint32Array.from([9, 9, ...stacks[4]!, ...stacks[0]!]);
    expect([t.intern(again, 2, 6), t.intern(again, 6, 9), t.intern(again, 0, 0)]).toEqual([4, 0, 3]);
    expect(t.length).toBe(6);
  });

  it('keeps every stack intact while its columns grow far past their first size', () => {
    const t = new StacktraceTable();
    // The leaf frame makes each stack distinct; the rest vary in length and content.
    const stacks = Array.from({ length: 5000 }, (_, i) => [i, ...stack(i, i % 40, 300)]);
    for (let round = 0; round < 2; round++) {
      stacks.forEach((s, i) => expect(t.intern(Uint32Array.from(s), 0, s.length)).toBe(i));
    }
    const { stacktraceEnd, stacktraceLocations } = t.columns();
    expect(stacktraceEnd.length).toBe(5000);
    expect(stacktraceLocations.length).toBe(stacks.reduce((n, s) => n + s.length, 0));
    stacks.forEach((s, i) => {
      const from = i === 0 ? 0 : stacktraceEnd[i - 1]!;
      expect(Array.from(stacktraceLocations.subarray(from, stacktraceEnd[i]!))).toEqual(s);
    });
  });
});

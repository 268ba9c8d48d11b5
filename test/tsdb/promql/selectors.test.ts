import { describe, expect, it } from 'vitest';
import { forEachWindow, subqueryGrid, type RangeInput } from '../../../src/tsdb/promql/evaluator.js';
import { isStaleAt, lastAtOrBefore, selectInstant, withoutStaleMarkers, writeStaleMarker } from '../../../src/tsdb/promql/selectors.js';

const ts = (...t: number[]) => Float64Array.from(t);

describe('isStaleAt', () => {
  it('tells the stale marker from a plain NaN', () => {
    const v = new Float64Array([NaN, 0, 1]);
    writeStaleMarker(v, 1);
    expect(isStaleAt(v, 0)).toBe(false);
    expect(isStaleAt(v, 1)).toBe(true);
    expect(Number.isNaN(v[1])).toBe(true);
    expect(isStaleAt(v, 2)).toBe(false);
  });

  it('reads the bits at the right place in a subarray', () => {
    const v = new Float64Array(4);
    writeStaleMarker(v, 3);
    const sub = v.subarray(2);
    expect(isStaleAt(sub, 0)).toBe(false);
    expect(isStaleAt(sub, 1)).toBe(true);
  });
});

describe('selectInstant', () => {
  const grid = { startMs: 0, intervalMs: 100_000, steps: 8 };

  it('takes the newest sample in (T − lookback, T] (left-open lookback)', () => {
    // Samples at 0 and 300s; lookback 300s. Steps 0,100,...,700s.
    const values = new Float64Array(8);
    const present = new Uint8Array(8);
    const n = selectInstant(ts(0, 300_000), ts(1, 2), grid, 0, undefined, 300_000, values, present);
    // 0: sample@0 (1); 100,200: sample@0; 300: sample@300 (2); 400,500: @300; 600: 300 ≤ 600−300 → absent; 700 absent.
    expect([...present]).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
    expect([...values.slice(0, 6)]).toEqual([1, 1, 1, 2, 2, 2]);
    expect(n).toBe(6);
  });

  it('hides a series at steps where the newest sample is a stale marker', () => {
    const v = ts(1, 0, 3);
    writeStaleMarker(v, 1);
    const values = new Float64Array(8);
    const present = new Uint8Array(8);
    selectInstant(ts(0, 200_000, 500_000), v, grid, 0, undefined, 300_000, values, present);
    expect([...present]).toEqual([1, 1, 0, 0, 0, 1, 1, 1]);
    expect(values[5]).toBe(3);
  });

  it('applies offset (negative too) and @', () => {
    const values = new Float64Array(3);
    const present = new Uint8Array(3);
    const g = { startMs: 100_000, intervalMs: 100_000, steps: 3 };
    // offset 100s: refs 0, 100s, 200s.
    selectInstant(ts(0, 100_000, 200_000, 300_000), ts(10, 11, 12, 13), g, 100_000, undefined, 300_000, values, present);
    expect([...values]).toEqual([10, 11, 12]);
    // offset −100s: refs 200s, 300s, 400s.
    selectInstant(ts(0, 100_000, 200_000, 300_000), ts(10, 11, 12, 13), g, -100_000, undefined, 300_000, values, present);
    expect([...values]).toEqual([12, 13, 13]);
    // @ 150s: ref 150s at every step.
    selectInstant(ts(0, 100_000, 200_000, 300_000), ts(10, 11, 12, 13), g, 0, 150_000, 300_000, values, present);
    expect([...values]).toEqual([11, 11, 11]);
  });

  it('records the chosen samples’ timestamps for timestamp()', () => {
    const values = new Float64Array(2);
    const present = new Uint8Array(2);
    const times = new Float64Array(2);
    selectInstant(ts(5_000, 65_000), ts(1, 2), { startMs: 60_000, intervalMs: 60_000, steps: 2 }, 0, undefined, 300_000, values, present, times);
    expect([...times]).toEqual([5_000, 65_000]);
  });
});

describe('withoutStaleMarkers and lastAtOrBefore', () => {
  it('removes stale markers but keeps NaN samples', () => {
    const v = ts(1, 0, NaN, 4);
    writeStaleMarker(v, 1);
    const out = withoutStaleMarkers(ts(10, 20, 30, 40), v);
    expect([...out.timestamps]).toEqual([10, 30, 40]);
    expect(out.values[1]).toBeNaN();
  });

  it('finds the last index at or before a time', () => {
    const t = ts(10, 20, 30);
    expect(lastAtOrBefore(t, 5)).toBe(-1);
    expect(lastAtOrBefore(t, 20)).toBe(1);
    expect(lastAtOrBefore(t, 29)).toBe(1);
    expect(lastAtOrBefore(t, 99)).toBe(2);
  });
});

describe('range windows', () => {
  it('are left-open and right-closed at each step', () => {
    const s = { labels: [], timestamps: ts(0, 30_000, 60_000, 90_000, 120_000), values: ts(0, 1, 2, 3, 4), dropName: false };
    const input: RangeInput = { series: [s], rangeMs: 60_000, offsetMs: 0, atMs: undefined };
    const seen: Array<[number, number, number]> = [];
    forEachWindow(input, s, { startMs: 60_000, intervalMs: 30_000, steps: 3 }, (i, from, to) => seen.push([i, from, to]));
    // T=60s: (0, 60] → samples 30s, 60s; T=90s: (30, 90] → 60s, 90s; T=120s: (60, 120] → 90s, 120s.
    expect(seen).toEqual([
      [0, 1, 3],
      [1, 2, 4],
      [2, 3, 5],
    ]);
  });

  it('use the pinned time and offset for every step', () => {
    const s = { labels: [], timestamps: ts(0, 30_000, 60_000, 90_000), values: ts(0, 1, 2, 3), dropName: false };
    const input: RangeInput = { series: [s], rangeMs: 30_000, offsetMs: 30_000, atMs: 120_000 };
    const seen: Array<[number, number, number, number]> = [];
    forEachWindow(input, s, { startMs: 0, intervalMs: 10_000, steps: 2 }, (i, from, to, start) => seen.push([i, from, to, start]));
    // end = 120 − 30 = 90s, window (60, 90] → index 3 only.
    expect(seen).toEqual([
      [0, 3, 4, 60_000],
      [1, 3, 4, 60_000],
    ]);
  });
});

describe('subqueryGrid', () => {
  const sub = (rangeMs: number, stepMs: number, offsetMs = 0) => ({ type: 'SubqueryExpr' as const, expr: { type: 'NumberLiteral' as const, value: 1 }, rangeMs, stepMs, offsetMs });

  it('aligns inner steps to absolute multiples of the step within (start − range, end]', () => {
    // Outer instant at 100s, [60s:25s]: multiples of 25s in (40s, 100s] → 50, 75, 100.
    expect(subqueryGrid(sub(60_000, 25_000), { startMs: 100_000, intervalMs: 0, steps: 1 }, undefined, 60_000)).toEqual({
      startMs: 50_000,
      intervalMs: 25_000,
      steps: 3,
    });
  });

  it('covers every outer window of a range query, with offset and the default step', () => {
    // Outer 0..120s step 60s, [1m:] offset 30s: lowest = 0 − 30 − 60 = −90s → first multiple of 60s above: −60s; end 90s.
    expect(subqueryGrid(sub(60_000, 0, 30_000), { startMs: 0, intervalMs: 60_000, steps: 3 }, undefined, 60_000)).toEqual({
      startMs: -60_000,
      intervalMs: 60_000,
      steps: 3,
    });
  });
});

import { describe, it, expect } from 'vitest';
import { FUNCTIONS } from '../../../../src/tsdb/promql/functions/index.js';
import type { RangeFunction } from '../../../../src/tsdb/promql/functions/types.js';
import { CollectedAnnotations, windowOf } from './helpers.js';

const rangeFn = (name: string) => FUNCTIONS[name] as RangeFunction;
/** Samples 1s apart, starting at 1s, in the window (0, 100]. */
const over = (name: string, values: number[], params: number[] = [], annotations = new CollectedAnnotations()) =>
  rangeFn(name).apply(
    windowOf(
      values.map((v, i) => [i + 1, v]),
      0,
      100,
    ),
    params,
    annotations,
  );

const ALL = [
  'avg_over_time',
  'sum_over_time',
  'count_over_time',
  'min_over_time',
  'max_over_time',
  'last_over_time',
  'first_over_time',
  'present_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'mad_over_time',
  'ts_of_last_over_time',
  'ts_of_max_over_time',
  'ts_of_min_over_time',
  'changes',
  'resets',
];

describe('*_over_time', () => {
  it('gives no result for an empty window', () => {
    for (const name of ALL) expect(over(name, []), name).toBeUndefined();
    expect(over('quantile_over_time', [], [0.5])).toBeUndefined();
  });

  it('sums with compensation', () => {
    // Plain left-to-right addition loses both 1s next to 1e100.
    expect(over('sum_over_time', [1, 1e100, 1, -1e100])).toBe(2);
    expect(over('avg_over_time', [1, 1e100, 1, -1e100])).toBe(0.5);
    expect(over('sum_over_time', [1, 2, 3.5])).toBe(6.5);
    expect(over('sum_over_time', [1, Infinity])).toBe(Infinity);
  });

  it('averages without overflowing', () => {
    expect(over('avg_over_time', [2, 4, 9])).toBe(5);
    const max = Number.MAX_VALUE;
    expect(over('avg_over_time', [max, max])).toBe(max);
    expect(over('avg_over_time', [max, max, -max])).toBeCloseTo(max / 3, -300);
    expect(over('avg_over_time', [1, NaN])).toBeNaN();
  });

  it('counts, first, last, present', () => {
    expect(over('count_over_time', [5, 6, 7])).toBe(3);
    expect(over('first_over_time', [5, 6, 7])).toBe(5);
    expect(over('last_over_time', [5, 6, 7])).toBe(7);
    expect(over('present_over_time', [5])).toBe(1);
    expect(rangeFn('last_over_time').keepsName).toBe(true);
    expect(rangeFn('first_over_time').keepsName).toBe(true);
    expect(rangeFn('sum_over_time').keepsName).toBeFalsy();
  });

  it('min and max ignore NaN unless every value is NaN', () => {
    expect(over('min_over_time', [NaN, 3, 1])).toBe(1);
    expect(over('max_over_time', [NaN, 3, 1])).toBe(3);
    expect(over('min_over_time', [3, NaN, 1])).toBe(1);
    expect(over('max_over_time', [3, NaN, 1])).toBe(3);
    expect(over('min_over_time', [NaN, NaN])).toBeNaN();
    expect(over('max_over_time', [-Infinity, -5])).toBe(-5);
  });

  it('quantile_over_time interpolates between ranks', () => {
    expect(over('quantile_over_time', [4, 1, 3, 2], [0.5])).toBe(2.5);
    expect(over('quantile_over_time', [4, 1, 3, 2], [0.25])).toBe(1.75);
    expect(over('quantile_over_time', [4, 1, 3, 2], [0])).toBe(1);
    expect(over('quantile_over_time', [4, 1, 3, 2], [1])).toBe(4);
    expect(over('quantile_over_time', [7], [0.9])).toBe(7);
  });

  it('quantile_over_time sorts NaN below every number', () => {
    expect(over('quantile_over_time', [5, NaN, 1], [0])).toBeNaN();
    expect(over('quantile_over_time', [5, NaN, 1], [0.5])).toBe(1);
    expect(over('quantile_over_time', [5, NaN, 1], [1])).toBe(5);
  });

  it('quantile_over_time sorts long windows correctly', () => {
    // 0..99 shuffled deterministically: the 0.9-quantile is at rank 89.1.
    const values = Array.from({ length: 100 }, (_, i) => (i * 37) % 100);
    expect(over('quantile_over_time', values, [0.9])).toBeCloseTo(89.1, 10);
  });

  it('quantile_over_time warns about φ out of range', () => {
    const annotations = new CollectedAnnotations();
    expect(over('quantile_over_time', [1, 2], [-1], annotations)).toBe(-Infinity);
    expect(over('quantile_over_time', [1, 2], [2], annotations)).toBe(Infinity);
    expect(over('quantile_over_time', [1, 2], [NaN], annotations)).toBeNaN();
    expect(over('quantile_over_time', [1, 2], [1.5e-7], annotations)).toBe(1 + 1.5e-7);
    expect(annotations.warnings).toEqual([
      'PromQL warning: quantile value should be between 0 and 1, got -1',
      'PromQL warning: quantile value should be between 0 and 1, got 2',
      'PromQL warning: quantile value should be between 0 and 1, got NaN',
    ]);
    expect(FUNCTIONS['quantile_over_time']).toMatchObject({ kind: 'range', matrixArg: 1 });
  });

  it('stddev and stdvar are the population variance', () => {
    expect(over('stdvar_over_time', [2, 4, 4, 4, 5, 5, 7, 9])).toBe(4);
    expect(over('stddev_over_time', [2, 4, 4, 4, 5, 5, 7, 9])).toBe(2);
    expect(over('stddev_over_time', [3])).toBe(0);
    expect(over('stdvar_over_time', [1, Infinity])).toBeNaN();
  });

  it('mad_over_time is the median absolute deviation', () => {
    // Median 2; deviations 1 1 0 0 2 4 7 → median 1.
    expect(over('mad_over_time', [1, 1, 2, 2, 4, 6, 9])).toBe(1);
    expect(over('mad_over_time', [5])).toBe(0);
  });

  it('ts_of_* give the time of the last sample / the latest extreme, in seconds', () => {
    expect(over('ts_of_last_over_time', [1, 3, 3, 2])).toBe(4);
    expect(over('ts_of_first_over_time', [1, 3, 3, 2])).toBe(1);
    expect(over('ts_of_max_over_time', [1, 3, 3, 2])).toBe(3);
    expect(over('ts_of_min_over_time', [2, 1, 5, 1])).toBe(4);
  });

  it('changes and resets count events', () => {
    expect(over('changes', [1, 1, 2, 2, NaN, NaN, 3])).toBe(3);
    expect(over('changes', [4])).toBe(0);
    expect(over('resets', [5, 3, 4, 1, 1])).toBe(2);
    expect(over('resets', [1, 2, 3])).toBe(0);
  });
});

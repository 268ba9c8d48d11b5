import { describe, it, expect } from 'vitest';
import { FUNCTIONS } from '../../../../src/tsdb/promql/functions/index.js';
import type { RangeFunction } from '../../../../src/tsdb/promql/functions/types.js';
import { CollectedAnnotations, windowOf } from './helpers.js';

const rangeFn = (name: string) => FUNCTIONS[name] as RangeFunction;
const apply = (name: string, samples: Array<[number, number]>, startS: number, endS: number, labels: Array<[string, string]> = []) =>
  rangeFn(name).apply(windowOf(samples, startS, endS, labels), [], new CollectedAnnotations());

describe('rate / increase / delta', () => {
  // Samples every 10s from 10s to 60s in (0s, 60s]: 10s short of the start, within 110% of the
  // spacing, so extrapolated to the start: factor (50 + 10) / 50 = 1.2 on an increase of 50.
  const regular: Array<[number, number]> = [
    [10, 100],
    [20, 110],
    [30, 120],
    [40, 130],
    [50, 140],
    [60, 150],
  ];

  it('extrapolates a regular counter to the window start', () => {
    expect(apply('increase', regular, 0, 60)).toBeCloseTo(60, 12);
    expect(apply('rate', regular, 0, 60)).toBeCloseTo(1, 12);
  });

  it('adds back counter resets', () => {
    // 5 → 10 → 2 (reset, +10) → 7: raw increase 2 + 10 = 12 over 45s, extrapolated 15s to the start: ×60/45.
    const samples: Array<[number, number]> = [
      [15, 5],
      [30, 10],
      [45, 2],
      [60, 7],
    ];
    expect(apply('increase', samples, 0, 60)).toBeCloseTo(16, 12);
    expect(apply('rate', samples, 0, 60)).toBeCloseTo(16 / 60, 12);
    // delta ignores resets: 7 - 5 = 2, same extrapolation.
    expect(apply('delta', samples, 0, 60)).toBeCloseTo(2 * (60 / 45), 12);
  });

  it('does not extrapolate a counter below zero', () => {
    // 1, 4, 7 at 30/40/50s in (0, 60]: the start is 30s away (≥ 11s threshold) so only avg/2 = 5s,
    // but the line reaches zero 20·1/6 = 3.33s before the first sample: (20 + 3.33 + 10) / 20 × 6 = 10.
    const samples: Array<[number, number]> = [
      [30, 1],
      [40, 4],
      [50, 7],
    ];
    expect(apply('increase', samples, 0, 60)).toBeCloseTo(10, 12);
  });

  it('applies the zero cut after the threshold (3.x order)', () => {
    // 4, 9, 14 at 30/40/50s: avg/2 = 5s and the zero point is 8s away, so the start extends 5s:
    // (20 + 5 + 10) / 20 × 10 = 17.5 (2.x would give 19).
    const samples: Array<[number, number]> = [
      [30, 4],
      [40, 9],
      [50, 14],
    ];
    expect(apply('increase', samples, 0, 60)).toBeCloseTo(17.5, 12);
  });

  it('extrapolates a gauge without the zero cut', () => {
    const samples: Array<[number, number]> = [
      [20, 10],
      [40, 4],
      [60, 7],
    ];
    expect(apply('delta', samples, 0, 60)).toBeCloseTo(-4.5, 12);
  });

  it('gives no result for fewer than two samples', () => {
    expect(apply('rate', [[30, 5]], 0, 60)).toBeUndefined();
    expect(apply('increase', [], 0, 60)).toBeUndefined();
    expect(apply('delta', [[30, 5]], 0, 60)).toBeUndefined();
  });

  it('propagates NaN and infinities', () => {
    expect(apply('delta', [[30, 1], [60, NaN]], 0, 60)).toBeNaN();
    expect(apply('increase', [[30, 1], [60, Infinity]], 0, 60)).toBe(Infinity);
  });

  it('notes once per series that a rate over a name without a counter suffix might not be a counter', () => {
    const annotations = new CollectedAnnotations();
    const labels: Array<[string, string]> = [['__name__', 'http_requests'], ['job', 'a']];
    const w = windowOf(regular, 0, 60, labels);
    rangeFn('rate').apply(w, [], annotations);
    rangeFn('rate').apply(w, [], annotations);
    expect(annotations.infos).toEqual(['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "http_requests"']);
    expect(annotations.warnings).toEqual([]);
  });

  it('does not note counter names, nameless series, delta, or windows without a result', () => {
    const annotations = new CollectedAnnotations();
    for (const name of ['x_total', 'x_sum', 'x_count', 'x_bucket']) rangeFn('increase').apply(windowOf(regular, 0, 60, [['__name__', name]]), [], annotations);
    rangeFn('rate').apply(windowOf(regular, 0, 60, [['job', 'a']]), [], annotations);
    rangeFn('delta').apply(windowOf(regular, 0, 60, [['__name__', 'gauge']]), [], annotations);
    rangeFn('rate').apply(windowOf([[60, 1]], 0, 60, [['__name__', 'single']]), [], annotations);
    expect(annotations.infos).toEqual([]);
  });
});

describe('irate / idelta', () => {
  it('uses the last two samples', () => {
    expect(apply('irate', [[10, 10], [20, 20], [30, 26]], 0, 60)).toBeCloseTo(0.6, 12);
    expect(apply('idelta', [[10, 10], [20, 20], [30, 26]], 0, 60)).toBe(6);
  });

  it('treats a drop as a counter reset in irate only', () => {
    expect(apply('irate', [[10, 10], [20, 20], [30, 5]], 0, 60)).toBeCloseTo(0.5, 12);
    expect(apply('idelta', [[10, 10], [20, 20], [30, 5]], 0, 60)).toBe(-15);
  });

  it('gives no result for one sample', () => {
    expect(apply('irate', [[10, 10]], 0, 60)).toBeUndefined();
    expect(apply('idelta', [[10, 10]], 0, 60)).toBeUndefined();
  });
});

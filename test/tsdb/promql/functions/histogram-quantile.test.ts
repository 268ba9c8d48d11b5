import { describe, it, expect } from 'vitest';
import { FUNCTIONS } from '../../../../src/tsdb/promql/functions/index.js';
import { parseGoFloat } from '../../../../src/tsdb/promql/functions/histogram-quantile.js';
import type { CustomFunction } from '../../../../src/tsdb/promql/functions/types.js';
import type { StepVector } from '../../../../src/tsdb/promql/values.js';
import type { Labels } from '../../../../src/tsdb/storage.js';
import { contextOf, pointsOf, seriesOf } from './helpers.js';

const quantileFn = FUNCTIONS['histogram_quantile'] as CustomFunction;

/** Bucket series of one histogram `name{extra}` from [le, counts per step] pairs. */
function buckets(name: string, extra: Array<[string, string]>, entries: Array<[string, Array<number | undefined>]>): StepVector {
  return entries.map(([le, counts]) => {
    const labels: Labels = [['__name__', name] as [string, string], ...extra, ['le', le] as [string, string]].sort(([a], [b]) => (a < b ? -1 : 1));
    return seriesOf(labels, counts);
  });
}

function run(q: number | number[], input: StepVector, steps = 1) {
  const ctx = contextOf(steps);
  const qs = Float64Array.from(Array.isArray(q) ? q : new Array(steps).fill(q));
  const out = quantileFn.call([qs, input], ctx) as StepVector;
  return { out, annotations: ctx.annotations };
}

const single = (q: number, input: StepVector) => pointsOf(run(q, input).out[0]!)[0];

// Cumulative counts 10 / 20 / 40 / 40: ten observations in (0,1], ten in (1,2], twenty in (2,4].
const basic = () =>
  buckets('req_bucket', [], [
    ['1', [10]],
    ['2', [20]],
    ['4', [40]],
    ['+Inf', [40]],
  ]);

describe('histogram_quantile on classic buckets', () => {
  it('interpolates linearly within the bucket holding the rank', () => {
    expect(single(0.25, basic())).toBe(1); // rank 10: top of (0,1]
    expect(single(0.5, basic())).toBe(2); // rank 20: top of (1,2]
    expect(single(0.75, basic())).toBe(3); // rank 30: halfway through (2,4]
    expect(single(1, basic())).toBe(4);
    expect(single(0.1, basic())).toBeCloseTo(0.4, 12); // rank 4 of 10 in (0,1]
  });

  it('does not depend on the input order and accepts any float spelling of le', () => {
    const input = buckets('req_bucket', [], [
      ['+inf', [40]],
      ['4.0', [40]],
      ['1e0', [10]],
      ['2', [20]],
    ]);
    expect(single(0.75, input)).toBe(3);
  });

  it('returns the second-highest bound for a rank in the +Inf bucket', () => {
    const input = buckets('req_bucket', [], [
      ['1', [10]],
      ['2', [20]],
      ['+Inf', [40]],
    ]);
    expect(single(0.99, input)).toBe(2);
  });

  it('returns the upper bound of a lowest bucket at or below zero', () => {
    const input = buckets('temp_bucket', [], [
      ['-1', [5]],
      ['0', [10]],
      ['+Inf', [10]],
    ]);
    expect(single(0.2, input)).toBe(-1);
    expect(single(0.75, input)).toBe(-0.5); // rank 7.5 in (-1,0]
  });

  it('gives NaN without a +Inf bucket, with a single bucket, or without observations', () => {
    expect(
      single(
        0.5,
        buckets('a_bucket', [], [
          ['1', [10]],
          ['2', [20]],
        ]),
      ),
    ).toBeNaN();
    expect(single(0.5, buckets('a_bucket', [], [['+Inf', [10]]]))).toBeNaN();
    expect(
      single(
        0.5,
        buckets('a_bucket', [], [
          ['1', [0]],
          ['+Inf', [0]],
        ]),
      ),
    ).toBeNaN();
  });

  it('returns ±Inf / NaN for φ out of range, with a warning', () => {
    const threeSteps = buckets('req_bucket', [], [
      ['1', [10, 10, 10]],
      ['+Inf', [40, 40, 40]],
    ]);
    const { out, annotations } = run([-0.1, 1.01, NaN], threeSteps, 3);
    expect(pointsOf(out[0]!)).toEqual([-Infinity, Infinity, NaN]);
    expect(annotations.warnings).toEqual([
      'PromQL warning: quantile value should be between 0 and 1, got -0.1',
      'PromQL warning: quantile value should be between 0 and 1, got 1.01',
      'PromQL warning: quantile value should be between 0 and 1, got NaN',
    ]);
  });

  it('fixes non-monotonic buckets upwards with an info annotation', () => {
    // 10, 5, 20, 20 becomes 10, 10, 20, 20: rank 10 is the top of (0,1].
    const input = buckets('nm_bucket', [], [
      ['1', [10]],
      ['2', [5]],
      ['4', [20]],
      ['+Inf', [20]],
    ]);
    const { out, annotations } = run(0.5, input);
    expect(pointsOf(out[0]!)).toEqual([1]);
    expect(annotations.infos).toEqual([
      'PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name "nm_bucket"',
    ]);
  });

  it('ignores float noise between buckets silently', () => {
    const input = buckets('n_bucket', [], [
      ['1', [10]],
      ['2', [10 * (1 + 1e-14)]],
      ['4', [10]],
      ['+Inf', [20]],
    ]);
    const { out, annotations } = run(0.75, input);
    expect(pointsOf(out[0]!)).toEqual([4]); // rank 15 falls into +Inf: second-highest bound
    expect(annotations.infos).toEqual([]);
  });

  it('groups by all labels but le, per step, and marks the name for removal', () => {
    const input = [
      ...buckets('req_bucket', [['job', 'a']], [
        ['1', [10, 10]],
        ['+Inf', [20, 10]],
      ]),
      ...buckets('req_bucket', [['job', 'b']], [
        ['1', [undefined, 4]],
        ['+Inf', [undefined, 8]],
      ]),
    ];
    const { out } = run(0.5, input, 2);
    expect(out.map((s) => s.labels)).toEqual([
      [
        ['__name__', 'req_bucket'],
        ['job', 'a'],
      ],
      [
        ['__name__', 'req_bucket'],
        ['job', 'b'],
      ],
    ]);
    expect(out.every((s) => s.dropName === true)).toBe(true);
    expect(pointsOf(out[0]!)).toEqual([1, 0.5]); // step 2: rank 5 of the 10 in (0,1]
    expect(pointsOf(out[1]!)).toEqual([undefined, 1]);
  });

  it('keeps differently named histograms apart', () => {
    const input = [
      ...buckets('a_bucket', [], [
        ['1', [1]],
        ['+Inf', [2]],
      ]),
      ...buckets('b_bucket', [], [
        ['1', [1]],
        ['+Inf', [2]],
      ]),
    ];
    expect(run(0.5, input).out).toHaveLength(2);
  });

  it('ignores series with a missing or malformed le, with a warning', () => {
    const input = [
      ...basic(),
      seriesOf(
        [
          ['__name__', 'req_bucket'],
          ['le', 'abc'],
        ],
        [100],
      ),
      seriesOf([['__name__', 'req_bucket']], [100]),
    ];
    const { out, annotations } = run(0.5, input);
    expect(pointsOf(out[0]!)).toEqual([2]);
    expect(annotations.warnings).toEqual([
      'PromQL warning: bucket label "le" is missing or has a malformed value of "abc" for metric name "req_bucket"',
      'PromQL warning: bucket label "le" is missing or has a malformed value of "" for metric name "req_bucket"',
    ]);
  });

  it('merges buckets with the same bound written differently', () => {
    const input = buckets('m_bucket', [], [
      ['1', [5]],
      ['1.0', [5]],
      ['+Inf', [20]],
    ]);
    // (0,1] holds 10 of 20 observations.
    expect(single(0.25, input)).toBe(0.5);
  });
});

describe('histogram_fraction on classic buckets', () => {
  it('interpolates the fraction between two values', () => {
    const fraction = FUNCTIONS['histogram_fraction'] as CustomFunction;
    const call = (lower: number, upper: number) =>
      pointsOf((fraction.call([Float64Array.of(lower), Float64Array.of(upper), basic()], contextOf(1)) as StepVector)[0]!)[0];
    expect(call(0, 2)).toBe(0.5);
    expect(call(1, 3)).toBe(0.5); // 10 in (1,2] + 10 of the 20 in (2,4]
    expect(call(-Infinity, Infinity)).toBe(1);
    expect(call(3, 1)).toBe(0);
    // Buckets (−Inf,−1]: 5, (−1,1]: 3, (1,+Inf]: 2. Interpolation in (−1,1]: −0.5 → rank 5.75, 0.5 → 7.25.
    const mixed = buckets('t_bucket', [], [
      ['-1', [5]],
      ['1', [8]],
      ['+Inf', [10]],
    ]);
    const frac = (lower: number, upper: number) =>
      pointsOf((fraction.call([Float64Array.of(lower), Float64Array.of(upper), mixed], contextOf(1)) as StepVector)[0]!)[0];
    expect(frac(-0.5, 0.5)).toBeCloseTo(0.15, 12);
    // A value inside the (−Inf,−1] bucket counts the whole bucket as below it: ranks 5 and 6.5.
    expect(frac(-2, 0)).toBeCloseTo(0.15, 12);
    // Inside the +Inf bucket nothing of it counts: ranks 8 and 8.
    expect(frac(2, 3)).toBe(0);
  });
});

describe('parseGoFloat', () => {
  it('accepts Go float syntax only', () => {
    expect(parseGoFloat('0.25')).toBe(0.25);
    expect(parseGoFloat('1e-3')).toBe(0.001);
    expect(parseGoFloat('+Inf')).toBe(Infinity);
    expect(parseGoFloat('-inf')).toBe(-Infinity);
    expect(parseGoFloat('Infinity')).toBe(Infinity);
    expect(parseGoFloat('.5')).toBe(0.5);
    expect(parseGoFloat('NaN')).toBeNaN();
    expect(parseGoFloat('')).toBeUndefined();
    expect(parseGoFloat(' 1')).toBeUndefined();
    expect(parseGoFloat('1x')).toBeUndefined();
  });
});

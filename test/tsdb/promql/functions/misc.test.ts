import { describe, it, expect } from 'vitest';
import { FUNCTIONS } from '../../../../src/tsdb/promql/functions/index.js';
import { naturalCompare } from '../../../../src/tsdb/promql/functions/sort.js';
import { absentLabels } from '../../../../src/tsdb/promql/functions/misc.js';
import { formatGoF, formatGoG } from '../../../../src/tsdb/promql/go-format.js';
import type { CustomFunction, RangeFunction } from '../../../../src/tsdb/promql/functions/types.js';
import type { StepScalar, StepVector } from '../../../../src/tsdb/promql/values.js';
import type { Expr } from '../../../../src/tsdb/promql/ast.js';
import { QueryError } from '../../../../src/tsdb/promql/errors.js';
import { CollectedAnnotations, contextOf, pointsOf, seriesOf, windowOf } from './helpers.js';

const custom = (name: string) => FUNCTIONS[name] as CustomFunction;
const rangeFn = (name: string) => FUNCTIONS[name] as RangeFunction;

describe('absent', () => {
  const selector: Expr = {
    type: 'VectorSelector',
    name: 'nonexistent',
    matchers: [
      { name: '__name__', type: '=', value: 'nonexistent' },
      { name: 'job', type: '=', value: 'api' },
      { name: 'instance', type: '=~', value: 'a.*' },
      { name: 'env', type: '=', value: '' },
    ],
    offsetMs: 0,
  };

  it('is 1 with the equality-matched labels where the input has no element', () => {
    const input = [seriesOf([['job', 'api']], [5, undefined, 7])];
    const out = custom('absent').call([input], contextOf(3, [selector])) as StepVector;
    expect(out).toHaveLength(1);
    expect(out[0]!.labels).toEqual([['job', 'api']]);
    expect(pointsOf(out[0]!)).toEqual([undefined, 1, undefined]);
  });

  it('returns nothing when every step has an element', () => {
    expect(custom('absent').call([[seriesOf([], [1, 2])]], contextOf(2, [selector]))).toEqual([]);
  });

  it('drops labels matched twice and has no labels for non-selector arguments', () => {
    const twice: Expr = {
      type: 'ParenExpr',
      expr: {
        type: 'VectorSelector',
        matchers: [
          { name: 'job', type: '=', value: 'a' },
          { name: 'job', type: '=', value: 'b' },
          { name: 'x', type: '=', value: 'y' },
        ],
        offsetMs: 0,
      },
    };
    expect((custom('absent').call([[]], contextOf(1, [twice])) as StepVector)[0]!.labels).toEqual([['x', 'y']]);
    const literal: Expr = { type: 'Call', func: 'vector', args: [{ type: 'NumberLiteral', value: 1 }] };
    expect((custom('absent').call([[]], contextOf(1, [literal])) as StepVector)[0]!.labels).toEqual([]);
  });
});

describe('absentLabels', () => {
  it('reads the selector inside a range selector (absent_over_time)', () => {
    const range: Expr = {
      type: 'MatrixSelector',
      rangeMs: 60_000,
      vector: {
        type: 'VectorSelector',
        matchers: [
          { name: 'b', type: '=', value: '2' },
          { name: 'a', type: '=', value: '1' },
          { name: 'c', type: '!=', value: '3' },
        ],
        offsetMs: 0,
      },
    };
    expect(absentLabels(range)).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
  });
});

describe('Go number formatting in messages', () => {
  it('formats %g and %f as Go does', () => {
    expect(formatGoG(0.5)).toBe('0.5');
    expect(formatGoG(-0.1)).toBe('-0.1');
    expect(formatGoG(123456)).toBe('123456');
    expect(formatGoG(1234567)).toBe('1.234567e+06');
    expect(formatGoG(1e-5)).toBe('1e-05');
    expect(formatGoG(0.0001)).toBe('0.0001');
    expect(formatGoG(1e100)).toBe('1e+100');
    expect(formatGoG(Infinity)).toBe('+Inf');
    expect(formatGoG(-Infinity)).toBe('-Inf');
    expect(formatGoF(1)).toBe('1.000000');
    expect(formatGoF(-0.25)).toBe('-0.250000');
  });
});

describe('scalar, vector, time, pi', () => {
  it('scalar takes the single element, NaN for none or several', () => {
    const input = [seriesOf([['a', '1']], [1, 2, undefined]), seriesOf([['a', '2']], [undefined, 3, undefined])];
    const out = custom('scalar').call([input], contextOf(3)) as StepScalar;
    expect(Array.from(out)).toEqual([1, NaN, NaN]);
  });

  it('vector makes a label-less series', () => {
    const out = custom('vector').call([Float64Array.of(4, 5)], contextOf(2)) as StepVector;
    expect(out).toHaveLength(1);
    expect(out[0]!.labels).toEqual([]);
    expect(pointsOf(out[0]!)).toEqual([4, 5]);
  });

  it('time gives each step in seconds and pi is π', () => {
    expect(Array.from(custom('time').call([], contextOf(3, [], 1_000, 30_000)) as StepScalar)).toEqual([1, 31, 61]);
    expect(Array.from(custom('pi').call([], contextOf(1)) as StepScalar)).toEqual([3.141592653589793]);
  });
});

describe('sort functions', () => {
  const input = () => [seriesOf([['i', 'a']], [3]), seriesOf([['i', 'b']], [NaN]), seriesOf([['i', 'c']], [1]), seriesOf([['i', 'd']], [2])];
  const order = (out: StepVector) => out.map((s) => s.labels[0]![1]);

  it('sort and sort_desc put NaN last', () => {
    expect(order(custom('sort').call([input()], contextOf(1)) as StepVector)).toEqual(['c', 'd', 'a', 'b']);
    expect(order(custom('sort_desc').call([input()], contextOf(1)) as StepVector)).toEqual(['a', 'd', 'c', 'b']);
  });

  it('sort_by_label orders naturally, then by the whole label set', () => {
    const series = [
      seriesOf(
        [
          ['host', 'h10'],
          ['z', '1'],
        ],
        [0],
      ),
      seriesOf(
        [
          ['host', 'h2'],
          ['z', '2'],
        ],
        [0],
      ),
      seriesOf(
        [
          ['host', 'h2'],
          ['z', '1'],
        ],
        [0],
      ),
      seriesOf([['z', '0']], [0]),
    ];
    const asc = custom('sort_by_label').call([series, 'host'], contextOf(1)) as StepVector;
    expect(asc.map((s) => s.labels)).toEqual([series[3]!.labels, series[2]!.labels, series[1]!.labels, series[0]!.labels]);
    const desc = custom('sort_by_label_desc').call([series, 'host'], contextOf(1)) as StepVector;
    expect(desc.map((s) => s.labels)).toEqual([series[0]!.labels, series[1]!.labels, series[2]!.labels, series[3]!.labels]);
  });

  it('natural comparison treats digit runs as numbers', () => {
    expect(naturalCompare('a2', 'a10')).toBeLessThan(0);
    expect(naturalCompare('a10', 'a2')).toBeGreaterThan(0);
    expect(naturalCompare('a02', 'a10')).toBeLessThan(0);
    expect(naturalCompare('abc', 'abd')).toBeLessThan(0);
    expect(naturalCompare('ab', 'abc')).toBeLessThan(0);
    expect(naturalCompare('x9y', 'x9y')).toBe(0);
  });
});

describe('deriv, predict_linear', () => {
  const line: Array<[number, number]> = [
    [0, 0],
    [10, 10],
    [20, 20],
  ];

  it('deriv is the least-squares slope per second', () => {
    expect(rangeFn('deriv').apply(windowOf(line, -1, 20), [], new CollectedAnnotations())).toBeCloseTo(1, 12);
    // Points (0,0) (10,10) (20,5): slope of the fit is (Σxy − n·x̄·ȳ)/(Σx² − n·x̄²) = (200 − 150)/(500 − 300) = 0.25.
    expect(
      rangeFn('deriv').apply(
        windowOf(
          [
            [0, 0],
            [10, 10],
            [20, 5],
          ],
          -1,
          20,
        ),
        [],
        new CollectedAnnotations(),
      ),
    ).toBeCloseTo(0.25, 12);
    expect(rangeFn('deriv').apply(windowOf([[0, 1]], -1, 20), [], new CollectedAnnotations())).toBeUndefined();
    expect(rangeFn('deriv').apply(windowOf([[0, 3], [10, 3]], -1, 20), [], new CollectedAnnotations())).toBe(0);
  });

  it('predict_linear extends the line from the evaluation time', () => {
    expect(rangeFn('predict_linear').apply(windowOf(line, -1, 20), [10], new CollectedAnnotations())).toBeCloseTo(30, 12);
    // Evaluated at 30s (e.g. with an offset the samples end earlier): intercept at 30s is 30.
    expect(rangeFn('predict_linear').apply(windowOf(line, -1, 20, [], 30), [0], new CollectedAnnotations())).toBeCloseTo(30, 12);
    expect(rangeFn('predict_linear').apply(windowOf([[0, 3], [10, 3]], -1, 20), [100], new CollectedAnnotations())).toBe(3);
  });
});

describe('double_exponential_smoothing', () => {
  const smooth = (values: number[], sf: number, tf: number) =>
    rangeFn('double_exponential_smoothing').apply(
      windowOf(
        values.map((v, i) => [i, v]),
        -1,
        100,
      ),
      [sf, tf],
      new CollectedAnnotations(),
    );

  it('smooths level and trend', () => {
    // Linear input is reproduced exactly.
    expect(smooth([1, 2, 3], 0.5, 0.5)).toBe(3);
    // s=0,b=10 → s=0.5·10+0.5·(0+10)=10 → b=0.5·10+0.5·10=10, s=0.5·0+0.5·(10+10)=10.
    expect(smooth([0, 10, 0], 0.5, 0.5)).toBe(10);
    // s=0,b=10 → s=0.1·10+0.9·10=10 → b=0.5·10+0.5·10=10, s=0.1·4+0.9·20=18.4.
    expect(smooth([0, 10, 4], 0.1, 0.5)).toBeCloseTo(18.4, 12);
    expect(smooth([5], 0.5, 0.5)).toBeUndefined();
  });

  it('rejects factors outside (0, 1)', () => {
    expect(() => smooth([1, 2], 1, 0.5)).toThrow(new QueryError('execution', 'invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000'));
    expect(() => smooth([1, 2], 0.5, 0)).toThrow('invalid trend factor. Expected: 0 < tf < 1, got: 0.000000');
    expect(smooth([], 5, 5)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { aggregate, quantileOfSorted, type AggregateInput } from '../../../src/tsdb/promql/aggregate.js';
import { formatGoG } from '../../../src/tsdb/promql/go-format.js';
import type { AggregateOp } from '../../../src/tsdb/promql/ast.js';
import type { StepVector } from '../../../src/tsdb/promql/values.js';
import { stepSeries as series } from './memory-querier.js';

function view(vec: StepVector): Array<[string, Array<number | null>]> {
  return vec.map((s) => ['{' + s.labels.map(([n, v]) => `${n}=${v}`).join(',') + '}', [...s.values].map((v, i) => (s.present[i] ? v : null))]);
}

function run(op: AggregateOp, input: StepVector, opts: Partial<AggregateInput> = {}): { out: StepVector; warnings: string[] } {
  const warnings: string[] = [];
  const steps = input[0]?.values.length ?? 1;
  const out = aggregate({
    op,
    input,
    grouping: [],
    without: false,
    steps,
    annotations: { warn: (m) => warnings.push(m), info: () => {} },
    ...opts,
  });
  return { out, warnings };
}

const input = [
  series({ __name__: 'm', job: 'a', i: '1' }, [1, 10, null]),
  series({ __name__: 'm', job: 'a', i: '2' }, [3, null, null]),
  series({ __name__: 'm', job: 'b', i: '1' }, [5, 7, 8]),
];

describe('sum, avg, count, min, max, group', () => {
  it('sum by (job) per step, groups in first-seen order', () => {
    expect(view(run('sum', input, { grouping: ['job'] }).out)).toEqual([
      ['{job=a}', [4, 10, null]],
      ['{job=b}', [5, 7, 8]],
    ]);
  });

  it('without drops the listed labels and the name', () => {
    expect(view(run('count', input, { grouping: ['i'], without: true }).out)).toEqual([
      ['{job=a}', [2, 1, null]],
      ['{job=b}', [1, 1, 1]],
    ]);
  });

  it('avg, min, max, group over everything', () => {
    expect(view(run('avg', input).out)).toEqual([['{}', [3, 8.5, 8]]]);
    expect(view(run('min', input).out)).toEqual([['{}', [1, 7, 8]]]);
    expect(view(run('max', input).out)).toEqual([['{}', [5, 10, 8]]]);
    expect(view(run('group', input).out)).toEqual([['{}', [1, 1, 1]]]);
  });

  it('min and max ignore NaN unless every value is NaN', () => {
    const v = [series({ a: '1' }, [NaN, NaN]), series({ a: '2' }, [2, NaN])];
    const max = run('max', v).out[0]!.values;
    expect(max[0]).toBe(2);
    expect(max[1]).toBeNaN();
  });

  it('sum is compensated (Kahan–Neumaier)', () => {
    const v = [series({ a: '1' }, [1]), series({ a: '2' }, [1e100]), series({ a: '3' }, [1]), series({ a: '4' }, [-1e100])];
    expect(run('sum', v).out[0]!.values[0]).toBe(2);
  });

  it('avg falls back to the incremental mean when the sum overflows', () => {
    const v = [series({ a: '1' }, [Number.MAX_VALUE]), series({ a: '2' }, [Number.MAX_VALUE]), series({ a: '3' }, [-Number.MAX_VALUE])];
    // MAX + MAX overflows; the incremental mean gives MAX/3 (within rounding).
    const avg = run('avg', v).out[0]!.values[0]!;
    expect(avg / (Number.MAX_VALUE / 3)).toBeCloseTo(1, 12);
  });

  it('a group marked for name removal if any input is', () => {
    const v = [series({ __name__: 'x', j: 'a' }, [1], true), series({ __name__: 'y', j: 'a' }, [1])];
    expect(run('sum', v, { grouping: ['__name__'] }).out.map((s) => [s.labels, s.dropName])).toEqual([
      [[['__name__', 'x']], true],
      [[['__name__', 'y']], false],
    ]);
  });
});

describe('stddev and stdvar', () => {
  it('population variance', () => {
    const v = [series({ a: '1' }, [2]), series({ a: '2' }, [4]), series({ a: '3' }, [4]), series({ a: '4' }, [4]), series({ a: '5' }, [5]), series({ a: '6' }, [5]), series({ a: '7' }, [7]), series({ a: '8' }, [9])];
    expect(run('stdvar', v).out[0]!.values[0]).toBeCloseTo(4, 12);
    expect(run('stddev', v).out[0]!.values[0]).toBeCloseTo(2, 12);
  });

  it('is NaN once an infinite value is in', () => {
    expect(run('stddev', [series({ a: '1' }, [Infinity]), series({ a: '2' }, [1])]).out[0]!.values[0]).toBeNaN();
  });
});

describe('quantile', () => {
  it('interpolates between ranks', () => {
    const v = [series({ a: '1' }, [1]), series({ a: '2' }, [2]), series({ a: '3' }, [4]), series({ a: '4' }, [8])];
    // rank = 0.5 × 3 = 1.5 → between 2 and 4.
    expect(run('quantile', v, { param: Float64Array.of(0.5) }).out[0]!.values[0]).toBe(3);
    expect(run('quantile', v, { param: Float64Array.of(0.9) }).out[0]!.values[0]).toBeCloseTo(6.8, 12);
  });

  it('φ outside [0, 1] gives ±Inf with a warning', () => {
    const v = [series({ a: '1' }, [1, 1])];
    const { out, warnings } = run('quantile', v, { param: Float64Array.of(-0.5, 1.5) });
    expect([...out[0]!.values]).toEqual([-Infinity, Infinity]);
    expect(warnings).toEqual(['PromQL warning: quantile value should be between 0 and 1, got 1.5', 'PromQL warning: quantile value should be between 0 and 1, got -0.5']);
  });

  it('sorts NaN first', () => {
    const sorted = Float64Array.of(NaN, 1, 2);
    expect(quantileOfSorted(0, sorted, 0, 3)).toBeNaN();
    expect(quantileOfSorted(1, sorted, 0, 3)).toBe(2);
  });
});

describe('topk, bottomk, limitk', () => {
  const v = [series({ a: '1' }, [1, 9]), series({ a: '2' }, [5, 2]), series({ a: '3' }, [3, 3])];

  it('topk keeps input labels, per step', () => {
    expect(view(run('topk', v, { param: Float64Array.of(2, 2) }).out)).toEqual([
      ['{a=1}', [null, 9]],
      ['{a=2}', [5, null]],
      ['{a=3}', [3, 3]],
    ]);
  });

  it('an instant topk/bottomk is ordered by value', () => {
    const one = v.map((s) => ({ ...s, values: s.values.slice(0, 1), present: s.present.slice(0, 1) }));
    expect(view(run('topk', one, { param: Float64Array.of(3) }).out).map(([l]) => l)).toEqual(['{a=2}', '{a=3}', '{a=1}']);
    expect(view(run('bottomk', one, { param: Float64Array.of(2) }).out).map(([l]) => l)).toEqual(['{a=1}', '{a=3}']);
  });

  it('k below 1 selects nothing; NaN k is an error', () => {
    expect(run('topk', v, { param: Float64Array.of(0.5, 0.5) }).out).toEqual([]);
    expect(() => run('topk', v, { param: Float64Array.of(1, NaN) })).toThrow('Parameter value is NaN');
  });

  it('topk prefers numbers over NaN', () => {
    const w = [series({ a: '1' }, [NaN]), series({ a: '2' }, [1])];
    expect(view(run('topk', w, { param: Float64Array.of(1) }).out)).toEqual([['{a=2}', [1]]]);
  });

  it('limitk takes the first k per group', () => {
    expect(view(run('limitk', v, { param: Float64Array.of(1, 1) }).out)).toEqual([['{a=1}', [1, 9]]]);
  });
});

describe('count_values', () => {
  it('counts each value, rendered in Go plain float form, per group', () => {
    const v = [series({ j: 'a' }, [1e21, 2]), series({ j: 'b' }, [1e21, 0.5])];
    expect(view(run('count_values', v, { label: 'value' }).out)).toEqual([
      ['{value=1000000000000000000000}', [2, null]],
      ['{value=2}', [null, 1]],
      ['{value=0.5}', [null, 1]],
    ]);
    expect(view(run('count_values', v, { label: 'value', grouping: ['j'] }).out).map(([l]) => l)).toEqual([
      '{j=a,value=1000000000000000000000}',
      '{j=b,value=1000000000000000000000}',
      '{j=a,value=2}',
      '{j=b,value=0.5}',
    ]);
  });
});

describe('formatGoG', () => {
  it('prints like Go %g', () => {
    expect(formatGoG(1.5)).toBe('1.5');
    expect(formatGoG(123456)).toBe('123456');
    expect(formatGoG(1234567)).toBe('1.234567e+06');
    expect(formatGoG(0.00001)).toBe('1e-05');
    expect(formatGoG(-Infinity)).toBe('-Inf');
  });
});

import { describe, expect, it } from 'vitest';
import type { VectorMatching } from '../../../src/tsdb/promql/ast.js';
import { goPow, scalarBinop, setBinop, vectorBinop, vectorScalarBinop } from '../../../src/tsdb/promql/binary.js';
import { QueryError } from '../../../src/tsdb/promql/errors.js';
import type { StepVector } from '../../../src/tsdb/promql/values.js';
import { stepSeries as series } from './memory-querier.js';

/** Readable form: labels → values with null where absent. */
function view(vec: StepVector): Record<string, Array<number | null>> {
  const out: Record<string, Array<number | null>> = {};
  for (const s of vec) {
    const key = '{' + s.labels.map(([n, v]) => `${n}=${v}`).join(',') + '}';
    out[key] = [...s.values].map((v, i) => (s.present[i] ? v : null));
  }
  return out;
}

const ONE_TO_ONE: VectorMatching = { card: 'one-to-one', on: false, labels: [], include: [] };
const MANY: VectorMatching = { card: 'many-to-many', on: false, labels: [], include: [] };

describe('Go arithmetic', () => {
  it('Pow follows Go where JS ** differs', () => {
    expect(goPow(1, NaN)).toBe(1);
    expect(goPow(-1, Infinity)).toBe(1);
    expect(goPow(-1, -Infinity)).toBe(1);
    expect(goPow(2, 10)).toBe(1024);
    expect(goPow(NaN, 0)).toBe(1);
  });

  it('scalar op scalar per step, comparisons as 0/1', () => {
    expect([...scalarBinop('%', Float64Array.of(7, -7), Float64Array.of(3, 3))]).toEqual([1, -1]);
    expect([...scalarBinop('>', Float64Array.of(1, 3), Float64Array.of(2, 2))]).toEqual([0, 1]);
    expect([...scalarBinop('^', Float64Array.of(1), Float64Array.of(NaN))]).toEqual([1]);
  });
});

describe('vector op scalar', () => {
  const vec = [series({ __name__: 'm', a: '1' }, [1, 5, null])];

  it('arithmetic keeps labels and marks the name for removal', () => {
    const out = vectorScalarBinop('*', vec, Float64Array.of(2, 2, 2), false, false);
    expect(view(out)).toEqual({ '{__name__=m,a=1}': [2, 10, null] });
    expect(out[0]!.dropName).toBe(true);
  });

  it('comparison filters and keeps the vector value even when the scalar is on the left', () => {
    const out = vectorScalarBinop('<', vec, Float64Array.of(3, 3, 3), true, false); // 3 < v
    expect(view(out)).toEqual({ '{__name__=m,a=1}': [null, 5, null] });
    expect(out[0]!.dropName).toBeFalsy();
  });

  it('bool comparison gives 0/1 and drops the name', () => {
    const out = vectorScalarBinop('>', vec, Float64Array.of(3, 3, 3), false, true);
    expect(view(out)).toEqual({ '{__name__=m,a=1}': [0, 1, null] });
    expect(out[0]!.dropName).toBe(true);
  });

  it('a series filtered out at every step disappears', () => {
    expect(vectorScalarBinop('>', vec, Float64Array.of(100, 100, 100), false, false)).toEqual([]);
  });
});

describe('vector op vector', () => {
  const lhs = [series({ __name__: 'a', job: 'x', i: '1' }, [1, 2]), series({ __name__: 'a', job: 'y', i: '1' }, [3, null])];
  const rhs = [series({ __name__: 'b', job: 'x', i: '1' }, [10, 20]), series({ __name__: 'b', job: 'z', i: '1' }, [5, 5])];

  it('one-to-one matches on all labels but the name; arithmetic drops the name', () => {
    expect(view(vectorBinop('+', lhs, rhs, ONE_TO_ONE, false, 2))).toEqual({ '{i=1,job=x}': [11, 22] });
  });

  it('on(...) keeps only the matching labels in the result', () => {
    const out = vectorBinop('-', lhs, rhs, { card: 'one-to-one', on: true, labels: ['job'], include: [] }, false, 2);
    expect(view(out)).toEqual({ '{job=x}': [-9, -18] });
  });

  it('filtering comparison keeps the left side with its name', () => {
    const r = [series({ __name__: 'b', job: 'x', i: '1' }, [0, 5])];
    expect(view(vectorBinop('>', lhs, r, ONE_TO_ONE, false, 2))).toEqual({ '{__name__=a,i=1,job=x}': [1, null] });
  });

  it('group_left copies the included labels from the one side', () => {
    const many = [series({ __name__: 'req', job: 'x', path: '/a' }, [4]), series({ __name__: 'req', job: 'x', path: '/b' }, [6])];
    const one = [series({ __name__: 'info', job: 'x', team: 't1' }, [2])];
    const out = vectorBinop('/', many, one, { card: 'many-to-one', on: true, labels: ['job'], include: ['team'] }, false, 1);
    expect(view(out)).toEqual({ '{job=x,path=/a,team=t1}': [2], '{job=x,path=/b,team=t1}': [3] });
  });

  it('group_right keeps the right side as the many side (operands stay in place)', () => {
    const one = [series({ job: 'x' }, [10])];
    const many = [series({ job: 'x', path: '/a' }, [4]), series({ job: 'x', path: '/b' }, [6])];
    const out = vectorBinop('-', one, many, { card: 'one-to-many', on: true, labels: ['job'], include: [] }, false, 1);
    expect(view(out)).toEqual({ '{job=x,path=/a}': [6], '{job=x,path=/b}': [4] });
  });

  it('rejects duplicate series on the one side, only at steps where both have values', () => {
    const many = [series({ job: 'x', path: '/a' }, [1, 1])];
    const one = [series({ job: 'x', k: '1' }, [1, null]), series({ job: 'x', k: '2' }, [1, 1])];
    const m: VectorMatching = { card: 'many-to-one', on: true, labels: ['job'], include: [] };
    expect(() => vectorBinop('+', many, one, m, false, 2)).toThrow(
      'found duplicate series for the match group {job="x"} on the right hand-side of the operation: [{job="x", k="1"}, {job="x", k="2"}];many-to-many matching not allowed: matching labels must be unique on one side',
    );
    const oneLater = [series({ job: 'x', k: '1' }, [1, null]), series({ job: 'x', k: '2' }, [null, 1])];
    expect(view(vectorBinop('+', many, oneLater, m, false, 2))).toEqual({ '{job=x,path=/a}': [2, 2] });
  });

  it('one-to-one with two left series on one signature needs group_left', () => {
    const l = [series({ job: 'x', path: '/a' }, [1]), series({ job: 'x', path: '/b' }, [1])];
    const r = [series({ job: 'x' }, [1])];
    let err: unknown;
    try {
      vectorBinop('+', l, r, { card: 'one-to-one', on: true, labels: ['job'], include: [] }, false, 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QueryError);
    expect((err as QueryError).errorType).toBe('execution');
    expect((err as QueryError).message).toBe('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
  });

  it('group_left results that collide are an error', () => {
    const many = [series({ __name__: 'a', job: 'x' }, [1]), series({ __name__: 'b', job: 'x' }, [2])];
    const one = [series({ job: 'x' }, [1])];
    expect(() => vectorBinop('+', many, one, { card: 'many-to-one', on: true, labels: ['job'], include: [] }, false, 1)).toThrow(
      'multiple matches for labels: grouping labels must ensure unique matches',
    );
  });

  it('bool comparison between vectors marks the name for removal', () => {
    const out = vectorBinop('==', lhs, rhs, ONE_TO_ONE, true, 2);
    expect(view(out)).toEqual({ '{__name__=a,i=1,job=x}': [0, 0] });
    expect(out[0]!.dropName).toBe(true);
  });
});

describe('set operators', () => {
  const lhs = [series({ __name__: 'a', job: 'x' }, [1, 2, null]), series({ __name__: 'a', job: 'y' }, [3, 4, 5])];
  const rhs = [series({ __name__: 'b', job: 'x' }, [null, 9, 9]), series({ __name__: 'b', job: 'z' }, [7, 7, 7])];

  it('and keeps left series at steps where the right has a match', () => {
    expect(view(setBinop('and', lhs, rhs, MANY, 3))).toEqual({ '{__name__=a,job=x}': [null, 2, null] });
  });

  it('unless keeps left series at steps without a match', () => {
    expect(view(setBinop('unless', lhs, rhs, MANY, 3))).toEqual({ '{__name__=a,job=x}': [1, null, null], '{__name__=a,job=y}': [3, 4, 5] });
  });

  it('or adds right series at steps where no left series has their signature', () => {
    expect(view(setBinop('or', lhs, rhs, MANY, 3))).toEqual({
      '{__name__=a,job=x}': [1, 2, null],
      '{__name__=a,job=y}': [3, 4, 5],
      '{__name__=b,job=x}': [null, null, 9],
      '{__name__=b,job=z}': [7, 7, 7],
    });
  });

  it('on() matches every series with every other', () => {
    const on: VectorMatching = { card: 'many-to-many', on: true, labels: [], include: [] };
    expect(view(setBinop('and', lhs, [series({ k: 'v' }, [null, null, 1])], on, 3))).toEqual({ '{__name__=a,job=y}': [null, null, 5] });
  });
});

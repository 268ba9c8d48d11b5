import { describe, expect, it } from 'vitest';
import { Engine, type QueryResult } from '../../../src/tsdb/promql/engine.js';
import { QueryError } from '../../../src/tsdb/promql/errors.js';
import type { Labels, Querier, SelectedSeries } from '../../../src/tsdb/storage.js';
import { MemoryQuerier, STALE } from './memory-querier.js';

const S = 1000;
const M = 60 * S;

function fmt(labels: Labels): string {
  return '{' + labels.map(([n, v]) => `${n}="${v}"`).join(',') + '}';
}

/** Instant vector result as label string → value. */
function vector(r: QueryResult): Record<string, number> {
  if (r.value.resultType !== 'vector') throw new Error(`not a vector: ${r.value.resultType}`);
  return Object.fromEntries(r.value.series.map((s) => [fmt(s.labels), s.value]));
}

/** Matrix result as [labels, [t, v][]] in result order. */
function matrix(r: QueryResult): Array<[string, Array<[number, number]>]> {
  if (r.value.resultType !== 'matrix') throw new Error(`not a matrix: ${r.value.resultType}`);
  return r.value.series.map((s) => [fmt(s.labels), [...s.timestamps].map((t, i) => [t, s.values[i]!] as [number, number])]);
}

async function queryError(p: Promise<unknown>): Promise<QueryError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof QueryError) return e;
    throw e;
  }
  throw new Error('expected a QueryError');
}

// Counters scraped every 30s: a{job="x"} 0,1,2,...; b{job="x"} 10,20,...
function counters(): MemoryQuerier {
  const q = new MemoryQuerier();
  const a: Array<[number, number]> = [];
  const b: Array<[number, number]> = [];
  for (let i = 0; i <= 20; i++) {
    a.push([i * 30 * S, i]);
    b.push([i * 30 * S, 10 * i]);
  }
  q.add({ __name__: 'a_total', job: 'x' }, a);
  q.add({ __name__: 'b_total', job: 'x' }, b);
  return q;
}

describe('Engine: literals and result shapes', () => {
  const engine = new Engine();
  const q = new MemoryQuerier();

  it('scalar arithmetic at an instant (Grafana health check)', async () => {
    const r = await engine.instantQuery(q, '1+1', 4 * S);
    expect(r.value).toEqual({ resultType: 'scalar', timeMs: 4 * S, value: 2 });
  });

  it('a string literal', async () => {
    expect((await engine.instantQuery(q, '"hello"', 0)).value).toEqual({ resultType: 'string', timeMs: 0, value: 'hello' });
  });

  it('a scalar range query is one series without labels', async () => {
    const r = await engine.rangeQuery(q, 'time() * 2', 0, 2 * M, M);
    expect(matrix(r)).toEqual([['{}', [[0, 0], [M, 120], [2 * M, 240]]]]);
  });

  it('a range query of a range vector is bad_data', async () => {
    const e = await queryError(engine.rangeQuery(q, 'foo[5m]', 0, M, M));
    expect(e.errorType).toBe('bad_data');
    expect(e.message).toBe('invalid expression type "range vector" for range query, must be Scalar or instant Vector');
  });
});

describe('Engine: selectors', () => {
  const engine = new Engine();

  it('instant selector with lookback and staleness over a range query', async () => {
    const q = new MemoryQuerier().add({ __name__: 'up', job: 'x' }, [
      [0, 1],
      [60 * S, 2],
      [120 * S, STALE],
      [240 * S, 4],
    ]);
    const r = await engine.rangeQuery(q, 'up', 0, 4 * M, M);
    // 0:1, 60:2, 120: stale → absent, 180: newest ≤180 is the stale marker → absent, 240: 4.
    expect(matrix(r)).toEqual([['{__name__="up",job="x"}', [[0, 1], [M, 2], [4 * M, 4]]]]);
  });

  it('a series disappears 5m after its last sample (left-open lookback)', async () => {
    const q = new MemoryQuerier().add({ __name__: 'up' }, [[0, 1]]);
    expect(vector(await engine.instantQuery(q, 'up', 5 * M - 1))).toEqual({ '{__name__="up"}': 1 });
    expect(vector(await engine.instantQuery(q, 'up', 5 * M))).toEqual({});
  });

  it('offset and @ (with start() and end())', async () => {
    const q = counters();
    expect(vector(await engine.instantQuery(q, 'a_total offset 1m', 5 * M))).toEqual({ '{__name__="a_total",job="x"}': 8 });
    expect(vector(await engine.instantQuery(q, 'a_total @ 90', 5 * M))).toEqual({ '{__name__="a_total",job="x"}': 3 });
    const r = await engine.rangeQuery(q, 'a_total @ end()', M, 3 * M, M);
    expect(matrix(r)).toEqual([['{__name__="a_total",job="x"}', [[M, 6], [2 * M, 6], [3 * M, 6]]]]);
    const s = await engine.rangeQuery(q, 'a_total @ start() offset -30s', M, 2 * M, M);
    expect(matrix(s)).toEqual([['{__name__="a_total",job="x"}', [[M, 3], [2 * M, 3]]]]);
  });

  it('an instant range selector returns the raw samples in (T − range, T]', async () => {
    const r = await engine.instantQuery(counters(), 'a_total[1m]', 2 * M);
    expect(matrix(r)).toEqual([['{__name__="a_total",job="x"}', [[90 * S, 3], [120 * S, 4]]]]);
  });

  it('timestamp() of a selector is the sample time; of anything else the step time', async () => {
    const q = new MemoryQuerier().add({ __name__: 'up' }, [[10 * S, 1]]);
    expect(vector(await engine.instantQuery(q, 'timestamp(up)', M))).toEqual({ '{}': 10 });
    expect(vector(await engine.instantQuery(q, 'timestamp((up))', M))).toEqual({ '{}': 10 });
    expect(vector(await engine.instantQuery(q, 'timestamp(-up)', M))).toEqual({ '{}': 60 });
  });
});

describe('Engine: functions, aggregation, operators', () => {
  const engine = new Engine();

  it('rate over a counter drops the name; sum by', async () => {
    const q = counters();
    // 1 per 30s → 1/30 per second; b: 10/30.
    const r = await engine.instantQuery(q, 'sum by (job) (rate({__name__=~".+_total"}[2m]))', 10 * M);
    expect(vector(r)['{job="x"}']).toBeCloseTo(11 / 30, 12);
    expect(vector(await engine.instantQuery(q, 'rate(a_total[2m])', 10 * M))['{job="x"}']).toBeCloseTo(1 / 30, 12);
  });

  it('last_over_time keeps the name', async () => {
    expect(vector(await engine.instantQuery(counters(), 'last_over_time(a_total[1m])', 2 * M))).toEqual({ '{__name__="a_total",job="x"}': 4 });
  });

  it('vector matching across names', async () => {
    const r = await engine.instantQuery(counters(), 'b_total / a_total', 5 * M);
    expect(vector(r)).toEqual({ '{job="x"}': 10 });
  });

  it('a subquery is evaluated at absolute multiples of its step', async () => {
    const q = counters();
    // Inner steps in (4m, 6m] every 30s: 4m30..6m → values 9..12 (4 points).
    expect(vector(await engine.instantQuery(q, 'count_over_time(a_total[2m:30s])', 6 * M))).toEqual({ '{job="x"}': 4 });
    const r = await engine.instantQuery(q, 'a_total[1m:30s]', 6 * M);
    expect(matrix(r)).toEqual([['{__name__="a_total",job="x"}', [[330 * S, 11], [360 * S, 12]]]]);
    // Range query of a subquery with the default step (1m): max over [2m:] at 5m and 6m.
    const m = await engine.rangeQuery(q, 'max_over_time(a_total[2m:])', 5 * M, 6 * M, M);
    expect(matrix(m)).toEqual([['{job="x"}', [[5 * M, 10], [6 * M, 12]]]]);
  });

  it('absent_over_time gives 1 where no series has samples, labelled from equality matchers', async () => {
    const q = new MemoryQuerier().add({ __name__: 'up', job: 'x' }, [[0, 1]]);
    const r = await engine.rangeQuery(q, 'absent_over_time(up{job="x"}[1m])', 0, 2 * M, M);
    expect(matrix(r)).toEqual([['{job="x"}', [[M, 1], [2 * M, 1]]]]);
    const none = await engine.rangeQuery(q, 'absent_over_time(up{job="x",env=~"p.*"}[1m])', 0, M, M);
    expect(matrix(none)).toEqual([['{job="x"}', [[0, 1], [M, 1]]]]);
  });

  it('series from different metrics merge after name removal when they do not overlap', async () => {
    const q = new MemoryQuerier()
      .add({ __name__: 'metric_a' }, [[0, 1]])
      .add({ __name__: 'metric_b' }, [
        [0, 3],
        [10 * M, 4],
      ]);
    const r = await engine.rangeQuery(q, '-metric_a or -metric_b', 0, 20 * M, 10 * M);
    expect(matrix(r)).toEqual([['{}', [[0, -1], [10 * M, -4]]]]);
  });

  it('series that share a label set after name removal at the same step are an error', async () => {
    const q = new MemoryQuerier().add({ __name__: 'm1', a: '1' }, [[0, 1]]).add({ __name__: 'm2', a: '1' }, [[0, 2]]);
    const e = await queryError(engine.instantQuery(q, 'ceil({__name__=~"m1|m2"})', 0));
    expect(e.errorType).toBe('execution');
    expect(e.message).toBe('vector cannot contain metrics with the same labelset');
  });

  it('range results are sorted by labels', async () => {
    const q = new MemoryQuerier()
      .add({ __name__: 'm', z: '1' }, [[0, 1]])
      .add({ __name__: 'm', a: '2' }, [[0, 1]])
      .add({ __name__: 'm', a: '1', b: '1' }, [[0, 1]]);
    const r = await engine.rangeQuery(q, 'sort_desc(m)', 0, 0, M);
    expect(matrix(r).map(([l]) => l)).toEqual(['{__name__="m",a="1",b="1"}', '{__name__="m",a="2"}', '{__name__="m",z="1"}']);
  });
});

describe('Engine: limits', () => {
  it('too many samples is an execution error', async () => {
    const q = counters();
    const e = await queryError(new Engine({ maxSamples: 10 }).rangeQuery(q, 'a_total', 0, 10 * M, 30 * S));
    expect(e.errorType).toBe('execution');
    expect(e.message).toBe('query processing would load too many samples into memory in query execution');
  });

  it('times out on a slow querier', async () => {
    const slow: Querier = {
      select: () => new Promise<SelectedSeries[]>((resolve) => setTimeout(() => resolve([]), 200)),
      labelNames: async () => [],
      labelValues: async () => [],
    };
    const e = await queryError(new Engine().instantQuery(slow, 'up', 0, { timeoutMs: 10 }));
    expect(e.errorType).toBe('timeout');
    expect(e.message).toBe('query timed out in query execution');
  });

  it('a storage failure is an execution error', async () => {
    const broken: Querier = {
      select: async () => {
        throw new Error('disk on fire');
      },
      labelNames: async () => [],
      labelValues: async () => [],
    };
    const e = await queryError(new Engine().instantQuery(broken, 'up', 0));
    expect(e.errorType).toBe('execution');
    expect(e.message).toBe('expanding series: disk on fire');
  });

  it('an aborted query is canceled', async () => {
    const ac = new AbortController();
    ac.abort();
    const e = await queryError(new Engine().instantQuery(counters(), 'a_total', 0, { signal: ac.signal }));
    expect(e.errorType).toBe('canceled');
  });

  it('selects each selector once over the union of the time the query needs', async () => {
    const calls: Array<[number, number]> = [];
    const inner = counters();
    const spy: Querier = {
      select: (m, minT, maxT) => {
        calls.push([minT, maxT]);
        return inner.select(m, minT, maxT);
      },
      labelNames: async () => [],
      labelValues: async () => [],
    };
    await new Engine().rangeQuery(spy, 'rate(a_total[2m] offset 1m)', 10 * M, 20 * M, M);
    expect(calls).toEqual([[10 * M - M - 2 * M + 1, 20 * M - M]]);
  });
});

// The PromQL engine: parses a query, reads every selector's series from the querier once (over the
// union of the times the query needs), evaluates the tree over the query's grid of steps
// (evaluator.ts) and shapes the result as Prometheus' API reports it. Semantics follow Prometheus
// 3.x with delayed `__name__` removal: operations mark series whose name goes away and the names are
// removed at the end, where series that then share a label set are merged (or rejected when they
// have values at the same step).

import type { Labels, Querier, SelectedSeries } from '../storage.js';
import type { Expr, VectorSelector } from './ast.js';
import { typeOf } from './ast.js';
import { QueryError } from './errors.js';
import { Evaluator, mergeSameLabels, resolveAt, subqueryGrid, unwrapParens } from './evaluator.js';
import { FUNCTIONS } from './functions/index.js';
import { compareLabels } from '../head/labels.js';
import { dropMetricName } from './label-set.js';
import { parseExpr } from './parser.js';
import { StepArrays } from './step-arrays.js';
import type { Annotations, Grid, StepVector } from './values.js';

export interface EngineOptions {
  /** How far back an instant selector looks for a sample (default 5m). */
  lookbackDeltaMs?: number;
  /** Samples a query may hold in memory at once (default 50,000,000). */
  maxSamples?: number;
  /** Default query timeout (default 2m). */
  timeoutMs?: number;
  /** Step of subqueries written without one (default 1m, Prometheus' global evaluation interval). */
  defaultSubqueryStepMs?: number;
}

export interface QueryOptions {
  lookbackDeltaMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type QueryValue =
  | { resultType: 'scalar'; timeMs: number; value: number }
  | { resultType: 'string'; timeMs: number; value: string }
  | { resultType: 'vector'; timeMs: number; series: Array<{ labels: Labels; value: number }> }
  | { resultType: 'matrix'; series: Array<{ labels: Labels; timestamps: Float64Array; values: Float64Array }> };

export interface QueryResult {
  value: QueryValue;
  warnings: string[];
  infos: string[];
}

type MatrixSeries = { labels: Labels; timestamps: Float64Array; values: Float64Array };

class CollectedAnnotations implements Annotations {
  readonly warnings = new Set<string>();
  readonly infos = new Set<string>();
  warn(message: string): void {
    this.warnings.add(message);
  }
  info(message: string): void {
    this.infos.add(message);
  }
}

export class Engine {
  private readonly lookbackMs: number;
  private readonly maxSamples: number;
  private readonly timeoutMs: number;
  private readonly defaultSubqueryStepMs: number;

  constructor(options: EngineOptions = {}) {
    this.lookbackMs = options.lookbackDeltaMs ?? 300_000;
    this.maxSamples = options.maxSamples ?? 50_000_000;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.defaultSubqueryStepMs = options.defaultSubqueryStepMs ?? 60_000;
  }

  async instantQuery(q: Querier, query: string | Expr, timeMs: number, o: QueryOptions = {}): Promise<QueryResult> {
    const expr = typeof query === 'string' ? parseExpr(query) : query;
    const grid: Grid = { startMs: timeMs, intervalMs: 0, steps: 1 };
    const { evaluator, annotations } = await this.prepare(q, expr, grid, o);
    const type = typeOf(expr);
    let value: QueryValue;
    if (type === 'matrix') {
      value = { resultType: 'matrix', series: instantMatrix(evaluator, expr, grid) };
    } else {
      const v = evaluator.evaluate(expr, grid);
      evaluator.checkpoint();
      if (v.kind === 'string') value = { resultType: 'string', timeMs, value: v.value };
      else if (v.kind === 'scalar') value = { resultType: 'scalar', timeMs, value: v.scalar[0]! };
      else {
        const vec = removeDroppedNames(v.vector);
        value = { resultType: 'vector', timeMs, series: vec.map((s) => ({ labels: s.labels, value: s.values[0]! })) };
      }
    }
    return { value, warnings: [...annotations.warnings], infos: [...annotations.infos] };
  }

  async rangeQuery(q: Querier, query: string | Expr, startMs: number, endMs: number, stepMs: number, o: QueryOptions = {}): Promise<QueryResult> {
    const expr = typeof query === 'string' ? parseExpr(query) : query;
    const type = typeOf(expr);
    if (type !== 'scalar' && type !== 'vector') {
      const name = type === 'matrix' ? 'range vector' : 'string';
      throw new QueryError('bad_data', `invalid expression type "${name}" for range query, must be Scalar or instant Vector`);
    }
    if (!(stepMs > 0)) throw new QueryError('bad_data', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
    if (endMs < startMs) throw new QueryError('bad_data', 'end timestamp must not be before start time');
    const grid: Grid = { startMs, intervalMs: stepMs, steps: Math.floor((endMs - startMs) / stepMs) + 1 };
    const { evaluator, annotations } = await this.prepare(q, expr, grid, o);
    const v = evaluator.evaluate(expr, grid);
    evaluator.checkpoint();
    let series: MatrixSeries[];
    if (v.kind === 'scalar') {
      const timestamps = new Float64Array(grid.steps);
      for (let i = 0; i < grid.steps; i++) timestamps[i] = startMs + i * stepMs;
      series = [{ labels: [], timestamps, values: v.scalar }];
    } else if (v.kind === 'vector') {
      const vec = removeDroppedNames(v.vector);
      const arrays = new StepArrays(grid.steps, vec.length);
      series = vec.map((s) => toPoints(s.labels, s.values, s.present, grid, arrays));
      series = series.filter((s) => s.timestamps.length > 0).sort((a, b) => compareLabels(a.labels, b.labels));
    } else throw new QueryError('bad_data', 'invalid expression type "string" for range query, must be Scalar or instant Vector');
    return { value: { resultType: 'matrix', series }, warnings: [...annotations.warnings], infos: [...annotations.infos] };
  }

  /** Selects every selector's series and builds the evaluator. */
  private async prepare(q: Querier, expr: Expr, grid: Grid, o: QueryOptions): Promise<{ evaluator: Evaluator; annotations: CollectedAnnotations }> {
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const lookbackMs = o.lookbackDeltaMs ?? this.lookbackMs;
    const queryEndMs = grid.startMs + (grid.steps - 1) * grid.intervalMs;
    if (o.signal?.aborted) throw new QueryError('canceled', 'query was canceled in query execution');
    const ranges = selectorRanges(expr, grid.startMs, queryEndMs, lookbackMs, this.defaultSubqueryStepMs, grid);
    const selected = new Map<VectorSelector, readonly SelectedSeries[]>();
    const loads = [...ranges].map(async ([sel, [minT, maxT]]) => {
      try {
        selected.set(sel, await q.select(sel.matchers, minT, maxT));
      } catch (err) {
        if (err instanceof QueryError) throw err;
        // Prometheus reports storage failures with this prefix (errorType execution).
        throw new QueryError('execution', `expanding series: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    await withDeadline(Promise.all(loads), deadline, o.signal);
    const annotations = new CollectedAnnotations();
    const evaluator = new Evaluator({
      selected,
      functions: FUNCTIONS,
      lookbackMs,
      queryStartMs: grid.startMs,
      queryEndMs,
      defaultSubqueryStepMs: this.defaultSubqueryStepMs,
      maxSamples: this.maxSamples,
      deadline,
      signal: o.signal,
      annotations,
    });
    return { evaluator, annotations };
  }
}

/** Waits for `p` unless the deadline passes or the signal aborts first. */
async function withDeadline<T>(p: Promise<T>, deadline: number, signal: AbortSignal | undefined): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueryError('timeout', 'query timed out in query execution')), Math.max(0, deadline - Date.now()));
    if (signal) {
      onAbort = () => reject(new QueryError('canceled', 'query was canceled in query execution'));
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([p, stop]);
  } finally {
    clearTimeout(timer);
    if (signal && onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The time range each selector needs over the whole query (Prometheus' getTimeRangesForSelector):
 * instant selectors look back `lookback` (left-open), range selectors their range, subqueries
 * widen what is below them by their range and offset; `@` pins the time.
 */
export function selectorRanges(
  expr: Expr,
  startMs: number,
  endMs: number,
  lookbackMs: number,
  defaultSubqueryStepMs: number,
  grid: Grid,
): Map<VectorSelector, [number, number]> {
  const out = new Map<VectorSelector, [number, number]>();
  const queryStart = startMs;
  const queryEnd = endMs;
  const add = (sel: VectorSelector, minT: number, maxT: number): void => {
    const prev = out.get(sel);
    out.set(sel, prev ? [Math.min(prev[0], minT), Math.max(prev[1], maxT)] : [minT, maxT]);
  };
  const walk = (e: Expr, from: number, to: number, innerGrid: Grid): void => {
    switch (e.type) {
      case 'VectorSelector': {
        const at = resolveAt(e.at, queryStart, queryEnd);
        const s = (at ?? from) - e.offsetMs;
        const t = (at ?? to) - e.offsetMs;
        add(e, s - lookbackMs + 1, t);
        return;
      }
      case 'MatrixSelector': {
        const v = e.vector;
        const at = resolveAt(v.at, queryStart, queryEnd);
        const s = (at ?? from) - v.offsetMs;
        const t = (at ?? to) - v.offsetMs;
        add(v, s - e.rangeMs + 1, t);
        return;
      }
      case 'SubqueryExpr': {
        const at = resolveAt(e.at, queryStart, queryEnd);
        const sub = subqueryGrid(e, innerGrid, at, defaultSubqueryStepMs);
        if (sub.steps === 0) return;
        walk(e.expr, sub.startMs, sub.startMs + (sub.steps - 1) * sub.intervalMs, sub);
        return;
      }
      case 'ParenExpr':
      case 'UnaryExpr':
        walk(e.expr, from, to, innerGrid);
        return;
      case 'BinaryExpr':
        walk(e.lhs, from, to, innerGrid);
        walk(e.rhs, from, to, innerGrid);
        return;
      case 'AggregateExpr':
        if (e.param) walk(e.param, from, to, innerGrid);
        walk(e.expr, from, to, innerGrid);
        return;
      case 'Call':
        for (const a of e.args) walk(a, from, to, innerGrid);
        return;
      case 'NumberLiteral':
      case 'StringLiteral':
        return;
    }
  };
  walk(expr, startMs, endMs, grid);
  return out;
}

/** An instant query of a range vector: the raw samples (or subquery points) in each series' window. */
function instantMatrix(evaluator: Evaluator, expr: Expr, grid: Grid): MatrixSeries[] {
  const input = evaluator.evalRange(unwrapParens(expr), grid);
  const end = (input.atMs ?? grid.startMs) - input.offsetMs;
  const start = end - input.rangeMs;
  const out: Array<MatrixSeries & { dropName: boolean }> = [];
  for (const s of input.series) {
    let from = 0;
    while (from < s.timestamps.length && s.timestamps[from]! <= start) from++;
    let to = from;
    while (to < s.timestamps.length && s.timestamps[to]! <= end) to++;
    if (to === from) continue;
    out.push({ labels: s.labels, timestamps: s.timestamps.slice(from, to), values: s.values.slice(from, to), dropName: s.dropName });
  }
  const named = out.map((s) => ({ ...s, labels: s.dropName ? dropMetricName(s.labels) : s.labels }));
  return named.sort((a, b) => compareLabels(a.labels, b.labels)).map(({ labels, timestamps, values }) => ({ labels, timestamps, values }));
}

/** Removes the names marked for removal and merges the series that then share a label set. */
function removeDroppedNames(vec: StepVector): StepVector {
  // Without names to drop every label set is already unique (each operation keys its output by labels).
  if (!vec.some((s) => s.dropName)) return vec;
  return mergeSameLabels(vec, (s) => (s.dropName ? dropMetricName(s.labels) : s.labels));
}

/** A series' present steps as points; the arrays are views into `arrays` slabs, trimmed to the point count. */
function toPoints(labels: Labels, values: Float64Array, present: Uint8Array, grid: Grid, arrays: StepArrays): MatrixSeries {
  let n = 0;
  for (let i = 0; i < present.length; i++) n += present[i]!;
  const timestamps = arrays.values().subarray(0, n);
  const out = arrays.values().subarray(0, n);
  let j = 0;
  for (let i = 0; i < present.length; i++) {
    if (!present[i]) continue;
    timestamps[j] = grid.startMs + i * grid.intervalMs;
    out[j] = values[i]!;
    j++;
  }
  return { labels, timestamps, values: out };
}

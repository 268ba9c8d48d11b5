// Evaluates a PromQL syntax tree over a grid of steps. Every instant-vector node yields a StepVector
// (series × steps on typed arrays) and every scalar node one number per step, so a range query costs
// one pass per node rather than one evaluation per step. Range vectors are never materialised per
// step: range functions walk each series' samples with two pointers (left-open windows), and a
// subquery's inner expression is evaluated once over its own step-aligned grid.
//
// Storage is read before evaluation (engine.ts selects every selector's union time range once), so
// evaluation is synchronous; deadlines and cancellation are checked between nodes and every few
// thousand series.

import { goQuote } from './go-format.js';
import type { Labels, SelectedSeries } from '../storage.js';
import type { AggregateExpr, AtModifier, BinaryExpr, Call, Expr, MatrixSelector, SubqueryExpr, VectorMatching, VectorSelector } from './ast.js';
import { typeOf } from './ast.js';
import { aggregate } from './aggregate.js';
import { scalarBinop, setBinop, vectorBinop, vectorScalarBinop } from './binary.js';
import { QueryError } from './errors.js';
import { absentLabels, isValidLabelName } from './functions/index.js';
import type { CustomFunction, ElementwiseFunction, EvaluatedArg, FunctionImpl, RangeFunction, RangeWindow } from './functions/types.js';
import { labelsKey } from './label-set.js';
import { selectInstant, withoutStaleMarkers, type RangeSeries } from './selectors.js';
import { StepArrays } from './step-arrays.js';
import type { Annotations, Grid, StepScalar, StepSeries, StepVector } from './values.js';

export type InstantValue = { kind: 'vector'; vector: StepVector } | { kind: 'scalar'; scalar: StepScalar } | { kind: 'string'; value: string };

/** A range-vector argument: the series' samples plus the window each step looks at. */
export interface RangeInput {
  series: RangeSeries[];
  rangeMs: number;
  offsetMs: number;
  /** Pinned evaluation time (`@`), else each step's own time. */
  atMs: number | undefined;
}

export interface EvaluatorOptions {
  /** Each selector node's series, selected over the union of the times the query needs. */
  selected: ReadonlyMap<VectorSelector, readonly SelectedSeries[]>;
  functions: Readonly<Record<string, FunctionImpl>>;
  lookbackMs: number;
  /** The query's start and end (`@ start()`, `@ end()`). */
  queryStartMs: number;
  queryEndMs: number;
  defaultSubqueryStepMs: number;
  maxSamples: number;
  /** Absolute time (Date.now() ms) after which the query times out. */
  deadline: number;
  signal?: AbortSignal;
  annotations: Annotations;
}

const CHECK_EVERY_SERIES = 2048;

export function unwrapParens(e: Expr): Expr {
  while (e.type === 'ParenExpr') e = e.expr;
  return e;
}

export function resolveAt(at: AtModifier | undefined, queryStartMs: number, queryEndMs: number): number | undefined {
  if (!at) return undefined;
  if (at.kind === 'time') return at.ms;
  return at.kind === 'start' ? queryStartMs : queryEndMs;
}

/** Step i's time. */
function stepTime(grid: Grid, i: number): number {
  return grid.startMs + i * grid.intervalMs;
}

const DEFAULT_MATCHING: VectorMatching = { card: 'one-to-one', on: false, labels: [], include: [] };

export class Evaluator {
  /** Samples held in memory (Prometheus' currentSamples): selected points and node results. */
  private samples = 0;

  constructor(private readonly o: EvaluatorOptions) {}

  /** Throws when the deadline passed or the query was canceled. */
  checkpoint(): void {
    if (this.o.signal?.aborted) throw new QueryError('canceled', 'query was canceled in query execution');
    if (Date.now() > this.o.deadline) throw new QueryError('timeout', 'query timed out in query execution');
  }

  private addSamples(n: number): void {
    this.samples += n;
    if (this.samples > this.o.maxSamples) {
      throw new QueryError('execution', 'query processing would load too many samples into memory in query execution');
    }
  }

  private atMs(at: AtModifier | undefined): number | undefined {
    return resolveAt(at, this.o.queryStartMs, this.o.queryEndMs);
  }

  /** Evaluates an expression of type scalar, vector or string over the grid. */
  evaluate(e: Expr, grid: Grid): InstantValue {
    this.checkpoint();
    const before = this.samples;
    const value = this.evaluateNode(e, grid);
    // The node's inputs are released; its result stays in memory until the parent is done.
    const held = value.kind === 'vector' ? countPoints(value.vector) : value.kind === 'scalar' ? grid.steps : 0;
    this.addSamples(held);
    this.samples = before + held;
    return value;
  }

  evalVector(e: Expr, grid: Grid): StepVector {
    const v = this.evaluate(e, grid);
    if (v.kind !== 'vector') throw new QueryError('internal', `expected instant vector, got ${v.kind}`);
    return v.vector;
  }

  evalScalar(e: Expr, grid: Grid): StepScalar {
    const v = this.evaluate(e, grid);
    if (v.kind !== 'scalar') throw new QueryError('internal', `expected scalar, got ${v.kind}`);
    return v.scalar;
  }

  private evaluateNode(e: Expr, grid: Grid): InstantValue {
    switch (e.type) {
      case 'NumberLiteral':
        return { kind: 'scalar', scalar: new Float64Array(grid.steps).fill(e.value) };
      case 'StringLiteral':
        return { kind: 'string', value: e.value };
      case 'ParenExpr':
        return this.evaluateNode(e.expr, grid);
      case 'VectorSelector':
        return { kind: 'vector', vector: this.vectorSelector(e, grid) };
      case 'UnaryExpr': {
        const inner = this.evaluate(e.expr, grid);
        if (e.op === '+') return inner;
        if (inner.kind === 'scalar') return { kind: 'scalar', scalar: inner.scalar.map((v) => -v) };
        if (inner.kind !== 'vector') throw new QueryError('internal', 'unary minus on a string');
        const arrays = new StepArrays(grid.steps, inner.vector.length);
        return {
          kind: 'vector',
          vector: inner.vector.map((s) => {
            const values = arrays.values();
            for (let i = 0; i < values.length; i++) values[i] = -s.values[i]!;
            return { labels: s.labels, values, present: s.present, dropName: true };
          }),
        };
      }
      case 'BinaryExpr':
        return this.binary(e, grid);
      case 'AggregateExpr':
        return { kind: 'vector', vector: this.aggregation(e, grid) };
      case 'Call':
        return this.call(e, grid);
      case 'MatrixSelector':
      case 'SubqueryExpr':
        throw new QueryError('internal', 'a range vector cannot be evaluated as an instant value');
    }
  }

  private vectorSelector(e: VectorSelector, grid: Grid, sampleTimes = false): StepVector {
    const data = this.o.selected.get(e) ?? [];
    const at = this.atMs(e.at);
    const out: StepVector = [];
    const arrays = new StepArrays(grid.steps, data.length);
    const times = sampleTimes ? new Float64Array(grid.steps) : undefined;
    for (let k = 0; k < data.length; k++) {
      if (k % CHECK_EVERY_SERIES === CHECK_EVERY_SERIES - 1) this.checkpoint();
      const s = data[k]!;
      const values = arrays.values();
      const present = arrays.present();
      const n = selectInstant(s.timestamps, s.values, grid, e.offsetMs, at, this.o.lookbackMs, values, present, times);
      if (n === 0) {
        arrays.releaseLast(values, present);
        continue;
      }
      this.addSamples(n);
      if (times) {
        // timestamp(): the selected samples' own times, in seconds.
        for (let i = 0; i < grid.steps; i++) values[i] = times[i]! / 1000;
        out.push({ labels: s.labels, values, present, dropName: true });
      } else out.push({ labels: s.labels, values, present });
    }
    return out;
  }

  private binary(e: BinaryExpr, grid: Grid): InstantValue {
    const lt = typeOf(e.lhs);
    const rt = typeOf(e.rhs);
    if (lt === 'scalar' && rt === 'scalar') {
      return { kind: 'scalar', scalar: scalarBinop(e.op, this.evalScalar(e.lhs, grid), this.evalScalar(e.rhs, grid)) };
    }
    if (lt === 'vector' && rt === 'vector') {
      const lhs = this.evalVector(e.lhs, grid);
      const rhs = this.evalVector(e.rhs, grid);
      const matching = e.matching ?? DEFAULT_MATCHING;
      if (e.op === 'and' || e.op === 'unless') return { kind: 'vector', vector: setBinop(e.op, lhs, rhs, matching, grid.steps) };
      if (e.op === 'or') {
        // A right-hand series can carry the same labels as a left-hand one at other steps: one series.
        const out = setBinop(e.op, lhs, rhs, matching, grid.steps);
        return { kind: 'vector', vector: out.length > lhs.length && lhs.length > 0 ? mergeSameLabels(out) : out };
      }
      return { kind: 'vector', vector: vectorBinop(e.op, lhs, rhs, matching, e.returnBool, grid.steps) };
    }
    if (lt === 'vector' && rt === 'scalar') {
      const lhs = this.evalVector(e.lhs, grid);
      return { kind: 'vector', vector: vectorScalarBinop(e.op, lhs, this.evalScalar(e.rhs, grid), false, e.returnBool) };
    }
    if (lt === 'scalar' && rt === 'vector') {
      const lhs = this.evalScalar(e.lhs, grid);
      return { kind: 'vector', vector: vectorScalarBinop(e.op, this.evalVector(e.rhs, grid), lhs, true, e.returnBool) };
    }
    throw new QueryError('bad_data', `binary expression must contain only scalar and instant vector types`);
  }

  private aggregation(e: AggregateExpr, grid: Grid): StepVector {
    let label: string | undefined;
    let param: StepScalar | undefined;
    if (e.op === 'count_values') {
      const p = this.evaluate(e.param!, grid);
      if (p.kind !== 'string') throw new QueryError('internal', 'count_values needs a string parameter');
      if (!isValidLabelName(p.value)) throw new QueryError('execution', `invalid label name ${goQuote(p.value)}`);
      label = p.value;
    } else if (e.param) {
      param = this.evalScalar(e.param, grid);
    }
    const input = this.evalVector(e.expr, grid);
    return aggregate({ op: e.op, input, grouping: e.grouping, without: e.without, param, label, steps: grid.steps, annotations: this.o.annotations });
  }

  private call(e: Call, grid: Grid): InstantValue {
    if (e.func === 'timestamp') return { kind: 'vector', vector: this.timestamp(e, grid) };
    if (e.func === 'absent_over_time') return { kind: 'vector', vector: this.absentOverTime(e, grid) };
    const fn = this.o.functions[e.func];
    if (!fn) throw new QueryError('bad_data', `unknown function with name "${e.func}"`);
    switch (fn.kind) {
      case 'range':
        return { kind: 'vector', vector: this.rangeCall(e, fn, grid) };
      case 'elementwise':
        return { kind: 'vector', vector: this.elementwiseCall(e, fn, grid) };
      case 'custom':
        return this.customCall(e, fn, grid);
    }
  }

  /** timestamp(v): the selected samples' own times for a selector argument, else the step times. */
  private timestamp(e: Call, grid: Grid): StepVector {
    const arg = unwrapParens(e.args[0]!);
    if (arg.type === 'VectorSelector') return this.vectorSelector(arg, grid, true);
    const input = this.evalVector(arg, grid);
    const arrays = new StepArrays(grid.steps, input.length);
    return input.map((s) => {
      const values = arrays.values();
      for (let i = 0; i < grid.steps; i++) if (s.present[i]) values[i] = stepTime(grid, i) / 1000;
      return { labels: s.labels, values, present: s.present, dropName: true };
    });
  }

  /** absent_over_time(m): 1 at the steps where no series has a sample in its window. */
  private absentOverTime(e: Call, grid: Grid): StepVector {
    const arg = unwrapParens(e.args[0]!);
    const input = this.evalRange(arg, grid);
    const covered = new Uint8Array(grid.steps);
    for (const s of input.series) {
      forEachWindow(input, s, grid, (i, from, to) => {
        if (to > from) covered[i] = 1;
      });
    }
    if (!covered.includes(0)) return [];
    const values = new Float64Array(grid.steps);
    const present = new Uint8Array(grid.steps);
    for (let i = 0; i < grid.steps; i++) {
      if (covered[i]) continue;
      values[i] = 1;
      present[i] = 1;
    }
    return [{ labels: absentLabels(arg), values, present }];
  }

  private rangeCall(e: Call, fn: RangeFunction, grid: Grid): StepVector {
    const input = this.evalRange(unwrapParens(e.args[fn.matrixArg]!), grid);
    const params: StepScalar[] = [];
    for (let a = 0; a < e.args.length; a++) if (a !== fn.matrixArg) params.push(this.evalScalar(e.args[a]!, grid));
    const paramBuf: number[] = new Array<number>(params.length).fill(0);
    const out: StepVector = [];
    const annotations = this.o.annotations;
    const w: RangeWindow = {
      timestamps: new Float64Array(0),
      values: new Float64Array(0),
      from: 0,
      to: 0,
      rangeStartMs: 0,
      rangeEndMs: 0,
      evalTimeMs: 0,
      labels: [],
    };
    let held = 0;
    const { atMs, offsetMs, rangeMs } = input;
    const steps = grid.steps;
    const arrays = new StepArrays(steps, input.series.length);
    for (let k = 0; k < input.series.length; k++) {
      if (k % CHECK_EVERY_SERIES === CHECK_EVERY_SERIES - 1) this.checkpoint();
      const s = input.series[k]!;
      const ts = s.timestamps;
      const n = ts.length;
      w.timestamps = ts;
      w.values = s.values;
      w.labels = s.labels;
      const values = arrays.values();
      const present = arrays.present();
      let count = 0;
      let widest = 0;
      // Two pointers over the left-open windows (end − range, end] (inlined forEachWindow: this is the hot loop).
      let lo = 0;
      let hi = 0;
      for (let i = 0; i < steps; i++) {
        const evalT = grid.startMs + i * grid.intervalMs;
        const end = (atMs ?? evalT) - offsetMs;
        const start = end - rangeMs;
        if (i === 0 || atMs === undefined) {
          while (hi < n && ts[hi]! <= end) hi++;
          if (lo > hi) lo = hi;
          while (lo < hi && ts[lo]! <= start) lo++;
        }
        if (lo === hi) continue;
        if (hi - lo > widest) widest = hi - lo;
        w.from = lo;
        w.to = hi;
        w.rangeStartMs = start;
        w.rangeEndMs = end;
        w.evalTimeMs = evalT;
        for (let p = 0; p < params.length; p++) paramBuf[p] = params[p]![i]!;
        const r = fn.apply(w, paramBuf, annotations);
        if (r === undefined) continue;
        values[i] = r;
        present[i] = 1;
        count++;
      }
      // The window's samples are in memory while this series is processed, its output afterwards.
      this.addSamples(widest + count);
      this.samples -= widest;
      held += count;
      if (count > 0) out.push({ labels: s.labels, values, present, dropName: !fn.keepsName || s.dropName });
      else arrays.releaseLast(values, present);
    }
    this.samples -= held; // evaluate() accounts for the result
    return out;
  }

  private elementwiseCall(e: Call, fn: ElementwiseFunction, grid: Grid): StepVector {
    let input: StepVector;
    if (e.args.length === 0) {
      if (!fn.defaultsToTime) throw new QueryError('bad_data', `function "${e.func}" needs an argument`);
      // hour(), minute(), …: vector(time()).
      const values = new Float64Array(grid.steps);
      for (let i = 0; i < grid.steps; i++) values[i] = stepTime(grid, i) / 1000;
      input = [{ labels: [], values, present: new Uint8Array(grid.steps).fill(1) }];
    } else input = this.evalVector(e.args[0]!, grid);
    const params: StepScalar[] = [];
    for (let a = 1; a < e.args.length; a++) params.push(this.evalScalar(e.args[a]!, grid));
    const paramBuf: number[] = new Array<number>(params.length).fill(0);
    const out: StepVector = [];
    const arrays = new StepArrays(grid.steps, input.length);
    for (const s of input) {
      const values = arrays.values();
      let present = s.present;
      let dropped = false;
      let count = 0;
      for (let i = 0; i < grid.steps; i++) {
        if (!s.present[i]) continue;
        for (let p = 0; p < params.length; p++) paramBuf[p] = params[p]![i]!;
        const r = fn.apply(s.values[i]!, paramBuf, stepTime(grid, i));
        if (r === undefined) {
          if (!dropped) {
            present = present.slice();
            dropped = true;
          }
          present[i] = 0;
          continue;
        }
        values[i] = r;
        count++;
      }
      if (count > 0) out.push({ labels: s.labels, values, present, dropName: true });
    }
    return out;
  }

  private customCall(e: Call, fn: CustomFunction, grid: Grid): InstantValue {
    const args: EvaluatedArg[] = e.args.map((a) => {
      const v = this.evaluate(a, grid);
      return v.kind === 'vector' ? v.vector : v.kind === 'scalar' ? v.scalar : v.value;
    });
    const result = fn.call(args, { grid, annotations: this.o.annotations, argExprs: e.args });
    if (result instanceof Float64Array) return { kind: 'scalar', scalar: result };
    // label_replace/label_join can make label sets equal.
    return { kind: 'vector', vector: mergeSameLabels(result) };
  }

  /** The samples and windows of a range-vector expression (matrix selector or subquery). */
  evalRange(e: Expr, grid: Grid): RangeInput {
    const node = unwrapParens(e);
    if (node.type === 'MatrixSelector') return this.matrixSelector(node);
    if (node.type === 'SubqueryExpr') return this.subquery(node, grid);
    throw new QueryError('internal', `expected a range vector, got ${node.type}`);
  }

  private matrixSelector(e: MatrixSelector): RangeInput {
    const data = this.o.selected.get(e.vector) ?? [];
    const series: RangeSeries[] = [];
    for (const s of data) {
      const clean = withoutStaleMarkers(s.timestamps, s.values);
      if (clean.timestamps.length === 0) continue;
      series.push({ labels: s.labels, timestamps: clean.timestamps, values: clean.values, dropName: false });
    }
    return { series, rangeMs: e.rangeMs, offsetMs: e.vector.offsetMs, atMs: this.atMs(e.vector.at) };
  }

  /**
   * A subquery: its expression evaluated once over the steps aligned to multiples of the subquery
   * step that fall in the union of all outer windows; each series' present points are its samples.
   */
  private subquery(e: SubqueryExpr, grid: Grid): RangeInput {
    const at = this.atMs(e.at);
    const inner = subqueryGrid(e, grid, at, this.o.defaultSubqueryStepMs);
    const series: RangeSeries[] = [];
    if (inner.steps > 0) {
      const v = this.evaluate(e.expr, inner);
      const vec: StepVector =
        v.kind === 'vector' ? v.vector : v.kind === 'scalar' ? [{ labels: [], values: v.scalar, present: new Uint8Array(inner.steps).fill(1) }] : [];
      for (const s of vec) {
        let n = 0;
        for (let i = 0; i < inner.steps; i++) if (s.present[i]) n++;
        if (n === 0) continue;
        const timestamps = new Float64Array(n);
        const values = new Float64Array(n);
        let j = 0;
        for (let i = 0; i < inner.steps; i++) {
          if (!s.present[i]) continue;
          timestamps[j] = stepTime(inner, i);
          values[j] = s.values[i]!;
          j++;
        }
        series.push({ labels: s.labels, timestamps, values, dropName: s.dropName === true });
      }
    }
    return { series, rangeMs: e.rangeMs, offsetMs: e.offsetMs, atMs: at };
  }
}

/** The inner grid of a subquery (Prometheus' subqueryTimeRange): steps at multiples of the subquery step. */
export function subqueryGrid(e: SubqueryExpr, outer: Grid, atMs: number | undefined, defaultStepMs: number): Grid {
  const step = e.stepMs > 0 ? e.stepMs : defaultStepMs;
  const outerStart = atMs ?? outer.startMs;
  const outerEnd = atMs ?? outer.startMs + (outer.steps - 1) * outer.intervalMs;
  const lowest = outerStart - e.offsetMs - e.rangeMs;
  let start = step * Math.trunc(lowest / step);
  if (start <= lowest) start += step;
  const end = outerEnd - e.offsetMs;
  const steps = end >= start ? Math.floor((end - start) / step) + 1 : 0;
  return { startMs: start, intervalMs: step, steps };
}

/**
 * Calls `visit(step, from, to, windowStart, windowEnd)` for every step with the sample index range of
 * the left-open window (end − range, end], end = (@ time or step time) − offset.
 */
export function forEachWindow(
  input: RangeInput,
  s: RangeSeries,
  grid: Grid,
  visit: (step: number, from: number, to: number, startMs: number, endMs: number) => void,
): void {
  const ts = s.timestamps;
  const n = ts.length;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < grid.steps; i++) {
    const end = (input.atMs ?? grid.startMs + i * grid.intervalMs) - input.offsetMs;
    const start = end - input.rangeMs;
    if (i === 0 || input.atMs === undefined) {
      while (hi < n && ts[hi]! <= end) hi++;
      if (lo > hi) lo = hi;
      while (lo < hi && ts[lo]! <= start) lo++;
    }
    visit(i, lo, hi, start, end);
  }
}

function countPoints(vec: StepVector): number {
  let n = 0;
  for (const s of vec) {
    const p = s.present;
    for (let i = 0; i < p.length; i++) n += p[i]!;
  }
  return n;
}

/**
 * Series with equal label sets become one when they never have a value at the same step (Prometheus
 * keys its per-step output by label set); a step with two values is an error.
 */
export function mergeSameLabels(vec: StepVector, labelsOf: (s: StepSeries) => Labels = (s) => s.labels): StepVector {
  if (vec.length === 0) return vec;
  if (vec.length === 1) {
    const labels = labelsOf(vec[0]!);
    return labels === vec[0]!.labels ? vec : [{ ...vec[0]!, labels }];
  }
  const byKey = new Map<string, number>();
  const out: StepSeries[] = [];
  for (const s of vec) {
    const labels = labelsOf(s);
    const key = labelsKey(labels);
    const idx = byKey.get(key);
    if (idx === undefined) {
      byKey.set(key, out.length);
      out.push(labels === s.labels ? s : { ...s, labels });
      continue;
    }
    const base = out[idx]!;
    const values = base.values.slice();
    const present = base.present.slice();
    for (let i = 0; i < present.length; i++) {
      if (!s.present[i]) continue;
      if (present[i]) throw new QueryError('execution', 'vector cannot contain metrics with the same labelset');
      present[i] = 1;
      values[i] = s.values[i]!;
    }
    out[idx] = { labels: base.labels, values, present, dropName: base.dropName === true || s.dropName === true };
  }
  return out;
}

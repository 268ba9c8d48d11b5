// Aggregation operators over step vectors (Prometheus' aggregation, aggregationK and
// aggregationCountValues). Each input series is mapped to its group once; the accumulators are
// typed arrays indexed by group × step, so the per-sample work allocates nothing.

import type { Labels } from '../storage.js';
import type { AggregateOp } from './ast.js';
import { QueryError } from './errors.js';
import { formatGoFloatPlain, formatGoG } from './go-format.js';
import { kahanAddAt, kahanInc, kahanOut } from './kahan.js';
import { keepLabels, labelsKey, METRIC_NAME, setLabel } from './label-set.js';
import { StepArrays } from './step-arrays.js';
import type { Annotations, StepScalar, StepSeries, StepVector } from './values.js';

export interface AggregateInput {
  op: AggregateOp;
  input: StepVector;
  grouping: readonly string[];
  without: boolean;
  /** k, φ or ratio per step (topk, bottomk, limitk, quantile, limit_ratio). */
  param?: StepScalar;
  /** The label of count_values. */
  label?: string;
  steps: number;
  annotations: Annotations;
}

export function aggregate(a: AggregateInput): StepVector {
  switch (a.op) {
    case 'topk':
    case 'bottomk':
    case 'limitk':
    case 'limit_ratio':
      return aggregateK(a);
    case 'count_values':
      return countValues(a);
    case 'quantile':
      return aggregateQuantile(a);
    default:
      return aggregateSimple(a);
  }
}

interface Groups {
  /** Group index of each input series. */
  groupOf: Int32Array;
  /** Output labels of each group, in first-seen order. */
  labels: Labels[];
}

/** The group labels of a series: `by` keeps the listed labels, `without` drops them and `__name__`. */
export function groupingLabels(labels: Labels, grouping: ReadonlySet<string>, without: boolean): Labels {
  if (without) return labels.filter(([n]) => n !== METRIC_NAME && !grouping.has(n));
  return keepLabels(labels, grouping);
}

function groupSeries(input: StepVector, grouping: readonly string[], without: boolean): Groups {
  const names = new Set(grouping);
  const byKey = new Map<string, number>();
  const labels: Labels[] = [];
  const groupOf = new Int32Array(input.length);
  for (let s = 0; s < input.length; s++) {
    const gl = groupingLabels(input[s]!.labels, names, without);
    const key = labelsKey(gl);
    let g = byKey.get(key);
    if (g === undefined) {
      g = labels.length;
      byKey.set(key, g);
      labels.push(gl);
    }
    groupOf[s] = g;
  }
  return { groupOf, labels };
}

/** sum, avg, min, max, count, group, stddev, stdvar: one accumulator cell per group and step. */
function aggregateSimple(a: AggregateInput): StepVector {
  const { op, input, steps } = a;
  const { groupOf, labels } = groupSeries(input, a.grouping, a.without);
  const cells = labels.length * steps;
  const seen = new Uint8Array(cells);
  const value = new Float64Array(cells);
  const comp = op === 'sum' || op === 'avg' ? new Float64Array(cells) : undefined;
  const count = op === 'avg' || op === 'count' || op === 'stddev' || op === 'stdvar' ? new Float64Array(cells) : undefined;
  const mean = op === 'avg' || op === 'stddev' || op === 'stdvar' ? new Float64Array(cells) : undefined;
  const incremental = op === 'avg' ? new Uint8Array(cells) : undefined;
  const dropName = new Uint8Array(labels.length);

  for (let s = 0; s < input.length; s++) {
    const series = input[s]!;
    const g = groupOf[s]!;
    if (series.dropName) dropName[g] = 1;
    const base = g * steps;
    const vals = series.values;
    const pres = series.present;
    for (let i = 0; i < steps; i++) {
      if (!pres[i]) continue;
      const f = vals[i]!;
      const c = base + i;
      if (!seen[c]) {
        seen[c] = 1;
        switch (op) {
          case 'stddev':
          case 'stdvar':
            count![c] = 1;
            mean![c] = f;
            value[c] = f !== f || f === Infinity || f === -Infinity ? NaN : 0;
            break;
          case 'group':
            value[c] = 1;
            break;
          case 'count':
            count![c] = 1;
            break;
          case 'avg':
            count![c] = 1;
            mean![c] = f;
            value[c] = f;
            break;
          default:
            value[c] = f;
        }
        continue;
      }
      switch (op) {
        case 'sum':
          kahanAddAt(value, comp!, c, f);
          break;
        case 'avg': {
          // Direct mean with Kahan summation while the sum stays finite, then the incremental mean
          // (Prometheus' overflow fallback).
          const n = ++count![c];
          if (!incremental![c]) {
            const t = kahanInc(f, value[c]!, comp![c]!);
            if (t !== Infinity && t !== -Infinity) {
              value[c] = t;
              comp![c] = kahanOut.c;
              break;
            }
            incremental![c] = 1;
            mean![c] = value[c]! / (n - 1);
            comp![c] = comp![c]! / (n - 1);
          }
          const q = (n - 1) / n;
          mean![c] = kahanInc(f / n, q * mean![c]!, q * comp![c]!);
          comp![c] = kahanOut.c;
          break;
        }
        case 'max':
          if (value[c]! < f || value[c] !== value[c]) value[c] = f;
          break;
        case 'min':
          if (value[c]! > f || value[c] !== value[c]) value[c] = f;
          break;
        case 'count':
          count![c]++;
          break;
        case 'group':
          break;
        case 'stddev':
        case 'stdvar': {
          const n = ++count![c];
          const delta = f - mean![c]!;
          mean![c] += delta / n;
          value[c] += delta * (f - mean![c]!);
          break;
        }
        default:
          throw new QueryError('internal', `unexpected aggregation ${op}`);
      }
    }
  }

  const out: StepVector = [];
  const arrays = new StepArrays(steps, labels.length);
  for (let g = 0; g < labels.length; g++) {
    const base = g * steps;
    let any = false;
    const values = arrays.values();
    const present = arrays.present();
    for (let i = 0; i < steps; i++) {
      const c = base + i;
      if (!seen[c]) continue;
      any = true;
      present[i] = 1;
      switch (op) {
        case 'sum':
          values[i] = value[c]! + comp![c]!;
          break;
        case 'avg':
          values[i] = incremental![c] ? mean![c]! + comp![c]! : value[c]! / count![c]! + comp![c]! / count![c]!;
          break;
        case 'count':
          values[i] = count![c]!;
          break;
        case 'stdvar':
          values[i] = value[c]! / count![c]!;
          break;
        case 'stddev':
          values[i] = Math.sqrt(value[c]! / count![c]!);
          break;
        default:
          values[i] = value[c]!;
      }
    }
    if (any) out.push({ labels: labels[g]!, values, present, dropName: dropName[g] === 1 });
    else arrays.releaseLast(values, present);
  }
  return out;
}

/** φ-quantile of sorted values, interpolating between the neighbouring ranks (Prometheus' quantile). */
export function quantileOfSorted(q: number, sorted: Float64Array, from: number, to: number): number {
  const n = to - from;
  if (n === 0 || q !== q) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return sorted[from + lower]! * (1 - weight) + sorted[from + upper]! * weight;
}

/** Sorts ascending with NaN first (Prometheus' vectorByValueHeap order). */
function sortNaNFirst(buf: Float64Array, from: number, to: number): void {
  const slice = buf.subarray(from, to);
  slice.sort(); // numeric, NaN last
  let nans = 0;
  while (nans < slice.length && slice[slice.length - 1 - nans] !== slice[slice.length - 1 - nans]) nans++;
  if (nans === 0) return;
  slice.copyWithin(nans, 0, slice.length - nans);
  slice.fill(NaN, 0, nans);
}

function paramStats(param: StepScalar | undefined, steps: number): { min: number; max: number; hasNaN: boolean } {
  // Go's math.Min/Max propagate NaN.
  let min = Number.MAX_VALUE;
  let max = -Number.MAX_VALUE;
  let hasNaN = false;
  if (!param) return { min: 0, max: 0, hasNaN: false };
  for (let i = 0; i < steps; i++) {
    const v = param[i]!;
    if (v !== v) {
      hasNaN = true;
      min = NaN;
      max = NaN;
    } else if (min === min) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return { min, max, hasNaN };
}

function aggregateQuantile(a: AggregateInput): StepVector {
  const { input, steps } = a;
  const param = a.param!;
  const stats = paramStats(param, steps);
  if (stats.hasNaN) a.annotations.warn(`PromQL warning: quantile value should be between 0 and 1, got NaN`);
  if (stats.max > 1) a.annotations.warn(`PromQL warning: quantile value should be between 0 and 1, got ${formatGoG(stats.max)}`);
  if (stats.min < 0) a.annotations.warn(`PromQL warning: quantile value should be between 0 and 1, got ${formatGoG(stats.min)}`);
  const { groupOf, labels } = groupSeries(input, a.grouping, a.without);
  const G = labels.length;
  // Each group's values at one step go to buf[offset[g] .. offset[g] + fill[g]).
  const offset = new Int32Array(G + 1);
  for (let s = 0; s < input.length; s++) offset[groupOf[s]! + 1]++;
  for (let g = 0; g < G; g++) offset[g + 1] += offset[g]!;
  const fill = new Int32Array(G);
  const buf = new Float64Array(input.length);
  const arrays = new StepArrays(steps, G);
  const values = labels.map(() => arrays.values());
  const present = labels.map(() => arrays.present());
  const dropName = new Uint8Array(G);
  for (let s = 0; s < input.length; s++) if (input[s]!.dropName) dropName[groupOf[s]!] = 1;
  for (let i = 0; i < steps; i++) {
    fill.fill(0);
    for (let s = 0; s < input.length; s++) {
      const series = input[s]!;
      if (!series.present[i]) continue;
      const g = groupOf[s]!;
      buf[offset[g]! + fill[g]!] = series.values[i]!;
      fill[g]++;
    }
    for (let g = 0; g < G; g++) {
      if (fill[g] === 0) continue;
      const from = offset[g]!;
      const to = from + fill[g]!;
      sortNaNFirst(buf, from, to);
      values[g]![i] = quantileOfSorted(param[i]!, buf, from, to);
      present[g]![i] = 1;
    }
  }
  const out: StepVector = [];
  for (let g = 0; g < G; g++) {
    if (present[g]!.includes(1)) out.push({ labels: labels[g]!, values: values[g]!, present: present[g]!, dropName: dropName[g] === 1 });
  }
  return out;
}

const MAX_INT64 = 2 ** 63; // float64(math.MaxInt64) rounds up to 2^63
const MIN_INT64 = -(2 ** 63);

/** topk, bottomk, limitk, limit_ratio: the selected input series keep their labels. */
function aggregateK(a: AggregateInput): StepVector {
  const { op, input, steps } = a;
  const param = a.param!;
  const stats = paramStats(param, steps);
  if (op === 'limit_ratio') {
    if (stats.max === 0 && stats.min === 0) return [];
    if (stats.hasNaN) throw new QueryError('execution', 'Ratio value is NaN');
    if (stats.max > 1) a.annotations.warn(`PromQL warning: ratio value should be between -1 and 1, got ${formatGoG(stats.max)}, capping to 1`);
    if (stats.min < -1) a.annotations.warn(`PromQL warning: ratio value should be between -1 and 1, got ${formatGoG(stats.min)}, capping to -1`);
  } else {
    if (stats.max < 1) return [];
    if (stats.hasNaN) throw new QueryError('execution', 'Parameter value is NaN');
    if (stats.min <= MIN_INT64) throw new QueryError('execution', `Scalar value ${formatGoG(stats.min)} underflows int64`);
    if (stats.max >= MAX_INT64) throw new QueryError('execution', `Scalar value ${formatGoG(stats.max)} overflows int64`);
  }
  const { groupOf, labels } = groupSeries(input, a.grouping, a.without);
  const G = labels.length;
  const N = input.length;
  // Per group, a binary heap of input series indexes (Go container/heap semantics, so ties resolve as in Prometheus).
  const heapOffset = new Int32Array(G + 1);
  for (let s = 0; s < N; s++) heapOffset[groupOf[s]! + 1]++;
  for (let g = 0; g < G; g++) heapOffset[g + 1] += heapOffset[g]!;
  const heapLen = new Int32Array(G);
  const heap = new Int32Array(N);
  const ratioOffsets = op === 'limit_ratio' ? input.map((s) => ratioSampleOffset(s.labels)) : undefined;
  const singleStep = steps === 1;
  const instantOrder: number[] = [];
  const selected: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(N);
  const arrays = new StepArrays(steps, Math.min(N, 64));

  for (let i = 0; i < steps; i++) {
    const p = param[i]!;
    let k = 0;
    let ratio = 0;
    if (op === 'limit_ratio') {
      if (p === 0) continue;
      ratio = p < -1 ? -1 : p > 1 ? 1 : p;
    } else {
      k = Math.min(Math.trunc(p), N);
      if (k < 1) continue;
    }
    heapLen.fill(0);
    // Less(x, y) of the heap: for topk/limitk/limit_ratio the smallest value (NaN smallest) on top;
    // for bottomk the biggest (NaN still "smallest", i.e. on top).
    const less = (x: number, y: number): boolean => {
      const vx = input[x]!.values[i]!;
      const vy = input[y]!.values[i]!;
      if (vx !== vx) return true;
      return op === 'bottomk' ? vx > vy : vx < vy;
    };
    const up = (base: number, j: number): void => {
      while (j > 0) {
        const parent = (j - 1) >> 1;
        if (parent === j || !less(heap[base + j]!, heap[base + parent]!)) break;
        const t = heap[base + parent]!;
        heap[base + parent] = heap[base + j]!;
        heap[base + j] = t;
        j = parent;
      }
    };
    const down = (base: number, i0: number, n: number): boolean => {
      let j = i0;
      for (;;) {
        const j1 = 2 * j + 1;
        if (j1 >= n || j1 < 0) break;
        let c = j1;
        const j2 = j1 + 1;
        if (j2 < n && less(heap[base + j2]!, heap[base + j1]!)) c = j2;
        if (!less(heap[base + c]!, heap[base + j]!)) break;
        const t = heap[base + j]!;
        heap[base + j] = heap[base + c]!;
        heap[base + c] = t;
        j = c;
      }
      return j > i0;
    };
    for (let s = 0; s < N; s++) {
      const series = input[s]!;
      if (!series.present[i]) continue;
      const g = groupOf[s]!;
      const base = heapOffset[g]!;
      const n = heapLen[g]!;
      const v = series.values[i]!;
      switch (op) {
        case 'topk':
        case 'bottomk': {
          if (n < k) {
            heap[base + n] = s;
            heapLen[g] = n + 1;
            up(base, n);
            break;
          }
          const top = input[heap[base]!]!.values[i]!;
          const replace = op === 'topk' ? top < v || (top !== top && v === v) : top > v || (top !== top && v === v);
          if (replace) {
            heap[base] = s;
            if (k > 1 && !down(base, 0, n)) up(base, 0);
          }
          break;
        }
        case 'limitk':
          if (n < k) {
            heap[base + n] = s;
            heapLen[g] = n + 1;
            if (n > 0) up(base, n);
          }
          break;
        case 'limit_ratio': {
          const off = ratioOffsets![s]!;
          if ((ratio >= 0 && off < ratio) || (ratio < 0 && off >= 1 + ratio)) {
            heap[base + n] = s;
            heapLen[g] = n + 1;
            up(base, n);
          }
          break;
        }
        default:
          break;
      }
    }
    for (let g = 0; g < G; g++) {
      const base = heapOffset[g]!;
      const n = heapLen[g]!;
      if (op === 'topk' || op === 'bottomk') {
        // sort.Sort(sort.Reverse(heap)): insertion sort with the reversed Less.
        for (let x = 1; x < n; x++) {
          for (let y = x; y > 0 && less(heap[base + y - 1]!, heap[base + y]!); y--) {
            const t = heap[base + y]!;
            heap[base + y] = heap[base + y - 1]!;
            heap[base + y - 1] = t;
          }
        }
      }
      for (let x = 0; x < n; x++) {
        const s = heap[base + x]!;
        if (singleStep) instantOrder.push(s);
        (selected[s] ??= arrays.present())[i] = 1;
      }
    }
  }

  const out: StepVector = [];
  const emit = (s: number): void => {
    const series = input[s]!;
    const present = selected[s]!;
    const values = arrays.values();
    for (let i = 0; i < steps; i++) if (present[i]) values[i] = series.values[i]!;
    out.push({ labels: series.labels, values, present, dropName: series.dropName });
  };
  if (singleStep) for (const s of instantOrder) emit(s);
  else for (let s = 0; s < N; s++) if (selected[s]) emit(s);
  return out;
}

/** count_values: one output series per group and distinct value, the value rendered into `label`. */
function countValues(a: AggregateInput): StepVector {
  const { input, steps } = a;
  const label = a.label!;
  const names = new Set(a.grouping);
  if (!a.without) names.add(label);
  const outByKey = new Map<string, StepSeries>();
  const out: StepVector = [];
  const arrays = new StepArrays(steps);
  const formatted = new Map<number, string>();
  for (let i = 0; i < steps; i++) {
    for (const s of input) {
      if (!s.present[i]) continue;
      const v = s.values[i]!;
      // The cache's Map keys cannot tell -0 from 0, which print differently.
      let text = v === 0 ? undefined : formatted.get(v);
      if (text === undefined) {
        text = formatGoFloatPlain(v);
        formatted.set(v, text);
      }
      const labels = groupingLabels(setLabel(s.labels, label, text), names, a.without);
      const key = labelsKey(labels);
      let target = outByKey.get(key);
      if (!target) {
        target = { labels, values: arrays.values(), present: arrays.present() };
        outByKey.set(key, target);
        out.push(target);
      }
      target.present[i] = 1;
      target.values[i]++;
    }
  }
  return out;
}

/**
 * The position of a series in [0, 1) that limit_ratio compares with the ratio. Prometheus uses the
 * xxhash of the label set; this is a stable 53-bit FNV-1a over the same bytes (consistent across
 * steps and queries, but not the same series as Prometheus picks).
 */
function ratioSampleOffset(labels: Labels): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const key = labelsKey(labels);
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return ((h1 >>> 0) * 2 ** 21 + (h2 >>> 11)) / 2 ** 53;
}

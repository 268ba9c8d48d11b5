// histogram_quantile and histogram_fraction over classic histograms: series with an `le` label
// holding cumulative bucket counts. Series are grouped by all their labels except `le` (the metric
// name included, so differently named histograms stay apart); each group with at least one bucket
// present at a step yields a value there. Native histograms are not stored by Kiln, so the
// native-only functions (histogram_count, ...) always return an empty vector.

import type { Labels } from '../../storage.js';
import type { Annotations, StepScalar, StepSeries, StepVector } from '../values.js';
import type { CallContext, CustomFunction } from './types.js';
import { dropLabels, getLabel, labelsKey } from '../label-set.js';
import { goQuote, formatGoG } from '../go-format.js';

// Relative differences between neighbouring buckets below this are float noise and ignored.
const SMALL_DELTA_TOLERANCE = 1e-12;

const LE = new Set(['le']);

/** Go's strconv.ParseFloat(s, 64) for the forms `le` values take; undefined on a syntax error. */
export function parseGoFloat(s: string): number | undefined {
  if (/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(s)) return Number(s);
  if (/^[+-]?(?:inf|infinity)$/i.test(s)) return s[0] === '-' ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  return undefined;
}

interface BucketGroup {
  labels: Labels;
  /** Indices into the input vector, ordered by upper bound. */
  members: number[];
  upperBounds: Float64Array;
}

/** Groups the input's bucket series; warns (per step present) about series without a valid `le`. */
function groupBuckets(input: StepVector, steps: number, annotations: Annotations): BucketGroup[] {
  const byKey = new Map<string, { labels: Labels; members: Array<{ index: number; upper: number }> }>();
  for (let index = 0; index < input.length; index++) {
    const s = input[index]!;
    const le = getLabel(s.labels, 'le');
    const upper = parseGoFloat(le);
    if (upper === undefined) {
      for (let step = 0; step < steps; step++) {
        if (s.present[step] === 1) {
          annotations.warn(`PromQL warning: bucket label "le" is missing or has a malformed value of ${goQuote(le)} for metric name ${goQuote(getLabel(s.labels, '__name__'))}`);
          break;
        }
      }
      continue;
    }
    const labels = dropLabels(s.labels, LE);
    const key = labelsKey(labels);
    let group = byKey.get(key);
    if (group === undefined) {
      group = { labels, members: [] };
      byKey.set(key, group);
    }
    group.members.push({ index, upper });
  }
  const groups: BucketGroup[] = [];
  for (const g of byKey.values()) {
    g.members.sort((a, b) => a.upper - b.upper);
    groups.push({ labels: g.labels, members: g.members.map((m) => m.index), upperBounds: Float64Array.from(g.members, (m) => m.upper) });
  }
  return groups;
}

// One step's buckets of one group: upper bounds ascending, counts; reused across calls.
let bucketUpper = new Float64Array(32);
let bucketCount = new Float64Array(32);

/** Gathers the group's buckets present at `step`, merging equal upper bounds; returns their number. */
function collectBuckets(input: StepVector, group: BucketGroup, step: number): number {
  if (bucketUpper.length < group.members.length) {
    bucketUpper = new Float64Array(group.members.length * 2);
    bucketCount = new Float64Array(group.members.length * 2);
  }
  let n = 0;
  for (let m = 0; m < group.members.length; m++) {
    const s = input[group.members[m]!]!;
    if (s.present[step] !== 1) continue;
    const upper = group.upperBounds[m]!;
    if (n > 0 && bucketUpper[n - 1] === upper) {
      bucketCount[n - 1] += s.values[step]!;
    } else {
      bucketUpper[n] = upper;
      bucketCount[n] = s.values[step]!;
      n++;
    }
  }
  return n;
}

const MIN_NORMAL = 2.2250738585072014e-308;

/** Relative float comparison (Prometheus' util/almost.Equal); two NaNs are equal. */
function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (a !== a && b !== b) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

/**
 * Makes the counts non-decreasing: tiny relative differences are float noise and flattened
 * silently, real decreases are raised to the previous count. Returns true if a real fix was needed.
 */
function forceMonotonic(n: number): boolean {
  let forced = false;
  let prev = bucketCount[0]!;
  for (let i = 1; i < n; i++) {
    const cur = bucketCount[i]!;
    if (cur === prev) continue;
    if (almostEqual(prev, cur, SMALL_DELTA_TOLERANCE)) {
      bucketCount[i] = prev;
      continue;
    }
    if (cur < prev) {
      bucketCount[i] = prev;
      forced = true;
      continue;
    }
    prev = cur;
  }
  return forced;
}

let monotonicityForced = false;

/**
 * The φ-quantile of the collected buckets (spec §4.7), with linear interpolation inside the
 * bucket holding the rank; the lowest bucket starts at 0 when its upper bound is positive, and a
 * rank in the +Inf bucket yields the second-highest upper bound. Sets monotonicityForced.
 */
export function bucketQuantile(q: number, n: number): number {
  monotonicityForced = false;
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (n === 0 || bucketUpper[n - 1] !== Infinity) return NaN;
  const forced = forceMonotonic(n);
  if (n < 2) return NaN;
  const observations = bucketCount[n - 1]!;
  if (observations === 0) return NaN;
  monotonicityForced = forced;
  let rank = q * observations;
  let b = 0;
  while (b < n - 1 && !(bucketCount[b]! >= rank)) b++;
  if (b === n - 1) return bucketUpper[n - 2]!;
  if (b === 0 && bucketUpper[0]! <= 0) return bucketUpper[0]!;
  let start = 0;
  const end = bucketUpper[b]!;
  let count = bucketCount[b]!;
  if (b > 0) {
    start = bucketUpper[b - 1]!;
    count -= bucketCount[b - 1]!;
    rank -= bucketCount[b - 1]!;
  }
  return start + (end - start) * (rank / count);
}

/**
 * The rank of `v` inside a bucket. An infinite bucket has no meaningful interpolation: the +Inf
 * bucket contributes nothing (the formula gives its start), and a bucket from −Inf counts whole
 * (Prometheus after v3.5, which got NaN there).
 */
function interpolate(rank: number, count: number, v: number, lowerBound: number, upperBound: number): number {
  if (lowerBound === -Infinity) return count;
  return rank + ((count - rank) * (v - lowerBound)) / (upperBound - lowerBound);
}

/** Fraction of observations between `lower` and `upper`, interpolating linearly inside buckets. */
function bucketFraction(lower: number, upper: number, n: number): number {
  if (n === 0 || bucketUpper[n - 1] !== Infinity) return NaN;
  const total = bucketCount[n - 1]!;
  if (total === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  // Positive buckets only (the lowest bound above 0) start at 0, as in histogram_quantile.
  for (let i = 0; i < n; i++) {
    const lowerBound = i > 0 ? bucketUpper[i - 1]! : bucketUpper[0]! > 0 ? 0 : -Infinity;
    const upperBound = bucketUpper[i]!;
    const count = bucketCount[i]!;
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = interpolate(rank, count, lower, lowerBound, upperBound);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = interpolate(rank, count, upper, lowerBound, upperBound);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = count;
  }
  if (!lowerSet || lowerRank > total) lowerRank = total;
  if (!upperSet || upperRank > total) upperRank = total;
  return (upperRank - lowerRank) / total;
}

function newSeries(labels: Labels, steps: number): StepSeries {
  return { labels, values: new Float64Array(steps), present: new Uint8Array(steps), dropName: true };
}

export const histogramQuantile: CustomFunction = {
  kind: 'custom',
  call(args, ctx: CallContext) {
    const qs = args[0] as StepScalar;
    const input = args[1] as StepVector;
    const steps = ctx.grid.steps;
    for (let step = 0; step < steps; step++) {
      const q = qs[step]!;
      if (!(q >= 0 && q <= 1)) ctx.annotations.warn(`PromQL warning: quantile value should be between 0 and 1, got ${formatGoG(q)}`);
    }
    const out: StepVector = [];
    for (const group of groupBuckets(input, steps, ctx.annotations)) {
      const series = newSeries(group.labels, steps);
      let forced = false;
      let any = false;
      for (let step = 0; step < steps; step++) {
        const n = collectBuckets(input, group, step);
        if (n === 0) continue;
        series.values[step] = bucketQuantile(qs[step]!, n);
        series.present[step] = 1;
        any = true;
        if (monotonicityForced) forced = true;
      }
      if (forced) {
        ctx.annotations.info(
          `PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name ${goQuote(getLabel(group.labels, '__name__'))}`,
        );
      }
      if (any) out.push(series);
    }
    return out;
  },
};

export const histogramFraction: CustomFunction = {
  kind: 'custom',
  call(args, ctx: CallContext) {
    const lowers = args[0] as StepScalar;
    const uppers = args[1] as StepScalar;
    const input = args[2] as StepVector;
    const steps = ctx.grid.steps;
    const out: StepVector = [];
    for (const group of groupBuckets(input, steps, ctx.annotations)) {
      const series = newSeries(group.labels, steps);
      let any = false;
      for (let step = 0; step < steps; step++) {
        const n = collectBuckets(input, group, step);
        if (n === 0) continue;
        series.values[step] = bucketFraction(lowers[step]!, uppers[step]!, n);
        series.present[step] = 1;
        any = true;
      }
      if (any) out.push(series);
    }
    return out;
  },
};

/** Functions of native histograms: Kiln stores floats only, so there is never an input to act on. */
export const nativeHistogramOnly: CustomFunction = {
  kind: 'custom',
  call() {
    return [];
  },
};

// φ-quantile of a set of floats (quantile_over_time, mad_over_time, and the `quantile` aggregator):
// sort ascending, rank φ·(n−1), linear interpolation between the two neighbouring values. NaN sorts
// below every number, as Prometheus' value ordering puts it.
// φ < 0 → −Inf, φ > 1 → +Inf, φ NaN or no values → NaN.

let scratch = new Float64Array(64);

/** A reusable buffer of at least `n` floats (contents undefined). */
export function quantileScratch(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  return scratch;
}

/** The quantile of `values[from..to)`; sorts that range of `values` in place. */
export function quantileInPlace(q: number, values: Float64Array, from: number, to: number): number {
  const n = to - from;
  if (n === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  sortWithNaNFirst(values, from, to);
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return values[from + lower] * (1 - weight) + values[from + upper] * weight;
}

/** Sorts `a[from..to)` ascending with NaNs first, without allocating. */
export function sortWithNaNFirst(a: Float64Array, from: number, to: number): void {
  // Move the NaNs to the front, then sort the numbers after them.
  let numbersFrom = from;
  for (let i = from; i < to; i++) {
    const v = a[i];
    if (v !== v) {
      a[i] = a[numbersFrom];
      a[numbersFrom++] = NaN;
    }
  }
  quickSort(a, numbersFrom, to - 1);
}

function quickSort(a: Float64Array, lo: number, hi: number): void {
  while (hi - lo > 16) {
    // Median of three as pivot; recurse into the smaller part to bound the stack.
    const mid = (lo + hi) >>> 1;
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) swap(a, i++, j--);
    }
    if (j - lo < hi - i) {
      quickSort(a, lo, j);
      lo = i;
    } else {
      quickSort(a, i, hi);
      hi = j;
    }
  }
  for (let i = lo + 1; i <= hi; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= lo && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

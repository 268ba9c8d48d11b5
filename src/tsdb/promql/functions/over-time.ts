// The *_over_time aggregations over one series' range window. Every function returns undefined
// for an empty window (the engine then leaves the step without a point).

import type { Annotations } from '../values.js';
import type { RangeFunction } from './types.js';
import { kahanInc, kahanOut } from '../kahan.js';
import { quantileInPlace, quantileScratch } from './quantile.js';
import { formatGoG } from '../go-format.js';

export const sumOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    const { values, from, to } = w;
    if (to <= from) return undefined;
    let sum = 0;
    let c = 0;
    for (let i = from; i < to; i++) {
      sum = kahanInc(values[i], sum, c);
      c = kahanOut.c;
    }
    return sum === Infinity || sum === -Infinity ? sum : sum + c;
  },
};

/**
 * Direct mean (compensated sum ÷ count) while the running sum stays finite; from the first overflow
 * on, an incremental mean, which cannot overflow (Prometheus 3.x).
 */
export const avgOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    const { values, from, to } = w;
    if (to <= from) return undefined;
    let sum = values[from];
    let c = 0;
    let count = 1;
    let mean = 0;
    let incremental = false;
    for (let i = from + 1; i < to; i++) {
      const v = values[i];
      count++;
      if (!incremental) {
        const newSum = kahanInc(v, sum, c);
        if (newSum !== Infinity && newSum !== -Infinity) {
          sum = newSum;
          c = kahanOut.c;
          continue;
        }
        incremental = true;
        mean = sum / (count - 1);
        c /= count - 1;
      }
      const q = (count - 1) / count;
      mean = kahanInc(v / count, q * mean, q * c);
      c = kahanOut.c;
    }
    return incremental ? mean + c : sum / count + c / count;
  },
};

export const countOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    return w.to > w.from ? w.to - w.from : undefined;
  },
};

/** min_over_time: NaN only when every value is NaN (a NaN first value is replaced by any later one). */
export const minOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    const { values, from, to } = w;
    if (to <= from) return undefined;
    let min = values[from];
    for (let i = from + 1; i < to; i++) {
      const v = values[i];
      if (v < min || min !== min) min = v;
    }
    return min;
  },
};

export const maxOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    const { values, from, to } = w;
    if (to <= from) return undefined;
    let max = values[from];
    for (let i = from + 1; i < to; i++) {
      const v = values[i];
      if (v > max || max !== max) max = v;
    }
    return max;
  },
};

/** last_over_time keeps the metric name: it acts like a selector with a longer lookback. */
export const lastOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  keepsName: true,
  apply(w) {
    return w.to > w.from ? w.values[w.to - 1] : undefined;
  },
};

export const firstOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  keepsName: true,
  apply(w) {
    return w.to > w.from ? w.values[w.from] : undefined;
  },
};

export const presentOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    return w.to > w.from ? 1 : undefined;
  },
};

/**
 * absent_over_time's per-window part: 1 where the window has samples. The engine turns the
 * per-series results into the single absence series (steps where no series had a point).
 */
export const absentOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    return w.to > w.from ? 1 : undefined;
  },
};

// The warning repeats for every series and step with the same φ; the engine deduplicates, but
// skip formatting the same text millions of times in a long range query.
let warnedQuantile = NaN;
let warnedAnnotations: Annotations | undefined;

function warnQuantile(q: number, annotations: Annotations): void {
  if (annotations === warnedAnnotations && Object.is(q, warnedQuantile)) return;
  warnedAnnotations = annotations;
  warnedQuantile = q;
  annotations.warn(`PromQL warning: quantile value should be between 0 and 1, got ${formatGoG(q)}`);
}

/** quantile_over_time(φ, range): warns when φ is outside [0, 1]. */
export const quantileOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 1,
  apply(w, params, annotations) {
    const { values, from, to } = w;
    const n = to - from;
    if (n <= 0) return undefined;
    const q = params[0] ?? NaN;
    if (!(q >= 0 && q <= 1)) warnQuantile(q, annotations);
    const buf = quantileScratch(n);
    for (let i = 0; i < n; i++) buf[i] = values[from + i];
    return quantileInPlace(q, buf, 0, n);
  },
};

/** Population variance by Welford's method with compensated sums (as Prometheus). */
function variance(values: Float64Array, from: number, to: number): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (let i = from; i < to; i++) {
    const v = values[i];
    count++;
    const delta = v - (mean + cMean);
    mean = kahanInc(delta / count, mean, cMean);
    cMean = kahanOut.c;
    aux = kahanInc(delta * (v - (mean + cMean)), aux, cAux);
    cAux = kahanOut.c;
  }
  return (aux + cAux) / count;
}

export const stdvarOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    return w.to > w.from ? variance(w.values, w.from, w.to) : undefined;
  },
};

export const stddevOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    return w.to > w.from ? Math.sqrt(variance(w.values, w.from, w.to)) : undefined;
  },
};

/** Median absolute deviation: the median of |v − median|. */
export const madOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    const { values, from, to } = w;
    const n = to - from;
    if (n <= 0) return undefined;
    const buf = quantileScratch(n);
    for (let i = 0; i < n; i++) buf[i] = values[from + i];
    const median = quantileInPlace(0.5, buf, 0, n);
    for (let i = 0; i < n; i++) buf[i] = Math.abs(values[from + i] - median);
    return quantileInPlace(0.5, buf, 0, n);
  },
};

/** Timestamp (seconds) of the last sample. */
export const tsOfLastOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    return w.to > w.from ? w.timestamps[w.to - 1] / 1000 : undefined;
  },
};

export const tsOfFirstOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    return w.to > w.from ? w.timestamps[w.from] / 1000 : undefined;
  },
};

/** Timestamp (seconds) of the latest maximum; NaNs as in max_over_time. */
export const tsOfMaxOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    const { values, timestamps, from, to } = w;
    if (to <= from) return undefined;
    let max = values[from];
    let at = timestamps[from];
    for (let i = from; i < to; i++) {
      const v = values[i];
      if (v >= max || max !== max) {
        max = v;
        at = timestamps[i];
      }
    }
    return at / 1000;
  },
};

/** Timestamp (seconds) of the latest minimum. */
export const tsOfMinOverTime: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    const { values, timestamps, from, to } = w;
    if (to <= from) return undefined;
    let min = values[from];
    let at = timestamps[from];
    for (let i = from; i < to; i++) {
      const v = values[i];
      if (v <= min || min !== min) {
        min = v;
        at = timestamps[i];
      }
    }
    return at / 1000;
  },
};

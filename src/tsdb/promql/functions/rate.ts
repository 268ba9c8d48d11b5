// rate, increase, delta (extrapolated over the range window) and irate, idelta (last two samples).
// Prometheus 3.x semantics, spec/tsdb.md §4.4.

import type { Annotations } from '../values.js';
import type { Labels } from '../../storage.js';
import type { RangeFunction, RangeWindow } from './types.js';
import { goQuote } from '../go-format.js';

/**
 * The increase (counters: with resets added back) or delta of `w`, extrapolated towards the window
 * edges; per second of the range when `isRate`. Undefined with fewer than two samples.
 */
function extrapolatedRate(w: RangeWindow, isCounter: boolean, isRate: boolean): number | undefined {
  const { timestamps: ts, values: vs, from, to } = w;
  const last = to - 1;
  if (last - from < 1) return undefined;
  const firstValue = vs[from];
  let result = vs[last] - firstValue;
  if (isCounter) {
    let prev = firstValue;
    for (let i = from + 1; i < to; i++) {
      const cur = vs[i];
      if (cur < prev) result += prev;
      prev = cur;
    }
  }
  const firstT = ts[from];
  const lastT = ts[last];
  let toStart = (firstT - w.rangeStartMs) / 1000;
  let toEnd = (w.rangeEndMs - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageInterval = sampledInterval / (last - from);
  // Extrapolate to an edge only when a sample would be expected there (within 110% of the average
  // spacing); otherwise assume the series starts/ends half an average interval beyond its samples.
  const threshold = averageInterval * 1.1;
  if (toStart >= threshold) toStart = averageInterval / 2;
  if (isCounter && result > 0 && firstValue >= 0) {
    // A counter cannot go below zero: stop the extrapolation where the line would cross zero.
    const toZero = sampledInterval * (firstValue / result);
    if (toZero < toStart) toStart = toZero;
  }
  if (toEnd >= threshold) toEnd = averageInterval / 2;
  let factor = (sampledInterval + toStart + toEnd) / sampledInterval;
  if (isRate) factor /= (w.rangeEndMs - w.rangeStartMs) / 1000;
  return result * factor;
}

// The "might not be a counter" info is per series; the engine calls apply for every step of a
// series with the same labels object, so remember the last series checked.
let checkedLabels: Labels | undefined;
let checkedAnnotations: Annotations | undefined;

function checkCounterName(labels: Labels, annotations: Annotations): void {
  if (labels === checkedLabels && annotations === checkedAnnotations) return;
  checkedLabels = labels;
  checkedAnnotations = annotations;
  let name = '';
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]![0] === '__name__') {
      name = labels[i]![1];
      break;
    }
  }
  if (name === '' || name.endsWith('_total') || name.endsWith('_sum') || name.endsWith('_count') || name.endsWith('_bucket')) return;
  annotations.info(`PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${goQuote(name)}`);
}

/** rate (per second) or increase of a counter: extrapolated, resets compensated; warns on a name that does not look like a counter. */
function counterFunction(perSecond: boolean): RangeFunction {
  return {
    kind: 'range',
    matrixArg: 0,
    apply(w, _params, annotations) {
      const v = extrapolatedRate(w, true, perSecond);
      if (v !== undefined) checkCounterName(w.labels, annotations);
      return v;
    },
  };
}

export const rate = counterFunction(true);
export const increase = counterFunction(false);

export const delta: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    return extrapolatedRate(w, false, false);
  },
};

/** irate: per-second change between the last two samples; a drop counts as a reset (the last value is the increase). */
export const irate: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    const last = w.to - 1;
    if (last - w.from < 1) return undefined;
    const interval = w.timestamps[last] - w.timestamps[last - 1];
    if (interval === 0) return undefined;
    const cur = w.values[last];
    const prev = w.values[last - 1];
    const change = cur < prev ? cur : cur - prev;
    return change / (interval / 1000);
  },
};

/** idelta: difference between the last two samples. */
export const idelta: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    const last = w.to - 1;
    if (last - w.from < 1) return undefined;
    if (w.timestamps[last] === w.timestamps[last - 1]) return undefined;
    return w.values[last] - w.values[last - 1];
  },
};

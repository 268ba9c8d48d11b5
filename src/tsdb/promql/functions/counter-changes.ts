// changes and resets: counts of value changes and of decreases within the range window.

import type { RangeFunction } from './types.js';

/** Number of times the value changed; NaN followed by NaN is no change. */
export const changes: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    const { values, from, to } = w;
    if (to <= from) return undefined;
    let count = 0;
    let prev = values[from];
    for (let i = from + 1; i < to; i++) {
      const cur = values[i];
      if (cur !== prev && !(cur !== cur && prev !== prev)) count++;
      prev = cur;
    }
    return count;
  },
};

/** Number of counter resets (a value below its predecessor). */
export const resets: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    const { values, from, to } = w;
    if (to <= from) return undefined;
    let count = 0;
    let prev = values[from];
    for (let i = from + 1; i < to; i++) {
      const cur = values[i];
      if (cur < prev) count++;
      prev = cur;
    }
    return count;
  },
};

// double_exponential_smoothing (2.x's holt_winters, a name 3.x no longer accepts): Holt's linear
// smoothing of the window's values with smoothing factor sf and trend factor tf, both in (0, 1).

import { QueryError } from '../errors.js';
import type { RangeFunction } from './types.js';
import { formatGoF } from '../go-format.js';

export const doubleExponentialSmoothing: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w, params) {
    const { values, from, to } = w;
    if (to <= from) return undefined;
    const sf = params[0] ?? NaN;
    const tf = params[1] ?? NaN;
    // Checked only for non-empty windows, as Prometheus does (an empty selection never fails); NaN passes.
    if (sf <= 0 || sf >= 1) throw new QueryError('execution', `invalid smoothing factor. Expected: 0 < sf < 1, got: ${formatGoF(sf)}`);
    if (tf <= 0 || tf >= 1) throw new QueryError('execution', `invalid trend factor. Expected: 0 < tf < 1, got: ${formatGoF(tf)}`);
    if (to - from < 2) return undefined;
    let s0 = 0;
    let s1 = values[from];
    let b = values[from + 1] - values[from];
    for (let i = from + 1; i < to; i++) {
      const x = sf * values[i];
      // The trend at the previous point; the first step keeps the initial slope.
      if (i > from + 1) b = tf * (s1 - s0) + (1 - tf) * b;
      const y = (1 - sf) * (s1 + b);
      s0 = s1;
      s1 = x + y;
    }
    return s1;
  },
};

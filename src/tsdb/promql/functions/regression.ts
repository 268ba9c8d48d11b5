// deriv and predict_linear: least-squares linear regression over the range window, with
// compensated sums and x measured in seconds from a time near the samples (for precision).

import type { RangeFunction } from './types.js';
import { kahanInc, kahanOut } from '../kahan.js';

let interceptOut = 0;

/**
 * Slope (per second) of the least-squares line through `[from, to)`, with x relative to
 * `interceptTimeMs`; the line's value at that time is left for regressionIntercept().
 * A constant series has slope 0 (NaN, NaN when the constant is infinite).
 */
function regressionSlope(ts: Float64Array, vs: Float64Array, from: number, to: number, interceptTimeMs: number): number {
  let n = 0;
  let sumX = 0;
  let cX = 0;
  let sumY = 0;
  let cY = 0;
  let sumXY = 0;
  let cXY = 0;
  let sumX2 = 0;
  let cX2 = 0;
  const initY = vs[from];
  let constY = true;
  for (let i = from; i < to; i++) {
    const y = vs[i];
    if (constY && i > from && y !== initY) constY = false;
    n += 1;
    const x = (ts[i] - interceptTimeMs) / 1e3;
    sumX = kahanInc(x, sumX, cX);
    cX = kahanOut.c;
    sumY = kahanInc(y, sumY, cY);
    cY = kahanOut.c;
    sumXY = kahanInc(x * y, sumXY, cXY);
    cXY = kahanOut.c;
    sumX2 = kahanInc(x * x, sumX2, cX2);
    cX2 = kahanOut.c;
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) {
      interceptOut = NaN;
      return NaN;
    }
    interceptOut = initY;
    return 0;
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  interceptOut = sumY / n - (slope * sumX) / n;
  return slope;
}

/** deriv: per-second slope; needs two samples. */
export const deriv: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w) {
    if (w.to - w.from < 2) return undefined;
    return regressionSlope(w.timestamps, w.values, w.from, w.to, w.timestamps[w.from]);
  },
};

/** predict_linear(range, t): the regression line's value t seconds after the evaluation time. */
export const predictLinear: RangeFunction = {
  kind: 'range',
  matrixArg: 0,
  apply(w, params) {
    if (w.to - w.from < 2) return undefined;
    const slope = regressionSlope(w.timestamps, w.values, w.from, w.to, w.evalTimeMs);
    return slope * (params[0] ?? NaN) + interceptOut;
  },
};

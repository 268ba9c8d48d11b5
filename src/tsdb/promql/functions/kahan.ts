// Kahan–Neumaier compensated summation, as Prometheus 3.x uses for sum_over_time, avg_over_time,
// the variance functions and linear regression. Callers keep the running sum and compensation in
// locals and call kahanSum/kahanCompensation in turn; returning both through module state keeps
// the hot loops free of tuple allocations.

let compensationOut = 0;

/**
 * Adds `inc` to `sum` with compensation `c`; returns the new sum and leaves the new compensation
 * for kahanCompensation(). Once the sum overflows the compensation is meaningless and resets to 0.
 */
export function kahanSum(inc: number, sum: number, c: number): number {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  compensationOut = c;
  return t;
}

/** The compensation left by the last kahanSum call. */
export function kahanCompensation(): number {
  return compensationOut;
}

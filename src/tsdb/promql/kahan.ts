// Kahan–Neumaier compensated summation as Prometheus' kahansum.Inc does it (sum, avg). The sum and
// its compensation live in parallel typed arrays so the aggregation loops allocate nothing.

/** Adds `inc` to sums[i] (compensation in comps[i]); on overflow to ±Inf the compensation resets to 0. */
export function kahanAddAt(sums: Float64Array, comps: Float64Array, i: number, inc: number): void {
  const sum = sums[i];
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) comps[i] = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) comps[i] += sum - t + inc;
  else comps[i] += inc - t + sum;
  sums[i] = t;
}

/** kahanSumInc returning the new sum; the new compensation is left in `kahanOut.c`. */
export const kahanOut = { c: 0 };
export function kahanInc(inc: number, sum: number, c: number): number {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  kahanOut.c = c;
  return t;
}

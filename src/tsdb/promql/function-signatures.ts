// Signatures of the PromQL functions (Prometheus promql/parser/functions.go, v3.5 plus
// first_over_time and ts_of_first_over_time from later releases), used by parser.ts to type-check
// calls the way Prometheus' parser does. Experimental functions are accepted without a flag.
//
// Not included: the HEAD-only experimental `start() end() range() step() min_of() max_of()` (they
// return scalars, which ast.ts typeOf does not know), `histogram_quantiles` and `start_timestamp`.

import type { ValueType } from './ast.js';

export interface FunctionSignature {
  /** Argument types; with `variadic` the last one repeats. */
  readonly argTypes: readonly ValueType[];
  /**
   * 0: exactly argTypes.length arguments. n > 0: the last argument type may appear 0..n times
   * (so argTypes.length − 1 .. argTypes.length − 1 + n arguments). −1: the last type repeats
   * without limit (at least argTypes.length − 1 arguments).
   */
  readonly variadic?: number;
  readonly returnType: ValueType;
  /** Behind --enable-feature=promql-experimental-functions in Prometheus; always on here. */
  readonly experimental?: boolean;
}

export const FUNCTION_SIGNATURES: Readonly<Record<string, FunctionSignature>> = {
  abs: { argTypes: ['vector'], returnType: 'vector' },
  absent: { argTypes: ['vector'], returnType: 'vector' },
  absent_over_time: { argTypes: ['matrix'], returnType: 'vector' },
  acos: { argTypes: ['vector'], returnType: 'vector' },
  acosh: { argTypes: ['vector'], returnType: 'vector' },
  asin: { argTypes: ['vector'], returnType: 'vector' },
  asinh: { argTypes: ['vector'], returnType: 'vector' },
  atan: { argTypes: ['vector'], returnType: 'vector' },
  atanh: { argTypes: ['vector'], returnType: 'vector' },
  avg_over_time: { argTypes: ['matrix'], returnType: 'vector' },
  ceil: { argTypes: ['vector'], returnType: 'vector' },
  changes: { argTypes: ['matrix'], returnType: 'vector' },
  clamp: { argTypes: ['vector', 'scalar', 'scalar'], returnType: 'vector' },
  clamp_max: { argTypes: ['vector', 'scalar'], returnType: 'vector' },
  clamp_min: { argTypes: ['vector', 'scalar'], returnType: 'vector' },
  cos: { argTypes: ['vector'], returnType: 'vector' },
  cosh: { argTypes: ['vector'], returnType: 'vector' },
  count_over_time: { argTypes: ['matrix'], returnType: 'vector' },
  day_of_month: { argTypes: ['vector'], variadic: 1, returnType: 'vector' },
  day_of_week: { argTypes: ['vector'], variadic: 1, returnType: 'vector' },
  day_of_year: { argTypes: ['vector'], variadic: 1, returnType: 'vector' },
  days_in_month: { argTypes: ['vector'], variadic: 1, returnType: 'vector' },
  deg: { argTypes: ['vector'], returnType: 'vector' },
  delta: { argTypes: ['matrix'], returnType: 'vector' },
  deriv: { argTypes: ['matrix'], returnType: 'vector' },
  double_exponential_smoothing: { argTypes: ['matrix', 'scalar', 'scalar'], experimental: true, returnType: 'vector' },
  exp: { argTypes: ['vector'], returnType: 'vector' },
  first_over_time: { argTypes: ['matrix'], returnType: 'vector' },
  floor: { argTypes: ['vector'], returnType: 'vector' },
  histogram_avg: { argTypes: ['vector'], returnType: 'vector' },
  histogram_count: { argTypes: ['vector'], returnType: 'vector' },
  histogram_fraction: { argTypes: ['scalar', 'scalar', 'vector'], returnType: 'vector' },
  histogram_quantile: { argTypes: ['scalar', 'vector'], returnType: 'vector' },
  histogram_stddev: { argTypes: ['vector'], returnType: 'vector' },
  histogram_stdvar: { argTypes: ['vector'], returnType: 'vector' },
  histogram_sum: { argTypes: ['vector'], returnType: 'vector' },
  hour: { argTypes: ['vector'], variadic: 1, returnType: 'vector' },
  idelta: { argTypes: ['matrix'], returnType: 'vector' },
  increase: { argTypes: ['matrix'], returnType: 'vector' },
  info: { argTypes: ['vector', 'vector'], variadic: 1, experimental: true, returnType: 'vector' },
  irate: { argTypes: ['matrix'], returnType: 'vector' },
  label_join: { argTypes: ['vector', 'string', 'string', 'string'], variadic: -1, returnType: 'vector' },
  label_replace: { argTypes: ['vector', 'string', 'string', 'string', 'string'], returnType: 'vector' },
  last_over_time: { argTypes: ['matrix'], returnType: 'vector' },
  ln: { argTypes: ['vector'], returnType: 'vector' },
  log10: { argTypes: ['vector'], returnType: 'vector' },
  log2: { argTypes: ['vector'], returnType: 'vector' },
  mad_over_time: { argTypes: ['matrix'], experimental: true, returnType: 'vector' },
  max_over_time: { argTypes: ['matrix'], returnType: 'vector' },
  min_over_time: { argTypes: ['matrix'], returnType: 'vector' },
  minute: { argTypes: ['vector'], variadic: 1, returnType: 'vector' },
  month: { argTypes: ['vector'], variadic: 1, returnType: 'vector' },
  pi: { argTypes: [], returnType: 'scalar' },
  predict_linear: { argTypes: ['matrix', 'scalar'], returnType: 'vector' },
  present_over_time: { argTypes: ['matrix'], returnType: 'vector' },
  quantile_over_time: { argTypes: ['scalar', 'matrix'], returnType: 'vector' },
  rad: { argTypes: ['vector'], returnType: 'vector' },
  rate: { argTypes: ['matrix'], returnType: 'vector' },
  resets: { argTypes: ['matrix'], returnType: 'vector' },
  round: { argTypes: ['vector', 'scalar'], variadic: 1, returnType: 'vector' },
  scalar: { argTypes: ['vector'], returnType: 'scalar' },
  sgn: { argTypes: ['vector'], returnType: 'vector' },
  sin: { argTypes: ['vector'], returnType: 'vector' },
  sinh: { argTypes: ['vector'], returnType: 'vector' },
  sort: { argTypes: ['vector'], returnType: 'vector' },
  sort_by_label: { argTypes: ['vector', 'string'], variadic: -1, experimental: true, returnType: 'vector' },
  sort_by_label_desc: { argTypes: ['vector', 'string'], variadic: -1, experimental: true, returnType: 'vector' },
  sort_desc: { argTypes: ['vector'], returnType: 'vector' },
  sqrt: { argTypes: ['vector'], returnType: 'vector' },
  stddev_over_time: { argTypes: ['matrix'], returnType: 'vector' },
  stdvar_over_time: { argTypes: ['matrix'], returnType: 'vector' },
  sum_over_time: { argTypes: ['matrix'], returnType: 'vector' },
  tan: { argTypes: ['vector'], returnType: 'vector' },
  tanh: { argTypes: ['vector'], returnType: 'vector' },
  time: { argTypes: [], returnType: 'scalar' },
  timestamp: { argTypes: ['vector'], returnType: 'vector' },
  ts_of_first_over_time: { argTypes: ['matrix'], experimental: true, returnType: 'vector' },
  ts_of_last_over_time: { argTypes: ['matrix'], experimental: true, returnType: 'vector' },
  ts_of_max_over_time: { argTypes: ['matrix'], experimental: true, returnType: 'vector' },
  ts_of_min_over_time: { argTypes: ['matrix'], experimental: true, returnType: 'vector' },
  vector: { argTypes: ['scalar'], returnType: 'vector' },
  year: { argTypes: ['vector'], variadic: 1, returnType: 'vector' },
};

/** The signature of a function, or undefined for an unknown name (own properties only). */
export function functionSignature(name: string): FunctionSignature | undefined {
  return Object.hasOwn(FUNCTION_SIGNATURES, name) ? FUNCTION_SIGNATURES[name] : undefined;
}

// Every PromQL function Kiln implements, by name. The engine special-cases `timestamp` (it needs
// the samples' own times) and post-processes `absent_over_time` across series; parser.ts's
// signature table decides which names are callable and type-checks the arguments.

import type { FunctionImpl } from './types.js';
import { delta, idelta, increase, irate, rate } from './rate.js';
import {
  absentOverTime,
  avgOverTime,
  countOverTime,
  firstOverTime,
  lastOverTime,
  madOverTime,
  maxOverTime,
  minOverTime,
  presentOverTime,
  quantileOverTime,
  stddevOverTime,
  stdvarOverTime,
  sumOverTime,
  tsOfFirstOverTime,
  tsOfLastOverTime,
  tsOfMaxOverTime,
  tsOfMinOverTime,
} from './over-time.js';
import { changes, resets } from './counter-changes.js';
import { deriv, predictLinear } from './regression.js';
import { doubleExponentialSmoothing } from './smoothing.js';
import { MATH_FUNCTIONS } from './math.js';
import { DATE_FUNCTIONS } from './date.js';
import { histogramFraction, histogramQuantile, nativeHistogramOnly } from './histogram-quantile.js';
import { labelJoin, labelReplace } from './labels.js';
import { sort, sortByLabel, sortByLabelDesc, sortDesc } from './sort.js';
import { absent, pi, scalar, time, vector } from './misc.js';

export { absentLabels } from './misc.js';
export { quantileInPlace, quantileScratch, sortWithNaNFirst } from './quantile.js';
export { isValidLabelName } from './label-name.js';

export const FUNCTIONS: Readonly<Record<string, FunctionImpl>> = {
  rate,
  increase,
  delta,
  irate,
  idelta,
  avg_over_time: avgOverTime,
  sum_over_time: sumOverTime,
  count_over_time: countOverTime,
  min_over_time: minOverTime,
  max_over_time: maxOverTime,
  last_over_time: lastOverTime,
  first_over_time: firstOverTime,
  present_over_time: presentOverTime,
  absent_over_time: absentOverTime,
  quantile_over_time: quantileOverTime,
  stddev_over_time: stddevOverTime,
  stdvar_over_time: stdvarOverTime,
  mad_over_time: madOverTime,
  ts_of_first_over_time: tsOfFirstOverTime,
  ts_of_last_over_time: tsOfLastOverTime,
  ts_of_max_over_time: tsOfMaxOverTime,
  ts_of_min_over_time: tsOfMinOverTime,
  changes,
  resets,
  deriv,
  predict_linear: predictLinear,
  double_exponential_smoothing: doubleExponentialSmoothing,
  ...MATH_FUNCTIONS,
  ...DATE_FUNCTIONS,
  histogram_quantile: histogramQuantile,
  histogram_fraction: histogramFraction,
  histogram_count: nativeHistogramOnly,
  histogram_sum: nativeHistogramOnly,
  histogram_avg: nativeHistogramOnly,
  histogram_stddev: nativeHistogramOnly,
  histogram_stdvar: nativeHistogramOnly,
  label_replace: labelReplace,
  label_join: labelJoin,
  sort,
  sort_desc: sortDesc,
  sort_by_label: sortByLabel,
  sort_by_label_desc: sortByLabelDesc,
  absent,
  scalar,
  vector,
  time,
  pi,
};

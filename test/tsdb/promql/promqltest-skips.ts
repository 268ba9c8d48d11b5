// The promqltest evals Kiln does not run, each with its reason. This is the only place a
// conformance case may be skipped, and only for something Kiln deliberately does not support. A
// case is never skipped because it fails.
//
// Native histograms: Kiln's TSDB stores float samples only, so the loader leaves `{{...}}`
// samples (and `load_with_nhcb`'s custom-bucket histograms) out. An eval is listed when the
// samples it reads (its time window: lookback, ranges, offsets, subqueries, and the harness'
// range-mode rerun one minute either side) include such histograms or when it expects a histogram
// result, and it does not pass without them. (`run.ts --suggest-skips` finds candidates and
// `--run-skipped` shows whether a listed eval would now pass.) Evals that read histogram samples
// but pass on the float data alone stay in.
//
// Keyed by file and 1-based line of the eval; `expr` must equal the eval's expression there, so an
// entry cannot drift onto another case if the scripts change.

import type { SkipEntry } from './promqltest/runner.js';

const NATIVE_HISTOGRAMS = 'native histograms (Kiln stores float samples only)';

export const PROMQLTEST_SKIPS: readonly SkipEntry[] = [
  { file: "aggregators.test", line: 238, expr: "max({job=\"api-server\"})", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="3", job="api-server"}
  { file: "aggregators.test", line: 242, expr: "max(http_requests_histogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="3", job="api-server"}
  { file: "aggregators.test", line: 248, expr: "min({job=\"api-server\"})", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="3", job="api-server"}
  { file: "aggregators.test", line: 252, expr: "min(http_requests_histogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="3", job="api-server"}
  { file: "aggregators.test", line: 351, expr: "topk(100, http_requests_histogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 354, expr: "topk(100, http_requests_histogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 357, expr: "topk(1, {__name__=~\"http_requests(_histogram)?\"})", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 360, expr: "count(topk(1000, {__name__=~\"http_requests(_histogram)?\"}))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 363, expr: "count(topk(1000, {__name__=~\"http_requests(_histogram)?\"}))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 366, expr: "topk by (instance) (1, {__name__=~\"http_requests(_histogram)?\"})", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 371, expr: "bottomk(100, http_requests_histogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 374, expr: "bottomk(100, http_requests_histogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 377, expr: "bottomk(1, {__name__=~\"http_requests(_histogram)?\"})", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 380, expr: "count(bottomk(1000, {__name__=~\"http_requests(_histogram)?\"}))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 383, expr: "count(bottomk(1000, {__name__=~\"http_requests(_histogram)?\"}))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 386, expr: "bottomk by (instance) (1, {__name__=~\"http_requests(_histogram)?\"})", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 407, expr: "count_values(\"version\", version)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of version{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 413, expr: "count_values((((\"version\"))), version)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of version{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 419, expr: "count_values without (instance)(\"version\", version)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of version{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 427, expr: "count_values without (instance)(\"job\", version)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of version{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 434, expr: "count_values by (job, group)(\"job\", version)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of version{group="canary", instance="2", job="app-server"}
  { file: "aggregators.test", line: 465, expr: "quantile without(point)(0.8, {__name__=~\"data(_histogram)?\"})", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of data_histogram{point="c", test="histogram sample"}
  { file: "aggregators.test", line: 471, expr: "quantile(0.8, data_histogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of data_histogram{point="c", test="histogram sample"}
  { file: "aggregators.test", line: 512, expr: "group without(point)(data)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of data{point="c", test="histogram sample"}
  { file: "aggregators.test", line: 739, expr: "stddev(series)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of series{label="c"}
  { file: "aggregators.test", line: 742, expr: "stdvar(series)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of series{label="c"}
  { file: "aggregators.test", line: 746, expr: "stddev({label=\"c\"})", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of series{label="c"}
  { file: "aggregators.test", line: 748, expr: "stdvar({label=\"c\"})", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of series{label="c"}
  { file: "aggregators.test", line: 750, expr: "stddev by (label) (series)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of series{label="c"}
  { file: "aggregators.test", line: 754, expr: "stdvar by (label) (series)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of series{label="c"}
  { file: "aggregators.test", line: 765, expr: "stddev(series)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of series{label="a"}
  { file: "aggregators.test", line: 768, expr: "stdvar(series)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of series{label="a"}
  { file: "aggregators.test", line: 771, expr: "stddev by (label) (series)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of series{label="a"}
  { file: "aggregators.test", line: 775, expr: "stdvar by (label) (series)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of series{label="a"}
  { file: "functions.test", line: 47, expr: "resets(http_requests_histogram[6m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{path="/foo"}
  { file: "functions.test", line: 52, expr: "resets(http_requests_histogram[60m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{path="/foo"}
  { file: "functions.test", line: 92, expr: "changes(http_requests_histogram[6m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{path="/foo"}
  { file: "functions.test", line: 97, expr: "changes(http_requests_histogram[60m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{path="/foo"}
  { file: "functions.test", line: 242, expr: "irate(http_requests_histogram{path=\"/a\"}[20m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 245, expr: "irate(http_requests_histogram{path=\"/b\"}[20m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 250, expr: "irate(http_requests_histogram{path=\"/c\"}[20m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 253, expr: "irate(http_requests_histogram{path=\"/d\"}[20m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 256, expr: "irate(http_requests_histogram{path=\"/e\"}[20m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{path="/e"}
  { file: "functions.test", line: 258, expr: "irate(http_requests_histogram{path=\"/f\"}[20m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 261, expr: "irate(http_requests_histogram{path=\"/g\"}[20m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 278, expr: "delta(http_requests_gauge[20m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 282, expr: "delta(http_requests_counter[20m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 286, expr: "delta(http_requests_mix[20m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_mix{path="/foo"}
  { file: "functions.test", line: 311, expr: "idelta(http_requests_histogram{path=\"/a\"}[20m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 314, expr: "idelta(http_requests_histogram{path=\"/b\"}[20m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 319, expr: "idelta(http_requests_histogram{path=\"/c\"}[20m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 322, expr: "idelta(http_requests_histogram{path=\"/d\"}[20m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 325, expr: "idelta(http_requests_histogram{path=\"/e\"}[20m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{path="/e"}
  { file: "functions.test", line: 327, expr: "idelta(http_requests_histogram{path=\"/f\"}[20m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{path="/f"}
  { file: "functions.test", line: 329, expr: "idelta(http_requests_histogram{path=\"/g\"}[20m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{path="/g"}
  { file: "functions.test", line: 354, expr: "deriv(http_requests_mix{group=\"canary\", instance=\"1\", job=\"app-server\"}[110m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_mix{group="canary", instance="1", job="app-server"}
  { file: "functions.test", line: 357, expr: "deriv(testcounter_reset_middle_mix[110m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testcounter_reset_middle_mix
  { file: "functions.test", line: 404, expr: "predict_linear(testcounter_reset_middle_mix[60m], 3000)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testcounter_reset_middle_mix
  { file: "functions.test", line: 407, expr: "predict_linear(testcounter_reset_middle_mix[60m], 50m)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testcounter_reset_middle_mix
  { file: "functions.test", line: 503, expr: "timestamp(metric)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of metric
  { file: "functions.test", line: 612, expr: "clamp(mixed_metric, 2, 5)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of mixed_metric
  { file: "functions.test", line: 615, expr: "clamp_min(mixed_metric, 2)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of mixed_metric
  { file: "functions.test", line: 618, expr: "clamp_max(mixed_metric, 2)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of mixed_metric
  { file: "functions.test", line: 844, expr: "double_exponential_smoothing(http_requests_mix[1m], 0.01, 0.1)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_mix{group="production", instance="0", job="api-server"}
  { file: "functions.test", line: 997, expr: "sum_over_time(metric12[1m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of metric12
  { file: "functions.test", line: 1000, expr: "avg_over_time(metric12[1m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of metric12
  { file: "functions.test", line: 1004, expr: "sum_over_time(metric13[1m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 1007, expr: "avg_over_time(metric13[1m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 1010, expr: "sum_over_time(metric13[1m])/count_over_time(metric13[1m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 1187, expr: "stddev_over_time(metric_histogram{type=\"mix\"}[2m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of metric_histogram{type="mix"}
  { file: "functions.test", line: 1193, expr: "stdvar_over_time(metric_histogram{type=\"mix\"}[2m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of metric_histogram{type="mix"}
  { file: "functions.test", line: 1220, expr: "mad_over_time(metric_histogram{type=\"mix\"}[70s])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of metric_histogram{type="mix"}
  { file: "functions.test", line: 1247, expr: "ts_of_last_over_time(metric_histogram{type=\"only_histogram\"}[90s])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of metric_histogram{type="only_histogram"}
  { file: "functions.test", line: 1306, expr: "quantile_over_time(0.5, data_histogram{test=\"mix samples\"}[2m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of data_histogram{test="mix samples"}
  { file: "functions.test", line: 1444, expr: "min_over_time(data_histogram{type=\"mix_samples\"}[2m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of data_histogram{type="mix_samples"}
  { file: "functions.test", line: 1457, expr: "max_over_time(data_histogram{type=\"mix_samples\"}[2m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of data_histogram{type="mix_samples"}
  { file: "functions.test", line: 1460, expr: "last_over_time({__name__=~\"data(_histogram)?\"}[2m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "functions.test", line: 1469, expr: "count_over_time({__name__=~\"data(_histogram)?\"}[2m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of data_histogram{type="only_histogram"}
  { file: "functions.test", line: 1567, expr: "absent(http_requests_histogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="production", instance="0", job="api-server"}
  { file: "functions.test", line: 1569, expr: "absent(sum(http_requests_histogram))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="production", instance="0", job="api-server"}
  { file: "functions.test", line: 1662, expr: "absent_over_time(http_requests_histogram[5m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{instance="127.0.0.1", job="httpd", path="/foo"}
  { file: "functions.test", line: 1664, expr: "absent_over_time(rate(http_requests_histogram[5m])[5m:1m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{instance="127.0.0.1", job="httpd", path="/foo"}
  { file: "functions.test", line: 1837, expr: "round(mixed_metric)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of mixed_metric
  { file: "histograms.test", line: 72, expr: "histogram_count(testhistogram3)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram3{start="positive"}
  { file: "histograms.test", line: 82, expr: "histogram_sum(testhistogram3)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram3{start="positive"}
  { file: "histograms.test", line: 92, expr: "histogram_avg(testhistogram3)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram3{start="positive"}
  { file: "histograms.test", line: 97, expr: "histogram_stddev(testhistogram3)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram3{start="positive"}
  { file: "histograms.test", line: 102, expr: "histogram_stdvar(testhistogram3)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram3{start="positive"}
  { file: "histograms.test", line: 108, expr: "histogram_fraction(0, 4, testhistogram2)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram2
  { file: "histograms.test", line: 114, expr: "histogram_fraction(0, 6, testhistogram2)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram2
  { file: "histograms.test", line: 120, expr: "histogram_fraction(0, 3.5, testhistogram2)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram2
  { file: "histograms.test", line: 127, expr: "histogram_fraction(0, 0.2, testhistogram3)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram3{start="positive"}
  { file: "histograms.test", line: 135, expr: "histogram_fraction(0, 0.2, rate(testhistogram3[10m]))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram3{start="positive"}
  { file: "histograms.test", line: 155, expr: "histogram_quantile(0, testhistogram3)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram3{start="positive"}
  { file: "histograms.test", line: 163, expr: "histogram_quantile(0.25, testhistogram3)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram3{start="positive"}
  { file: "histograms.test", line: 171, expr: "histogram_quantile(0.5, testhistogram3)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram3{start="positive"}
  { file: "histograms.test", line: 179, expr: "histogram_quantile(0.75, testhistogram3)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram3{start="positive"}
  { file: "histograms.test", line: 187, expr: "histogram_quantile(1, testhistogram3)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram3{start="positive"}
  { file: "histograms.test", line: 197, expr: "histogram_quantile(-0.1, testhistogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram{start="positive"}
  { file: "histograms.test", line: 207, expr: "histogram_quantile(1.01, testhistogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram{start="positive"}
  { file: "histograms.test", line: 217, expr: "histogram_quantile(NaN, testhistogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram{start="positive"}
  { file: "histograms.test", line: 227, expr: "histogram_quantile(0, testhistogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram{start="positive"}
  { file: "histograms.test", line: 237, expr: "histogram_quantile(1, testhistogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram{start="positive"}
  { file: "histograms.test", line: 247, expr: "histogram_quantile(0.2, testhistogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram{start="positive"}
  { file: "histograms.test", line: 255, expr: "histogram_quantile(0.5, testhistogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram{start="positive"}
  { file: "histograms.test", line: 263, expr: "histogram_quantile(0.8, testhistogram)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram{start="positive"}
  { file: "histograms.test", line: 272, expr: "histogram_quantile(0.2, rate(testhistogram[10m]))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram{start="positive"}
  { file: "histograms.test", line: 280, expr: "histogram_quantile(0.5, rate(testhistogram[10m]))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram{start="positive"}
  { file: "histograms.test", line: 288, expr: "histogram_quantile(0.8, rate(testhistogram[10m]))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram{start="positive"}
  { file: "histograms.test", line: 298, expr: "histogram_quantile(1./6., testhistogram2)", reason: NATIVE_HISTOGRAMS }, // reads the load_with_nhcb histogram testhistogram2 (only a native histogram has that name)
  { file: "histograms.test", line: 304, expr: "histogram_quantile(0.5, testhistogram2)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram2
  { file: "histograms.test", line: 310, expr: "histogram_quantile(5./6., testhistogram2)", reason: NATIVE_HISTOGRAMS }, // reads the load_with_nhcb histogram testhistogram2 (only a native histogram has that name)
  { file: "histograms.test", line: 316, expr: "histogram_quantile(1./6., rate(testhistogram2[15m]))", reason: NATIVE_HISTOGRAMS }, // reads the load_with_nhcb histogram testhistogram2 (only a native histogram has that name)
  { file: "histograms.test", line: 322, expr: "histogram_quantile(0.5, rate(testhistogram2[15m]))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of testhistogram2
  { file: "histograms.test", line: 328, expr: "histogram_quantile(5./6., rate(testhistogram2[15m]))", reason: NATIVE_HISTOGRAMS }, // reads the load_with_nhcb histogram testhistogram2 (only a native histogram has that name)
  { file: "histograms.test", line: 337, expr: "histogram_quantile(0.3, sum(rate(request_duration_seconds[10m])))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 343, expr: "histogram_quantile(0.5, sum(rate(request_duration_seconds[10m])))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 351, expr: "histogram_quantile(0.3, avg(rate(request_duration_seconds[10m])))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 357, expr: "histogram_quantile(0.5, avg(rate(request_duration_seconds[10m])))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 365, expr: "histogram_quantile(0.3, sum(rate(request_duration_seconds[10m])) by (instance))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 373, expr: "histogram_quantile(0.5, sum(rate(request_duration_seconds[10m])) by (instance))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 382, expr: "histogram_quantile(0.3, sum(rate(request_duration_seconds[10m])) by (job))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 390, expr: "histogram_quantile(0.5, sum(rate(request_duration_seconds[10m])) by (job))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 399, expr: "histogram_quantile(0.3, sum(rate(request_duration_seconds[10m])) by (job, instance))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 411, expr: "histogram_quantile(0.5, sum(rate(request_duration_seconds[10m])) by (job, instance))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 424, expr: "histogram_quantile(0.3, rate(request_duration_seconds[10m]))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 436, expr: "histogram_quantile(0.5, rate(request_duration_seconds[10m]))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 449, expr: "sum(request_duration_seconds)", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "histograms.test", line: 452, expr: "sum(request_duration_seconds{job=\"job1\",instance=\"ins1\"} + ignoring(job,instance) request_duration_seconds{job=\"job1\",instance=\"ins2\"} + ignoring(job,instance) request_duration_seconds{job=\"job2\",instance=\"ins1\"} + ignoring(job,instance) request_duration_seconds{job=\"job2\",instance=\"ins2\"})", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "histograms.test", line: 455, expr: "avg(request_duration_seconds)", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "histograms.test", line: 468, expr: "count(request_duration_seconds)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 498, expr: "histogram_quantile(0.5, rate(mixed[10m]))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of mixed{instance="ins1", job="job1"}
  { file: "histograms.test", line: 527, expr: "histogram_quantile(0.99, {__name__=~\"request_duration_seconds\\\\d*\"})", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of request_duration_seconds{instance="ins1", job="job1"}
  { file: "histograms.test", line: 544, expr: "rate(const_histogram[5m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "histograms.test", line: 552, expr: "histogram_quantile(1.0, sum(rate(const_histogram[5m])))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of const_histogram
  { file: "histograms.test", line: 562, expr: "sum_over_time(histogram_over_time[4m:1m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "histograms.test", line: 565, expr: "avg_over_time(histogram_over_time[4m:1m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "histograms.test", line: 576, expr: "increase(histogram_with_reset[15m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "histograms.test", line: 579, expr: "resets(histogram_with_reset[15m])", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of histogram_with_reset
  { file: "histograms.test", line: 582, expr: "histogram_count(increase(histogram_with_reset[15m]))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of histogram_with_reset
  { file: "histograms.test", line: 585, expr: "histogram_sum(increase(histogram_with_reset[15m]))", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of histogram_with_reset
  { file: "histograms.test", line: 600, expr: "histogram_quantile(0.8, series)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of series{host="a"}
  { file: "histograms.test", line: 605, expr: "histogram_fraction(-Inf, 1, series)", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of series{host="a"}
  { file: "operators.test", line: 292, expr: "{job=\"app-server\"} == 80", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="production", instance="1", job="app-server"}
  { file: "operators.test", line: 295, expr: "http_requests_histogram != 80", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="production", instance="1", job="app-server"}
  { file: "operators.test", line: 297, expr: "http_requests_histogram > 80", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="production", instance="1", job="app-server"}
  { file: "operators.test", line: 299, expr: "http_requests_histogram < 80", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="production", instance="1", job="app-server"}
  { file: "operators.test", line: 301, expr: "http_requests_histogram >= 80", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="production", instance="1", job="app-server"}
  { file: "operators.test", line: 303, expr: "http_requests_histogram <= 80", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of http_requests_histogram{group="production", instance="1", job="app-server"}
  { file: "operators.test", line: 306, expr: "http_requests_histogram == http_requests_histogram", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "operators.test", line: 531, expr: "left_histograms == right_histograms", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "operators.test", line: 534, expr: "left_histograms == bool right_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 537, expr: "left_histograms == right_floats_for_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 540, expr: "left_histograms == bool right_floats_for_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 549, expr: "left_histograms != right_histograms", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "operators.test", line: 552, expr: "left_histograms != bool right_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 555, expr: "left_histograms != right_floats_for_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 558, expr: "left_histograms != bool right_floats_for_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 567, expr: "left_histograms > right_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 570, expr: "left_histograms > bool right_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 573, expr: "left_histograms > right_floats_for_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 576, expr: "left_histograms > bool right_floats_for_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 585, expr: "left_histograms >= right_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 588, expr: "left_histograms >= bool right_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 591, expr: "left_histograms >= right_floats_for_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 594, expr: "left_histograms >= bool right_floats_for_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 603, expr: "left_histograms < right_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 606, expr: "left_histograms < bool right_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 609, expr: "left_histograms < right_floats_for_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 612, expr: "left_histograms < bool right_floats_for_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 621, expr: "left_histograms <= right_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 624, expr: "left_histograms <= bool right_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 627, expr: "left_histograms <= right_floats_for_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 630, expr: "left_histograms <= bool right_floats_for_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 667, expr: "left_histograms == 3", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 670, expr: "left_histograms == 0", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 673, expr: "left_histograms != 3", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 676, expr: "left_histograms != 0", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 679, expr: "left_histograms > 3", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 682, expr: "left_histograms > 0", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 685, expr: "left_histograms >= 3", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 688, expr: "left_histograms >= 0", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 691, expr: "left_histograms < 3", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 694, expr: "left_histograms < 0", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 697, expr: "left_histograms <= 3", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 700, expr: "left_histograms <= 0", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 703, expr: "left_histograms == bool 3", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 706, expr: "left_histograms == bool 0", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 709, expr: "left_histograms != bool 3", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 712, expr: "left_histograms != bool 0", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 715, expr: "left_histograms > bool 3", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 718, expr: "left_histograms > bool 0", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 721, expr: "left_histograms >= bool 3", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 724, expr: "left_histograms >= bool 0", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 727, expr: "left_histograms < bool 3", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 730, expr: "left_histograms < bool 0", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 733, expr: "left_histograms <= bool 3", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 736, expr: "left_histograms <= bool 0", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 773, expr: "3 == left_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 776, expr: "0 == left_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 779, expr: "3 != left_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 782, expr: "0 != left_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 785, expr: "3 < left_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 788, expr: "0 < left_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 791, expr: "3 < left_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 794, expr: "0 < left_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 797, expr: "3 > left_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 800, expr: "0 > left_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 803, expr: "3 >= left_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 806, expr: "0 >= left_histograms", reason: NATIVE_HISTOGRAMS }, // reads native histogram samples of left_histograms
  { file: "operators.test", line: 843, expr: "(testhistogram) and on() (vector(1) == 1)", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "operators.test", line: 847, expr: "(testhistogram) and on() (vector(1) == 1)", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "subquery.test", line: 146, expr: "increase(native_histogram[10m:3m])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
  { file: "subquery.test", line: 151, expr: "increase(native_histogram[10m:15s])", reason: NATIVE_HISTOGRAMS }, // expects a native histogram result
];

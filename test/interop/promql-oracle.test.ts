// Differential oracle for Kiln's PromQL engine and Prometheus HTTP API: the same dataset is
// remote-written to Debian's Prometheus 2.42 and to a real `kiln serve`, then ~45 Grafana-style
// queries (instant and range) and the series/labels/label-values endpoints are asked of both.
// Answers must agree: same label sets, same timestamps, values within relative 1e-9 (NaN = NaN).
//
// Kiln implements 3.x semantics and the reference is 2.42, so the dataset keeps every sample off
// window and lookback edges (see promql-oracle-data.ts). The differences that remain are 2.x vs
// 3.x by design and listed in KNOWN_DIFFERENCES with the reason; each of them must actually show
// (so the list cannot go stale), and any other difference fails the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KilnProcess, startKiln } from '../helpers/kiln-process.js';
import { type ApiAnswer, apiCall, apiTime, diffAnswers, encodeInTimeOrder, instantQuery, pushGroups, rangeQuery } from './promql-harness.js';
import { oracleDataset, SCRAPE_MS, STEPS } from './promql-oracle-data.js';
import { hasPrometheus, startPrometheus, type PrometheusProcess } from './prometheus.js';

const haveProm = hasPrometheus();
if (!haveProm) console.log('skipping the PromQL oracle: /usr/bin/prometheus is missing (apt-get install prometheus)');

const MIN = 60_000;

interface OracleQuery {
  q: string;
  /** Default both. Range-vector expressions can only be instant queries. */
  kinds?: Array<'instant' | 'range'>;
  /** Range step in seconds (default 60). */
  step?: number;
  /**
   * Shift every query time by +15 s: for subqueries, whose inner steps are multiples of their
   * step in absolute time, so that `T − range` never lands on an inner step (2.x includes it).
   */
  shifted?: boolean;
  /** The vector's order matters (sort, sort_desc). */
  ordered?: boolean;
  /** Prometheus answers an error: Kiln must answer the same errorType and HTTP status. */
  error?: boolean;
}

const QUERIES: OracleQuery[] = [
  // Raw selectors: instant (value at T), range-vector (raw sample timestamps), staleness.
  { q: 'http_requests_total' },
  { q: 'http_requests_total{instance="a:9100", method="GET", status="200"}[2m]', kinds: ['instant'] },
  { q: 'queue_depth[10m]', kinds: ['instant'] },
  { q: 'queue_depth', step: 15 },
  { q: 'http_requests_total{job="worker"}', step: 15 },
  // Counters.
  { q: 'sum by (job) (rate(http_requests_total[5m]))' },
  { q: 'sum by (job, status) (increase(http_requests_total[10m]))' },
  { q: 'rate(http_requests_total[5m])', step: 15 },
  { q: 'irate(http_requests_total[1m])' },
  { q: 'resets(http_requests_total[30m])' },
  { q: 'sum without (instance) (rate(http_requests_total[5m]))' },
  { q: 'topk(3, rate(http_requests_total[5m]))' },
  { q: 'bottomk(2, sum by (instance) (rate(http_requests_total[5m])))' },
  { q: 'sort_desc(sum by (instance) (rate(http_requests_total[5m])))', kinds: ['instant'], ordered: true },
  { q: 'sort(sum by (job, method) (increase(http_requests_total[15m])))', kinds: ['instant'], ordered: true },
  // Classic histograms.
  { q: 'histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))' },
  { q: 'histogram_quantile(0.5, sum by (job, le) (rate(request_duration_seconds_bucket[5m])))' },
  { q: 'histogram_quantile(0.99, rate(request_duration_seconds_bucket[10m]))' },
  { q: 'sum by (job) (rate(request_duration_seconds_sum[5m])) / sum by (job) (rate(request_duration_seconds_count[5m]))' },
  // Gauges and *_over_time.
  { q: 'sum_over_time(node_temperature_celsius[10m])' },
  { q: 'avg_over_time(node_temperature_celsius[5m])', step: 15 },
  { q: 'max_over_time(queue_depth[10m]) - min_over_time(queue_depth[10m])' },
  { q: 'count_over_time(queue_depth[10m])' },
  { q: 'last_over_time(queue_depth[10m])' },
  { q: 'quantile_over_time(0.3, node_temperature_celsius[10m])' },
  { q: 'stddev_over_time(node_temperature_celsius[10m])' },
  { q: 'delta(node_temperature_celsius[10m])' },
  { q: 'deriv(node_temperature_celsius[10m])' },
  { q: 'predict_linear(node_temperature_celsius[10m], 600)' },
  { q: 'changes(queue_depth[15m])' },
  { q: 'timestamp(queue_depth)' },
  // Aggregations.
  { q: 'avg by (job) (node_temperature_celsius)' },
  { q: 'min by (zone) (node_temperature_celsius)' },
  { q: 'max by (zone) (node_temperature_celsius)' },
  { q: 'count by (job) (target_up)' },
  { q: 'stddev by (job) (node_temperature_celsius)' },
  { q: 'stdvar(queue_depth)' },
  { q: 'quantile by (zone) (0.75, node_temperature_celsius)' },
  { q: 'group by (job) (http_requests_total)' },
  { q: 'count_values("value", target_up)' },
  { q: 'count_values("t", round(node_temperature_celsius))' },
  // Binary operators and vector matching.
  { q: 'rate(http_requests_total[5m]) * on (job, instance) group_left (version) build_info' },
  { q: 'sum by (job, instance, status) (rate(http_requests_total[5m])) / ignoring (status) group_left sum by (job, instance) (rate(http_requests_total[5m]))' },
  { q: 'node_temperature_celsius > 5' },
  { q: 'node_temperature_celsius > bool 5' },
  { q: 'queue_depth * 2 - 1 >= 10' },
  { q: 'node_temperature_celsius > 0 and on (instance) target_up == 1' },
  { q: 'target_up == 0 or node_temperature_celsius < 0' },
  { q: 'queue_depth unless queue_depth > 20' },
  { q: 'sum(target_up) / scalar(count(target_up))' },
  { q: '1 + 1' },
  // Functions on labels, absence, offsets, subqueries, math.
  { q: 'label_replace(rate(http_requests_total[5m]), "host", "$1", "instance", "([^:]+):.*")' },
  { q: 'label_join(target_up, "id", "/", "job", "instance")' },
  { q: 'absent(nonexistent_metric{job="x"})' },
  { q: 'absent(queue_depth{queue="q3"})', step: 15 },
  { q: 'rate(http_requests_total[5m] offset 10m)' },
  { q: 'sum(queue_depth offset 3m)' },
  { q: 'max_over_time(rate(http_requests_total[5m])[10m:1m])', shifted: true },
  { q: 'avg_over_time(sum by (job) (rate(http_requests_total[1m]))[15m:30s])', shifted: true },
  { q: 'clamp(node_temperature_celsius, -5, 5) + abs(node_temperature_celsius) * sgn(node_temperature_celsius)' },
  { q: 'round(node_temperature_celsius, 0.5)' },
  // More operators and edge cases Grafana dashboards hit.
  { q: 'topk by (job) (1, rate(http_requests_total[5m]))' },
  { q: 'quantile(0.5, rate(http_requests_total[5m]))' },
  { q: 'count(count by (instance) (http_requests_total))' },
  { q: 'sum by (job) (irate(http_requests_total[2m]))' },
  { q: 'sum(rate(http_requests_total{job="nonexistent"}[5m])) or vector(0)' },
  { q: 'build_info * on (job, instance) group_right (version) rate(http_requests_total[5m])' },
  { q: 'rate(http_requests_total[5m]) > on (job, instance, method, status) rate(http_requests_total[5m] offset 5m)' },
  { q: 'histogram_quantile(1.5, sum by (le) (rate(request_duration_seconds_bucket[5m])))' },
  { q: 'histogram_quantile(-0.1, sum by (le) (rate(request_duration_seconds_bucket[5m])))' },
  { q: 'sum by (le) (request_duration_seconds_bucket)' },
  { q: 'sqrt(node_temperature_celsius) + ln(node_temperature_celsius)' },
  { q: 'queue_depth / 0' },
  { q: '-queue_depth ^ 2 % 7' },
  { q: 'node_temperature_celsius atan2 -3' },
  { q: 'scalar(queue_depth)' },
  { q: 'idelta(queue_depth[5m])' },
  { q: 'stdvar_over_time(queue_depth[10m])' },
  { q: 'absent_over_time(queue_depth{queue="q3"}[5m])' },
  { q: 'present_over_time(queue_depth[5m])' },
  { q: 'deriv(http_requests_total[10m])' },
  { q: 'increase(http_requests_total[5m] offset -5m)' },
  { q: 'time() - max(timestamp(target_up))' },
  { q: 'minute(timestamp(target_up))' },
  { q: 'day_of_week() * 100 + hour()' },
  { q: 'label_replace(target_up, "dc", "$1", "nonexistent", "(.+)")' },
  { q: 'max_over_time(queue_depth[10m:])', shifted: true },
  { q: 'max_over_time(rate(http_requests_total[5m])[10m:1m] offset 5m)', shifted: true },
  { q: 'sum(rate(http_requests_total[5m] @ start()))' },
  { q: 'max(queue_depth @ end())' },
  { q: 'rate(http_requests_total[5m])', step: 37 },
  { q: 'sum_over_time(queue_depth[90s])', step: 45 },
  { q: 'http_requests_total{instance=~"a.*|w1.*", status!~"5.."}' },
  { q: 'count by (__name__) ({__name__=~"queue_.*|target_up|build_info"})' },
  { q: 'target_up{zone=""}' },
  { q: 'last_over_time(http_requests_total[1m])' },
  { q: 'count_values by (job) ("v", target_up)' },
  { q: 'quantile_over_time(0.95, rate(http_requests_total[5m])[10m:1m])', shifted: true },
  { q: 'queue_depth == bool on (job) group_left max by (job) (queue_depth)' },
  { q: 'node_temperature_celsius unless on (instance) target_up == 0' },
  { q: 'time()' },
  // Errors: the same errorType and HTTP status from both.
  { q: '"hello"', kinds: ['instant'] },
  { q: '"hello"', kinds: ['range'], error: true },
  { q: 'sum(', error: true },
  { q: 'rate(queue_depth)', error: true },
  { q: 'http_requests_total / on (job) target_up', error: true },
  // 2.x vs 3.x (see KNOWN_DIFFERENCES).
  { q: 'holt_winters(node_temperature_celsius[10m], 0.5, 0.5)' },
  { q: 'count_over_time(edge_probe_total[1m])' },
  { q: 'edge_probe_total', kinds: ['instant'] },
];

/**
 * Differences that are 2.42 vs 3.x semantics by design (or 2.42 behaviour Prometheus changed
 * later), keyed by `<kind> <query>` (kind: instant, range or an endpoint name). Each must show up.
 */
const KNOWN_DIFFERENCES: Record<string, string> = {
  'instant holt_winters(node_temperature_celsius[10m], 0.5, 0.5)': '3.x renamed holt_winters to double_exponential_smoothing (experimental); Kiln has no holt_winters (bad_data)',
  'range holt_winters(node_temperature_celsius[10m], 0.5, 0.5)': '3.x renamed holt_winters to double_exponential_smoothing (experimental); Kiln has no holt_winters (bad_data)',
  'instant node_temperature_celsius atan2 -3': '2.42 keeps __name__ on atan2 results; since v2.47 (prometheus 531567d) atan2 drops it like every arithmetic operator',
  'range node_temperature_celsius atan2 -3': '2.42 keeps __name__ on atan2 results; since v2.47 (prometheus 531567d) atan2 drops it like every arithmetic operator',
  'instant count_over_time(edge_probe_total[1m])': 'samples on both window edges: 2.x ranges are [t−1m, t] (5 samples), 3.x (t−1m, t] (4)',
  'range count_over_time(edge_probe_total[1m])': 'samples on both window edges: 2.x ranges are [t−1m, t] (5 samples), 3.x (t−1m, t] (4)',
  'instant edge_probe_total': 'the last sample (B+58m) is exactly 5 m before the last query time (B+63m): 2.x lookback [t−5m, t] still sees it, 3.x (t−5m, t] does not',
};

interface Case {
  key: string;
  ask: (api: string) => Promise<ApiAnswer>;
  ordered?: boolean;
  error?: boolean;
}

describe.skipIf(!haveProm)('PromQL oracle: Kiln against Prometheus 2.42 on the same data', () => {
  let prom: PrometheusProcess;
  let kiln: KilnProcess;
  let kilnApi: string;
  // B: a 15-minute boundary; the data covers [B, B+60m) and ends at least 15 m before now.
  const base = Math.floor(Date.now() / (15 * MIN)) * 15 * MIN - 75 * MIN;
  // Just after a series is born (c POST 500), mid-range, and after the data ends.
  const times = [base + 21 * MIN, base + 50 * MIN, base + 63 * MIN];
  const range = { start: base + 5 * MIN, end: base + 66 * MIN };

  beforeAll(async () => {
    [prom, kiln] = await Promise.all([startPrometheus(), startKiln(['-target=tsdb', '-tsdb.distributor.ingestion-rate-limit=0'])]);
    kilnApi = `${kiln.url}/prometheus`;
    const series = oracleDataset(base);
    const groups = encodeInTimeOrder(series, 5 * MIN);
    await Promise.all([pushGroups(prom.writeUrl, groups), pushGroups(`${kiln.url}/api/v1/push`, groups)]);
    console.log(`oracle data: ${series.length} series × up to ${STEPS} samples every ${SCRAPE_MS / 1000} s from ${new Date(base).toISOString()}`);
  });
  afterAll(async () => {
    await Promise.all([prom?.stop(), kiln?.stop()]);
  });

  /** Asks both, prints one line per comparison, and returns the unexplained differences. */
  async function compare(cases: Case[]): Promise<string[]> {
    const lines: string[] = [];
    const unexpected: string[] = [];
    for (const c of cases) {
      const want = await c.ask(prom.url);
      const got = await c.ask(kilnApi);
      const diff = diffAnswers(want, got, c.ordered);
      const known = KNOWN_DIFFERENCES[c.key];
      if ((want.body.status !== 'success') !== (c.error === true) && known === undefined) {
        unexpected.push(`${c.key}: Prometheus ${c.error ? 'answered' : `itself failed: ${want.body.error}`}`);
      }
      if (diff.length === 0 && known === undefined) {
        // Same errorType and status; the texts are shown when they differ (not a failure).
        const texts = want.body.error === got.body.error ? '' : `\n        prometheus: ${want.body.error}\n        kiln:       ${got.body.error}`;
        lines.push(`OK    ${c.key}${c.error ? ` (${want.httpStatus} ${want.body.errorType})${texts}` : ''}`);
      }
      else if (diff.length > 0 && known !== undefined) lines.push(`KNOWN ${c.key}\n        (${known})\n        ${diff.join('\n        ')}`);
      else if (diff.length > 0) {
        lines.push(`DIFF  ${c.key}\n        ${diff.join('\n        ')}`);
        unexpected.push(`${c.key}: ${diff[0]}`);
      } else {
        lines.push(`GONE  ${c.key} (listed as a known difference but answered the same: ${known})`);
        unexpected.push(`${c.key}: listed in KNOWN_DIFFERENCES but no difference`);
      }
    }
    console.log(lines.join('\n'));
    return unexpected;
  }

  it('answers the instant and range queries as Prometheus does, except the listed 2.x/3.x differences', async () => {
    const cases: Case[] = [];
    for (const query of QUERIES) {
      const shift = query.shifted ? 15_000 : 0;
      const kinds = query.kinds ?? ['instant', 'range'];
      // Known differences are keyed per kind; instant queries run at both times (one line each).
      if (kinds.includes('instant')) {
        cases.push({
          key: `instant ${query.q}`,
          ordered: query.ordered,
          error: query.error,
          ask: async (api) => combineInstants(await Promise.all(times.map((t) => instantQuery(api, query.q, t + shift)))),
        });
      }
      if (kinds.includes('range')) {
        cases.push({ key: `range ${query.q}`, error: query.error, ask: (api) => rangeQuery(api, query.q, range.start + shift, range.end + shift, (query.step ?? 60) * 1000) });
      }
    }
    const unexpected = await compare(cases);
    console.log(`${cases.length} comparisons, ${unexpected.length} unexplained differences`);
    expect(unexpected).toEqual([]);
  });

  it('answers series, labels and label values as Prometheus does', async () => {
    const window = { start: apiTime(base), end: apiTime(base + 66 * MIN) };
    const cases: Case[] = [
      { key: 'series http_requests_total{job="api"}', ask: (api) => apiCall(api, 'series', { 'match[]': 'http_requests_total{job="api"}', ...window }) },
      { key: 'series queue_depth, target_up{job="node"}', ask: (api) => apiCall(api, 'series', { 'match[]': ['queue_depth', 'target_up{job="node"}'], ...window }) },
      { key: 'series {__name__=~"request_duration_seconds_(sum|count)"} (POST)', ask: (api) => apiCall(api, 'series', { 'match[]': '{__name__=~"request_duration_seconds_(sum|count)"}', ...window }, 'POST') },
      { key: 'series queue_depth in the last 10 m', ask: (api) => apiCall(api, 'series', { 'match[]': 'queue_depth', start: apiTime(base + 56 * MIN), end: apiTime(base + 66 * MIN) }) },
      { key: 'labels', ask: (api) => apiCall(api, 'labels', window) },
      { key: 'labels match[]=request_duration_seconds_bucket', ask: (api) => apiCall(api, 'labels', { 'match[]': 'request_duration_seconds_bucket', ...window }) },
      { key: 'label/__name__/values', ask: (api) => apiCall(api, 'label/__name__/values', window) },
      { key: 'label/instance/values match[]=http_requests_total', ask: (api) => apiCall(api, 'label/instance/values', { 'match[]': 'http_requests_total', ...window }) },
      { key: 'label/le/values', ask: (api) => apiCall(api, 'label/le/values', {}) },
      { key: 'label/nonexistent/values', ask: (api) => apiCall(api, 'label/nonexistent/values', window) },
      { key: 'query_range step=0', error: true, ask: (api) => apiCall(api, 'query_range', { query: 'target_up', ...window, step: '0' }) },
      { key: 'query_range end before start', error: true, ask: (api) => apiCall(api, 'query_range', { query: 'target_up', start: window.end, end: window.start, step: '15' }) },
      { key: 'query_range over 11,000 points', error: true, ask: (api) => apiCall(api, 'query_range', { query: 'target_up', ...window, step: '0.3' }) },
    ];
    const unexpected = await compare(cases);
    expect(unexpected).toEqual([]);
  });
});

/**
 * One answer out of the instant queries at each time, so each query is one comparison: the first
 * error if any, else the results concatenated with a `(time)` label telling the times apart
 * (a scalar becomes a one-item vector labelled `(scalar)`; differing result types are reported).
 */
function combineInstants(answers: ApiAnswer[]): ApiAnswer {
  const failed = answers.find((a) => a.body.status !== 'success');
  if (failed) return failed;
  const data = answers.map((a) => a.body.data as { resultType: string; result: unknown });
  const types = [...new Set(data.map((d) => d.resultType))];
  const ok = (resultType: string, result: unknown[]): ApiAnswer => ({ httpStatus: 200, body: { status: 'success', data: { resultType, result } } });
  if (types.length !== 1) return ok(types.join('/'), []);
  const tag = (metric: Record<string, string>, i: number) => ({ ...metric, '(time)': String(i) });
  type Item = { metric: Record<string, string> };
  if (types[0] === 'vector' || types[0] === 'matrix') return ok(types[0], data.flatMap((d, i) => (d.result as Item[]).map((s) => ({ ...s, metric: tag(s.metric, i) }))));
  return ok('vector', data.map((d, i) => ({ metric: tag({ [`(${d.resultType})`]: '' }, i), value: d.result })));
}

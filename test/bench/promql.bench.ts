// npm run bench:promql — Grafana-style range queries on Kiln's PromQL engine beside Debian's
// Prometheus 2.42, both holding the same 10k series × 1 h (15 s scrape interval) loaded by remote
// write: median latency per query over /api/v1/query_range (Kiln's under /prometheus), the
// ratio Kiln / Prometheus, and a check that both answered the same series and points.
//
// Reports only; it never asserts a time. Target: Kiln ≤ 1.0× Prometheus.
// BENCH_ITERATIONS (default 10) timed runs per query and server, alternating servers; a query
// stops early (after at least 3 runs) once it has used BENCH_QUERY_BUDGET_S (default 25) seconds.

import { performance } from 'node:perf_hooks';
import { startKiln } from '../helpers/kiln-process.js';
import { type ApiAnswer, type DataSeries, apiTime, countSeriesAndPoints, diffAnswers, encodeInTimeOrder, pushGroups } from '../interop/promql-harness.js';
import { hasPrometheus, startPrometheus } from '../interop/prometheus.js';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 10);
const QUERY_BUDGET_MS = Number(process.env.BENCH_QUERY_BUDGET_S ?? 25) * 1000;
const SCRAPE_MS = 15_000;
const SAMPLES = 240; // one hour
const X_VALUES = 100;
const LES = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];

const QUERIES = [
  'sum by (x) (rate(m_total[5m]))',
  'topk(5, rate(m_total[5m]))',
  'histogram_quantile(0.9, sum by (le, x) (rate(h_bucket[5m])))',
  'sum_over_time(g[5m])',
  'avg by (x) (g)',
];

/**
 * 10,000 series: m_total (counters, 100 x × 40 instances), h_bucket (classic histograms, 100 x ×
 * 4 instances × 10 le) and g (gauges, 100 x × 20 instances). Scrapes are spread over the 15 s
 * interval per instance, as a real Prometheus spreads its targets, but never exactly on the
 * 15 s grid of the query steps: a sample on a window edge is in 2.x's [t−5m, t] and not in 3.x's
 * (t−5m, t], and the value check below would flag it.
 */
function dataset(start: number): DataSeries[] {
  const out: DataSeries[] = [];
  const times = (instance: number) => Array.from({ length: SAMPLES }, (_, i) => start + i * SCRAPE_MS + 500 + ((instance * 373) % 14_000));
  for (let x = 0; x < X_VALUES; x++) {
    for (let inst = 0; inst < 40; inst++) {
      // Counters start high: a series that starts inside a window is extrapolated towards zero
      // differently by 2.x and 3.x when its first value is small. Each series grows at its own
      // rate, so topk never meets ties (which either server may break its own way).
      const own = (x * 40 + inst) / 4000;
      let v = 10_000 + x * 10 + inst;
      const values = Array.from({ length: SAMPLES }, (_, i) => {
        // Every 50th series restarts once.
        v = (x * 40 + inst) % 50 === 7 && i === 120 ? 0 : v + ((x + inst * 3 + i) % 9) + own;
        return v;
      });
      out.push({ labels: { __name__: 'm_total', instance: `i${inst}`, job: 'bench', x: `x${x}` }, timestamps: times(inst), values });
    }
    for (let inst = 0; inst < 4; inst++) {
      const cumulative = LES.map((_, b) => 1000 * (b + 1));
      const perLe: number[][] = LES.map(() => []);
      for (let i = 0; i < SAMPLES; i++) {
        let c = 0;
        for (let b = 0; b < LES.length; b++) {
          c += (x + inst + i + b * 7) % 5;
          cumulative[b]! += c;
          perLe[b]!.push(cumulative[b]!);
        }
      }
      LES.forEach((le, b) => out.push({ labels: { __name__: 'h_bucket', instance: `i${inst}`, job: 'bench', le, x: `x${x}` }, timestamps: times(inst), values: perLe[b]! }));
    }
    for (let inst = 0; inst < 20; inst++) {
      const values = Array.from({ length: SAMPLES }, (_, i) => Math.round(1000 * Math.sin((i + x * 7 + inst) / 20)) / 10);
      out.push({ labels: { __name__: 'g', instance: `i${inst}`, job: 'bench', x: `x${x}` }, timestamps: times(inst), values });
    }
  }
  return out;
}

/** One query_range over HTTP (POST form, as Grafana sends it); the time covers the request and reading the body. */
async function timedRange(api: string, query: string, startMs: number, endMs: number): Promise<{ ms: number; answer: ApiAnswer }> {
  const body = new URLSearchParams({ query, start: apiTime(startMs), end: apiTime(endMs), step: String(SCRAPE_MS / 1000) }).toString();
  const t0 = performance.now();
  const res = await fetch(`${api}/api/v1/query_range`, { method: 'POST', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  const text = await res.text();
  const ms = performance.now() - t0;
  let answer: ApiAnswer;
  try {
    answer = { httpStatus: res.status, body: JSON.parse(text) as ApiAnswer['body'] };
  } catch {
    answer = { httpStatus: res.status, body: { status: 'error', errorType: `http ${res.status}`, error: text.slice(0, 200) } };
  }
  return { ms, answer };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

if (!hasPrometheus()) {
  console.log('bench:promql needs /usr/bin/prometheus (apt-get install prometheus) for its anchor; not run');
  process.exit(0);
}

// Data ends two scrape intervals before now, so every sample is accepted and all of it is in the head.
const start = Math.floor(Date.now() / SCRAPE_MS) * SCRAPE_MS - (SAMPLES + 2) * SCRAPE_MS;
const series = dataset(start);
const groups = encodeInTimeOrder(series, 5 * 60_000);
const mb = groups.flat().reduce((n, r) => n + r.length, 0) / 1e6;
console.log(`promql benchmark: ${series.length} series × ${SAMPLES} samples (${SCRAPE_MS / 1000} s interval), ${groups.flat().length} remote-write requests (${mb.toFixed(1)} MB), node ${process.version}`);

const [prom, kiln] = await Promise.all([startPrometheus(), startKiln(['-target=tsdb', '-tsdb.distributor.ingestion-rate-limit=0'])]);
try {
  const servers = [
    { name: 'kiln', api: `${kiln.url}/prometheus`, write: `${kiln.url}/api/v1/push` },
    { name: 'prometheus', api: prom.url, write: prom.writeUrl },
  ];
  for (const s of servers) {
    const t0 = performance.now();
    await pushGroups(s.write, groups);
    console.log(`  loaded ${s.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  // The range: the whole hour, 15 s steps, aligned to the step as Grafana sends it.
  const qStart = start + SCRAPE_MS;
  const qEnd = qStart + 60 * 60_000 - SCRAPE_MS;
  const ratios: number[] = [];
  const rows: string[] = [];
  console.log(`  queries: query_range over 1 h at ${SCRAPE_MS / 1000} s steps, up to ${ITERATIONS} runs each after a warm-up`);
  for (const query of QUERIES) {
    // Warm-up (also the correctness check on shape and values).
    const [k, p] = [await timedRange(servers[0]!.api, query, qStart, qEnd), await timedRange(servers[1]!.api, query, qStart, qEnd)];
    const kc = countSeriesAndPoints(k.answer);
    const pc = countSeriesAndPoints(p.answer);
    let check = `${pc.series} series, ${pc.points} points`;
    if (k.answer.body.status !== 'success') check = `!!! KILN FAILED: ${k.answer.body.errorType}: ${k.answer.body.error}`;
    else if (p.answer.body.status !== 'success') check = `!!! PROMETHEUS FAILED: ${p.answer.body.error}`;
    else if (kc.series !== pc.series || kc.points !== pc.points) check = `!!! MISMATCH: kiln ${kc.series} series ${kc.points} points, prometheus ${pc.series} series ${pc.points} points`;
    else {
      const diff = diffAnswers(p.answer, k.answer, false, 2);
      if (diff.length > 0) check += ` — !!! VALUES DIFFER: ${diff.join('; ')}`;
    }
    const times: Record<string, number[]> = { kiln: [], prometheus: [] };
    const began = performance.now();
    for (let i = 0; i < ITERATIONS; i++) {
      if (i >= 3 && performance.now() - began > QUERY_BUDGET_MS) break;
      // Alternate which server goes first, so neither always runs on a just-warmed client or CPU.
      const order = i % 2 === 0 ? servers : [servers[1]!, servers[0]!];
      for (const s of order) times[s.name]!.push((await timedRange(s.api, query, qStart, qEnd)).ms);
    }
    const km = median(times.kiln!);
    const pm = median(times.prometheus!);
    const ok = k.answer.body.status === 'success';
    if (ok) ratios.push(km / pm);
    rows.push(
      `  ${query.padEnd(62)} kiln ${km.toFixed(1).padStart(8)} ms   prometheus ${pm.toFixed(1).padStart(8)} ms   ratio ${ok ? (km / pm).toFixed(2).padStart(6) : '   n/a'}×   (${times.kiln!.length} runs; ${check})`,
    );
    console.log(rows[rows.length - 1]);
  }
  const geo = ratios.length > 0 ? Math.exp(ratios.reduce((n, r) => n + Math.log(r), 0) / ratios.length) : NaN;
  console.log(`  geometric-mean ratio kiln / prometheus ${geo.toFixed(2)}× over ${ratios.length} of ${QUERIES.length} queries (target ≤ 1.0×)`);
} finally {
  await Promise.all([prom.stop(), kiln.stop()]);
}

// The PromQL oracle's dataset: ~80 series over one hour at a 15 s scrape interval, relative to a
// base time B on a 15-minute boundary. Deterministic given B (no randomness).
//
// Sample times sit 1.37–1.74 s after the 15 s grid (a per-series offset), and every query time,
// step and window in the oracle is a multiple of 15 s, so no sample ever lies on a window edge or
// on the edge of the 5 m lookback: there Prometheus 2.x (closed on the left) and 3.x (open) would
// answer differently. The one exception is `edge_probe_total`, whose samples sit exactly on the
// grid, to show that difference on purpose.

import { STALE, type DataSeries } from './promql-harness.js';

export const SCRAPE_MS = 15_000;
/** Samples per series (one hour). */
export const STEPS = 240;

const round2 = (v: number) => Math.round(v * 100) / 100;

export function oracleDataset(base: number): DataSeries[] {
  const out: DataSeries[] = [];
  let k = 0;
  /** Adds a series sampled at steps [from, to) of the grid; `value(i)` undefined = no sample. */
  const add = (labels: Record<string, string>, value: (i: number) => number | undefined, from = 0, to = STEPS, onGrid = false) => {
    const offset = onGrid ? 0 : 1370 + (k % 7) * 61;
    k++;
    const s: DataSeries = { labels, timestamps: [], values: [] };
    for (let i = from; i < to; i++) {
      const v = value(i);
      if (v === undefined) continue;
      s.timestamps.push(base + i * SCRAPE_MS + offset);
      s.values.push(v);
    }
    out.push(s);
  };

  // Counters with resets: 12 api series, 2 worker series.
  const counterSpecs: Array<{ job: string; instance: string; method: string; status: string }> = [];
  for (const instance of ['a:9100', 'b:9100', 'c:9100'])
    for (const method of ['GET', 'POST']) for (const status of ['200', '500']) counterSpecs.push({ job: 'api', instance, method, status });
  for (const instance of ['w1:9100', 'w2:9100']) counterSpecs.push({ job: 'worker', instance, method: 'GET', status: '200' });
  counterSpecs.forEach((spec, n) => {
    // api c POST 500 is born at step 80 at 0 (a new series mid-range); worker w2 goes away at
    // step 200 with a stale marker (its target vanished).
    const born = spec.instance === 'c:9100' && spec.method === 'POST' && spec.status === '500' ? 80 : 0;
    const stops = spec.instance === 'w2:9100' ? 200 : STEPS;
    const resets = new Set<number>();
    if (n % 4 === 1) resets.add(70 + n * 3);
    if (n === 5) resets.add(200);
    let v = born > 0 ? 0 : 100 + 37 * n;
    add(
      { __name__: 'http_requests_total', ...spec },
      (i) => {
        if (i === stops) return STALE;
        if (i > stops) return undefined;
        if (i === born) return v;
        // The 200s grow at distinct rates (so topk/bottomk/sort never meet ties), the 500s slowly.
        const inc = spec.status === '500' ? ((i + n) % 4 === 0 ? 1 : 0) : (n + 1) * 2 + ((i * 3 + n) % 5 === 0 ? 1 : 0) + (Math.floor(i / 40) % 2) * (n % 3);
        v = resets.has(i) ? inc : v + inc;
        return v;
      },
      born,
      stops + 1,
    );
  });

  // Gauges that go negative.
  for (const instance of ['n1:9100', 'n2:9100', 'n3:9100'])
    for (const zone of ['inner', 'outer']) {
      const n = k;
      add({ __name__: 'node_temperature_celsius', job: 'node', instance, zone }, (i) => round2(8 * Math.sin(i / 13 + n) + (n % 6 - 3) * 3 + ((i * n) % 7) * 0.25));
    }

  // Classic histograms: 4 of them, 7 buckets each, with _sum and _count; x2 of worker resets at step 150.
  const LES = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
  const MIDS = [0.03, 0.07, 0.2, 0.4, 0.8, 2, 4];
  let h = 0;
  for (const job of ['api', 'worker'])
    for (const instance of ['x1:9100', 'x2:9100']) {
      const hh = h++;
      const resetAt = job === 'worker' && instance === 'x2:9100' ? 150 : -1;
      // Per step, per bucket (non-cumulative) observation counts.
      const perStep = (i: number) => LES.map((_, b) => ((b * 3 + hh * 5 + i) % 4) + (b < 3 ? 2 : b < 5 ? 1 : 0));
      const totals = (i: number): { cum: number[]; sum: number } => {
        const cum = new Array<number>(LES.length).fill(0);
        let sum = 0;
        for (let j = resetAt >= 0 && i >= resetAt ? resetAt : 0; j <= i; j++) {
          const obs = perStep(j);
          let c = 0;
          obs.forEach((o, b) => {
            c += o;
            cum[b] += c;
            sum += o * MIDS[b]!;
          });
        }
        return { cum, sum };
      };
      const labels = { job, instance };
      LES.forEach((le, b) => add({ __name__: 'request_duration_seconds_bucket', ...labels, le }, (i) => totals(i).cum[b]!));
      add({ __name__: 'request_duration_seconds_sum', ...labels }, (i) => round2(totals(i).sum));
      add({ __name__: 'request_duration_seconds_count', ...labels }, (i) => totals(i).cum[LES.length - 1]!);
    }

  // Gauges that stop or pause: q3 stops with a stale marker at step 160; q4 stops without one at
  // step 180 (visible for the 5 m lookback after); q5 pauses for steps 80–119 (10 m) and resumes.
  for (const queue of ['q1', 'q2', 'q3', 'q4', 'q5']) {
    const n = k;
    add({ __name__: 'queue_depth', job: 'queue', queue }, (i) => {
      if (queue === 'q3' && i >= 160) return i === 160 ? STALE : undefined;
      if (queue === 'q4' && i >= 180) return undefined;
      if (queue === 'q5' && i >= 80 && i < 120) return undefined;
      return ((i * 3 + n * 11) % 37) - 5;
    });
  }

  // Up-like 0/1 gauges and an info metric for group_left joins.
  const targets: Array<[string, string]> = [
    ['api', 'a:9100'],
    ['api', 'b:9100'],
    ['api', 'c:9100'],
    ['worker', 'w1:9100'],
    ['worker', 'w2:9100'],
    ['node', 'n1:9100'],
    ['node', 'n2:9100'],
    ['node', 'n3:9100'],
  ];
  for (const [job, instance] of targets) add({ __name__: 'target_up', job, instance }, (i) => (instance === 'c:9100' && i >= 100 && i < 140 ? 0 : 1));
  for (const [job, instance] of targets.filter(([j]) => j !== 'node'))
    add({ __name__: 'build_info', job, instance, version: instance.startsWith('a') || instance.startsWith('w1') ? 'v1.2.0' : 'v1.3.1' }, () => 1);

  // Exactly on the 15 s grid, up to step 232 (B+58m): windows and the lookback end exactly on
  // its samples, where 2.x and 3.x differ.
  add({ __name__: 'edge_probe_total', job: 'probe' }, (i) => i, 0, 233, true);
  return out;
}

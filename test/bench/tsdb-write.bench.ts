// npm run bench:tsdb-write — remote-write ingest into Kiln's TSDB beside Debian's Prometheus
// 2.42 receiving the same pre-encoded requests in the same run: samples/s, and resident memory
// per series after ingest.
//
// The requests look like a Prometheus sender's: one timestamp per request, a slice of the
// series each, time steps in order, a few requests in flight.

import { performance } from 'node:perf_hooks';
import { encodeWriteRequest, type RemoteWriteSeries } from '../../src/profiles/exporter/remote-write-encoding.js';
import { snappyCompress } from '../../src/profiles/exporter/snappy.js';
import { startKiln } from '../helpers/kiln-process.js';
import { hasPrometheus, startPrometheus } from '../interop/prometheus.js';

const SERIES = Number(process.env.TSDB_BENCH_SERIES ?? 10_000);
const SAMPLES = Number(process.env.TSDB_BENCH_SAMPLES ?? 500);
const SERIES_PER_REQUEST = 2000;
// 5 s steps keep the whole run within the last hour, which every receiver accepts in order.
const STEP_MS = 5_000;
// One sender per slice of series, each sending its slice's requests in time order (as a
// Prometheus shard does), so no series ever sees its samples out of order.
const SLICES = Math.ceil(SERIES / SERIES_PER_REQUEST);

/** requests[slice][step]. */
function buildRequests(): Uint8Array[][] {
  const start = Date.now() - SAMPLES * STEP_MS;
  const labels = Array.from({ length: SERIES }, (_, i) => [
    { name: '__name__', value: `bench_requests_total_${i % 50}` },
    { name: 'instance', value: `host-${Math.floor(i / 50)}:9100` },
    { name: 'job', value: 'bench' },
  ]);
  const out: Uint8Array[][] = Array.from({ length: SLICES }, () => []);
  for (let s = 0; s < SAMPLES; s++) {
    const t = start + s * STEP_MS;
    for (let first = 0; first < SERIES; first += SERIES_PER_REQUEST) {
      const series: RemoteWriteSeries[] = [];
      for (let i = first; i < Math.min(SERIES, first + SERIES_PER_REQUEST); i++) {
        // Counters that grow at different rates, as real ones do.
        series.push({ labels: labels[i]!, samples: [{ timestampMs: t, value: i * 1000 + s * ((i % 7) + 1) }] });
      }
      out[first / SERIES_PER_REQUEST]!.push(snappyCompress(encodeWriteRequest(series)));
    }
  }
  return out;
}

async function rssBytes(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes '));
  return Number(line?.split(' ')[1]);
}

async function ingest(url: string, requests: Uint8Array[][], headers: Record<string, string>): Promise<{ seconds: number; failures: number }> {
  let failures = 0;
  let firstFailure = '';
  const t0 = performance.now();
  await Promise.all(
    requests.map(async (slice) => {
      for (const body of slice) {
        const res = await fetch(url, { method: 'POST', body, headers });
        if (res.status < 300) await res.arrayBuffer();
        if (res.status >= 300) {
          failures++;
          firstFailure ||= `${res.status} ${(await res.text().catch(() => '')).slice(0, 200)}`;
        }
      }
    }),
  );
  if (firstFailure) console.log(`  first failure from ${url}: ${firstFailure}`);
  return { seconds: (performance.now() - t0) / 1000, failures };
}

const HEADERS = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

// TSDB_BENCH_KILN_ONLY=1 skips the Prometheus anchor (for profiling Kiln alone).
const KILN_ONLY = process.env.TSDB_BENCH_KILN_ONLY === '1';
if (!KILN_ONLY && !hasPrometheus()) {
  console.log('bench:tsdb-write needs /usr/bin/prometheus (apt-get install prometheus) for its anchor; not run');
  process.exit(0);
}
console.log(`tsdb write benchmark: ${SERIES} series × ${SAMPLES} samples, ${SERIES_PER_REQUEST} series per request, ${SLICES} senders, node ${process.version}`);
const requests = buildRequests();
const total = SERIES * SAMPLES;
const mb = requests.flat().reduce((n, r) => n + r.length, 0) / 1e6;
console.log(`  ${requests.flat().length} requests, ${mb.toFixed(1)} MB snappy-compressed`);

const results: Record<string, { rate: number; perSeries: number; failures: number }> = {};

const prom = KILN_ONLY ? undefined : await startPrometheus();
if (prom) try {
  const before = await rssBytes(`${prom.url}/metrics`);
  const r = await ingest(prom.writeUrl, requests, HEADERS);
  const after = await rssBytes(`${prom.url}/metrics`);
  results.prometheus = { rate: total / r.seconds, perSeries: (after - before) / SERIES, failures: r.failures };
} finally {
  await prom.stop();
}

// Mimir's default per-tenant rate limit (10k samples/s) would turn the benchmark into a rate-limit test.
// TSDB_BENCH_KILN_NODE_OPTIONS: node flags for the Kiln process only (e.g. --cpu-prof).
if (process.env.TSDB_BENCH_KILN_NODE_OPTIONS) process.env.NODE_OPTIONS = process.env.TSDB_BENCH_KILN_NODE_OPTIONS;
const kiln = await startKiln(['-target=tsdb', '-tsdb.distributor.ingestion-rate-limit=0']);
try {
  const before = await rssBytes(`${kiln.url}/metrics`);
  const r = await ingest(`${kiln.url}/api/v1/push`, requests, HEADERS);
  const after = await rssBytes(`${kiln.url}/metrics`);
  if (KILN_ONLY) {
    const text = await (await fetch(`${kiln.url}/metrics`)).text();
    for (const l of text.split('\n')) if (/^(nodejs_heap_size_used_bytes|nodejs_heap_size_total_bytes|nodejs_external_memory_bytes|process_resident_memory_bytes) /.test(l)) console.log(`  ${l}`);
    if (process.env.TSDB_BENCH_KILN_SIGNAL) {
      kiln.proc.kill(process.env.TSDB_BENCH_KILN_SIGNAL as NodeJS.Signals);
      await new Promise((r) => setTimeout(r, Number(process.env.TSDB_BENCH_KILN_SIGNAL_WAIT_MS ?? 3000)));
      console.log(`  after ${process.env.TSDB_BENCH_KILN_SIGNAL}: RSS ${await rssBytes(`${kiln.url}/metrics`)}`);
    }
  }
  results.kiln = { rate: total / r.seconds, perSeries: (after - before) / SERIES, failures: r.failures };
} finally {
  await kiln.stop();
}

for (const [name, r] of Object.entries(results)) {
  console.log(`  ${name.padEnd(11)} ${Math.round(r.rate).toLocaleString('en').padStart(12)} samples/s   ${Math.round(r.perSeries).toLocaleString('en').padStart(8)} bytes RSS per series   ${r.failures} failed requests`);
}
if (results.prometheus) {
const rateRatio = results.kiln!.rate / results.prometheus.rate;
const memRatio = results.kiln!.perSeries / results.prometheus.perSeries;
console.log(`  ratio       ingest rate kiln / prometheus ${rateRatio.toFixed(2)}× (target ≥ 1.0×)   memory per series ${memRatio.toFixed(2)}× (target ≤ 1.0×)`);
}

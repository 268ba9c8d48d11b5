// npm run bench:tsdb-head — the TSDB head's memory per series, append rate and WAL replay time.
//
// 1. Append SERIES series × SAMPLES samples (15 s scrape interval; counters, gauges and
//    constant series in equal parts), one request per BATCH series per scrape as a remote-write
//    sender would send them; report samples/s (including the fsynced WAL write per request)
//    and the head's memory per series (heap + array buffers after GC, minus the empty head).
// 2. Close and reopen the same directory: WAL replay time for SERIES × SAMPLES samples.
// 3. Reopen time for a WAL of REPLAY_SAMPLES (default 1M) samples.
// No assertions: it prints numbers. Run with --expose-gc (the npm script does).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Head } from '../../src/tsdb/head/head.js';
import type { SeriesSamples } from '../../src/tsdb/storage.js';

const SERIES = Number(process.env.BENCH_SERIES ?? 10_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 500);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const REPLAY_SAMPLES = Number(process.env.BENCH_REPLAY_SAMPLES ?? 1_000_000);
const logger = { warn: (o: object, m: string) => console.error('WARN', m, o), info: () => {} };
const gc = (globalThis as { gc?: () => void }).gc;

function memory(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Label sets like a node exporter's: name, instance, job, a few more. */
function labelsOf(i: number): Array<[string, string]> {
  return [
    ['__name__', `node_metric_${i % 200}`],
    ['cpu', String(i % 16)],
    ['instance', `host-${Math.floor(i / 200)}.example.com:9100`],
    ['job', 'node'],
    ['mode', ['user', 'system', 'idle', 'iowait'][i % 4]!],
  ];
}

function valueOf(i: number, k: number): number {
  switch (i % 3) {
    case 0:
      return k * 1000 + ((i * 7919 + k * 104729) % 997); // counter
    case 1:
      return Math.round(Math.sin(k / 10 + i) * 1e4) / 100; // gauge, 2 decimals
    default:
      return 1; // constant
  }
}

async function fill(head: Head, nSeries: number, nSamples: number, t0: number): Promise<number> {
  const labels = Array.from({ length: nSeries }, (_, i) => labelsOf(i));
  let samples = 0;
  for (let k = 0; k < nSamples; k++) {
    const t = t0 + k * 15_000;
    const pending: Array<Promise<unknown>> = [];
    for (let b = 0; b < nSeries; b += BATCH) {
      const req: SeriesSamples[] = [];
      for (let i = b; i < Math.min(nSeries, b + BATCH); i++) req.push({ labels: labels[i]!, timestamps: [t], values: [valueOf(i, k)] });
      pending.push(head.append(req, { outOfOrderWindowMs: 0, maxSeriesPerUser: 0 }));
      samples += req.length;
    }
    // Requests of one scrape round are concurrent (group commit), rounds are sequential.
    await Promise.all(pending);
  }
  return samples;
}

async function main(): Promise<void> {
  if (!gc) console.error('note: run with --expose-gc for stable memory numbers (npm run bench:tsdb-head does)');
  const root = await mkdtemp(path.join(tmpdir(), 'kiln-bench-head-'));
  try {
    const dir = path.join(root, 'a');
    const base = memory();
    let head = await Head.open(dir, { logger });
    const empty = memory();
    const t0 = performance.now();
    const n = await fill(head, SERIES, SAMPLES, 1_700_000_000_000);
    const secs = (performance.now() - t0) / 1000;
    const used = memory() - empty;
    console.log(`append: ${SERIES} series × ${SAMPLES} samples in requests of ${BATCH} series: ${(n / secs / 1e6).toFixed(2)} M samples/s (${secs.toFixed(1)} s; ${head.walStats.writes} WAL writes, ${head.walStats.fsyncs} fsyncs, ${(head.walStats.bytes / n).toFixed(1)} WAL bytes/sample)`);
    console.log(`memory: ${(used / SERIES).toFixed(0)} bytes/series (${(used / n).toFixed(2)} bytes/sample; heap+arrayBuffers delta ${(used / 2 ** 20).toFixed(1)} MiB; empty head ${((empty - base) / 1024).toFixed(0)} KiB)`);
    await head.close();
    let t1 = performance.now();
    head = await Head.open(dir, { logger });
    console.log(`replay: ${n} samples, ${SERIES} series in ${(performance.now() - t1).toFixed(0)} ms (${head.replayStats.bytes} WAL bytes, ${head.replayStats.records} records)`);
    await head.close();

    const dir2 = path.join(root, 'b');
    head = await Head.open(dir2, { logger });
    const per = Math.max(1, Math.round(REPLAY_SAMPLES / SERIES));
    const n2 = await fill(head, SERIES, per, 1_700_000_000_000);
    await head.close();
    t1 = performance.now();
    head = await Head.open(dir2, { logger });
    console.log(`replay: ${n2} samples (${SERIES} series × ${per}) in ${(performance.now() - t1).toFixed(0)} ms`);
    await head.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();

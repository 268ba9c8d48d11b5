// npm run bench:ingest — end-to-end ingest throughput of the real server
// (HTTP /ingest → distributor → segment writer → block in the bucket →
// metastore registration → 200), printed beside an anchor measured in the
// same run: bare gunzip + decode of the same payloads with Kiln's decoder.
//
// Both run on this machine's cores: the anchor on one core of this process;
// the server in a child process while this process also runs the HTTP clients.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import { decodePprof } from '../../src/profiles/pprof/decode.js';
import { startKiln } from '../helpers/kiln-process.js';

const root = path.resolve(import.meta.dirname, '../..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/**
 * The server runs the measured load this long before the measurement: its
 * segment encoder runs once per segment, so V8 takes seconds of such runs to
 * settle its optimised code, while the anchor's loop settles in milliseconds.
 */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);

interface Case {
  name: string;
  file: string;
  /** Requests in flight: SDKs push concurrently and each waits for its segment (≤ 500 ms). */
  concurrency: number;
}

const cases: Case[] = [
  { name: 'Go CPU profile (realistic)', file: 'go-cpu.pb.gz', concurrency: 2048 },
  { name: 'large synthetic profile', file: 'synthetic-large.pb.gz', concurrency: 24 },
];

function anchor(gz: Buffer): { perSec: number } {
  // Warm up, then run for a fixed time.
  for (let i = 0; i < 5; i++) decodePprof(gunzipSync(gz));
  let n = 0;
  const start = performance.now();
  const until = start + SECONDS * 1000;
  while (performance.now() < until) {
    decodePprof(gunzipSync(gz));
    n++;
  }
  return { perSec: n / ((performance.now() - start) / 1000) };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function kilnRate(url: string, pid: number, gz: Buffer, concurrency: number) {
  const dispatcher = new Agent({ connections: concurrency, pipelining: 1 });
  const target = `${url}/ingest?name=${encodeURIComponent('bench-app{env=bench}')}&format=pprof&spyName=gospy`;
  // undici's request API: much less client CPU per call than fetch, which shares these cores with the server.
  const errorKinds = new Map<string, number>();
  const push = async () => {
    const res = await request(target, { method: 'POST', body: gz, dispatcher });
    if (res.statusCode === 200) {
      await res.body.dump();
    } else {
      const kind = `${res.statusCode} ${(await res.body.text()).slice(0, 120).trim()}`;
      errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
    }
    return res.statusCode;
  };
  /** Every client pushes, each waiting for its answer, until `seconds` have passed. */
  const run = async (seconds: number, latencies?: number[]) => {
    let ok = 0;
    let errors = 0;
    const until = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          const t = performance.now();
          const status = await push();
          latencies?.push(performance.now() - t);
          if (status === 200) ok++;
          else errors++;
        }
      }),
    );
    return { ok, errors };
  };
  await run(WARMUP_SECONDS);
  errorKinds.clear();
  const latencies: number[] = [];
  const cpuBefore = cpuSeconds(pid);
  const start = performance.now();
  const { ok, errors } = await run(SECONDS, latencies);
  const elapsed = (performance.now() - start) / 1000;
  const serverCores = (cpuSeconds(pid) - cpuBefore) / elapsed;
  await dispatcher.close();
  latencies.sort((a, b) => a - b);
  for (const [kind, n] of errorKinds) console.log(`  error ×${n}: ${kind}`);
  return { perSec: ok / elapsed, errors, serverCores, p50: latencies[Math.floor(latencies.length * 0.5)]!, p99: latencies[Math.floor(latencies.length * 0.99)]! };
}

const kiln = await startKiln([
  '-validation.max-profile-size-bytes=0',
  '-validation.max-profile-stacktrace-samples=0',
  '-distributor.ingestion-rate-limit-mb=0',
  // testdata profiles keep the timestamps of the day they were made.
  '-validation.reject-older-than=0',
]);
console.log(`kiln ingest benchmark: ${SECONDS}s per measurement after ${WARMUP_SECONDS}s of warm-up load, segment duration 500ms, node ${process.version}`);
let worst = Infinity;
for (const c of cases) {
  const gz = readFileSync(path.join(root, 'testdata/profiles', c.file));
  const raw = gunzipSync(gz).length;
  const base = anchor(gz);
  const k = await kilnRate(kiln.url, kiln.proc.pid!, gz, c.concurrency);
  const ratio = k.perSec / base.perSec;
  worst = Math.min(worst, ratio);
  const mb = (perSec: number) => ((perSec * raw) / 1e6).toFixed(1);
  console.log(`\n${c.name}: ${c.file}, ${(gz.length / 1024).toFixed(1)} KiB gzipped, ${(raw / 1024).toFixed(1)} KiB raw`);
  console.log(`  anchor  gunzip+decode        ${base.perSec.toFixed(1).padStart(9)} profiles/s  ${mb(base.perSec).padStart(7)} MB/s raw`);
  console.log(`  kiln    /ingest → durable    ${k.perSec.toFixed(1).padStart(9)} profiles/s  ${mb(k.perSec).padStart(7)} MB/s raw  (concurrency ${c.concurrency}, p50 ${k.p50.toFixed(0)} ms, p99 ${k.p99.toFixed(0)} ms, errors ${k.errors}, server CPU ${k.serverCores.toFixed(2)} cores)`);
  console.log(`  ratio   kiln / anchor        ${ratio.toFixed(2)}×  (target ≥ 0.5×)`);
}
const exit = await kiln.stop();
console.log(`\nworst ratio ${worst.toFixed(2)}×; server exit ${exit}`);

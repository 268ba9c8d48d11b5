// npm run bench:ingest — end-to-end ingest throughput of the real server
// (HTTP /ingest → distributor → segment writer → block in the bucket →
// metastore registration → 200), printed beside an anchor measured in the
// same run: bare gunzip + decode of the same payloads with Kiln's decoder.
//
// Both run on this machine's cores: the anchor on one core of this process;
// the server in a child process, loaded by wrk (Debian's package) on the same
// cores. wrk is a C load generator: it spends ~0.02 ms of CPU per push, where
// a Node client (undici) spent ~0.07 ms, CPU the server would otherwise have.
//
// The server runs the ingest path's components (distributor, segment writer,
// metastore), as a fleet would run them; the compaction worker, which `all`
// also runs, would merge the benchmark's own segments on the same two cores.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import { startKiln } from '../helpers/kiln-process.js';
import { anchor } from './helpers/decode-anchor.js';

const root = path.resolve(import.meta.dirname, '../..');
/** Overrides every case's measurement time. */
const SECONDS = process.env.BENCH_SECONDS ? Number(process.env.BENCH_SECONDS) : undefined;
/**
 * The server runs the measured load this long before the measurement: the
 * first answers come after 3–5 s (every connection waits for the first
 * segment, built by cold code), and the segment encoder runs once per
 * segment, so V8 takes seconds of such runs to settle its optimised code,
 * while the anchor's loop settles in milliseconds. Answers per second of the
 * small profile settled 6–8 s into the load.
 */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 8);
const PUSH_SCRIPT = path.join(import.meta.dirname, 'ingest-push.lua');

interface Case {
  name: string;
  file: string;
  /**
   * Connections, each pushing and waiting for its answer. A push waits for its
   * segment to close (a beat every 500 ms) and flush, so N connections can
   * never exceed about N / 0.5 s pushes per second: enough of them that the
   * server, not the clients, is the limit.
   */
  concurrency: number;
  /**
   * How long the server's rate and the anchor are each measured. Pushes are
   * answered a segment at a time: the large profile's in bursts of up to all
   * 24 connections every ~2.5 s, so that a 5 s window counts two or three
   * bursts, and where it falls moves the rate by a third.
   */
  seconds: number;
}

const cases: Case[] = [
  { name: 'Go CPU profile (realistic)', file: 'go-cpu.pb.gz', concurrency: 4096, seconds: 5 },
  { name: 'large synthetic profile', file: 'synthetic-large.pb.gz', concurrency: 24, seconds: 20 },
];

/**
 * The anchor on two threads at once for `seconds`: how many profiles per
 * second both together. Divided by the one-thread rate, what this machine's
 * two cores give just now (on the development VM, ~1.3× to ~2× within an
 * hour), to tell a slow machine from a slow server.
 */
async function anchorOnTwoThreads(gz: Buffer, seconds: number): Promise<number> {
  const anchorModule = pathToFileURL(path.join(import.meta.dirname, 'helpers/decode-anchor.ts')).href;
  // The same TypeScript source as the anchor on this thread, loaded through tsx.
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(anchorModule)}); }).then(({ anchor }) => {
      const r = anchor(workerData.gz, workerData.seconds);
      parentPort.postMessage(r.n / r.seconds);
    });`;
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { gz, seconds } });
      w.once('message', resolve);
      w.once('error', reject);
    });
  const rates = await Promise.all([one(), one()]);
  return rates[0]! + rates[1]!;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); 0 once it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds the hypervisor has taken from this machine's cores so far (the
 * steal column of /proc/stat, Linux; NaN elsewhere): time a core wanted to run
 * and another guest ran instead. On the development VM it moved from ~0 to
 * over one of the two cores within minutes, and it is what makes "a slow
 * machine" slow: the server, on both cores, loses more of it than the
 * one-thread anchor does.
 */
function stealSeconds(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
    return Number(cpu[8]) / 100;
  } catch {
    return NaN;
  }
}

/** Cores stolen on average while `work` ran. */
async function withSteal<T>(work: () => T | Promise<T>): Promise<{ result: T; stolenCores: number }> {
  const [s0, t0] = [stealSeconds(), performance.now()];
  const result = await work();
  return { result, stolenCores: (stealSeconds() - s0) / ((performance.now() - t0) / 1000) };
}

interface WrkResult {
  /** Latency percentiles over the whole run, warm-up included. */
  p50Us: number;
  p99Us: number;
  /** Answers other than 2xx/3xx. */
  status: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
}

/** Starts wrk against `url` for `seconds` with `connections` closed-loop pushes of `file`. */
function wrk(url: string, file: string, connections: number, seconds: number): { pid: number; result: Promise<WrkResult> } {
  const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '60s', '-s', PUSH_SCRIPT, url], {
    env: { ...process.env, KILN_BENCH_BODY: file },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const result = new Promise<WrkResult>((resolve, reject) =>
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line) reject(new Error(`wrk exited with ${code}:\n${out}`));
      else resolve(JSON.parse(line) as WrkResult);
    }),
  );
  return { pid: child.pid!, result };
}

const serverMetrics = async (url: string) => (await fetch(`${url}/metrics`)).text();

/**
 * Waits until the server has answered every push: wrk closes its connections
 * at the end of a run, but the pushes they sent are still stored, and their
 * bytes would count against the next run's in-flight limit.
 */
async function drained(url: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!/^kiln_distributor_inflight_push_requests 0$/m.test(await serverMetrics(url))) {
    if (Date.now() > deadline) throw new Error('pushes still in flight 120 s after the load stopped');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * What the server has done so far: pushes answered 2xx and the seconds they
 * waited in all, its CPU, wrk's CPU, stolen CPU.
 */
async function snapshot(url: string, pid: number, wrkPid: number) {
  const metrics = await serverMetrics(url);
  const pushes = (part: string) => Number(new RegExp(`^kiln_distributor_push_duration_seconds_${part}\\{status="2xx"\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? 0);
  return { t: performance.now(), acked: pushes('count'), ackSeconds: pushes('sum'), server: cpuSeconds(pid), wrk: cpuSeconds(wrkPid), stolen: stealSeconds() };
}

/**
 * The server's steady rate under a closed loop of `c.concurrency` pushes: one
 * wrk run, counted by the server's own tally of 2xx answers from the end of
 * the warm-up to `seconds` later, while wrk keeps pushing. A wrk run of its
 * own would start with every connection waiting for its first answer (about
 * one mean latency: ~1 s for the small profile, 2–2.5 s for the large one),
 * which a 5 s window counts as if the server had stalled.
 */
async function kilnRate(url: string, pid: number, c: Case, seconds: number) {
  const target = `${url}/ingest?name=${encodeURIComponent('bench-app{env=bench}')}&format=pprof&spyName=gospy`;
  const file = path.join(root, 'testdata/profiles', c.file);
  const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));
  // One second of load after the window, so that it closes while wrk still pushes.
  const run = wrk(target, file, c.concurrency, WARMUP_SECONDS + seconds + 1);
  await sleep(WARMUP_SECONDS);
  const s0 = await snapshot(url, pid, run.pid);
  await sleep(seconds);
  const s1 = await snapshot(url, pid, run.pid);
  const r = await run.result;
  await drained(url);
  const elapsed = (s1.t - s0.t) / 1000;
  const errors = r.status + r.connect + r.read + r.write + r.timeout;
  if (errors > 0) {
    console.log(`  errors: ${r.status} non-2xx answers, ${r.timeout} timeouts, ${r.connect + r.read + r.write} socket errors; rejections so far, by reason:`);
    for (const line of (await serverMetrics(url)).split('\n')) if (line.startsWith('kiln_discarded_profiles_total{')) console.log(`    ${line}`);
  }
  return {
    perSec: (s1.acked - s0.acked) / elapsed,
    meanMs: ((s1.ackSeconds - s0.ackSeconds) / (s1.acked - s0.acked)) * 1000,
    errors,
    serverCores: (s1.server - s0.server) / elapsed,
    clientCores: (s1.wrk - s0.wrk) / elapsed,
    stolenCores: (s1.stolen - s0.stolen) / elapsed,
    p50: r.p50Us / 1000,
    p99: r.p99Us / 1000,
  };
}

if (spawnSync('wrk', ['-v']).error) {
  console.error('npm run bench:ingest needs wrk, the HTTP load generator (Debian: apt-get install wrk).');
  process.exit(1);
}
const kiln = await startKiln([
  '-target=distributor,segment-writer,metastore',
  '-validation.max-profile-size-bytes=0',
  '-validation.max-profile-stacktrace-samples=0',
  '-distributor.ingestion-rate-limit-mb=0',
  // testdata profiles keep the timestamps of the day they were made.
  '-validation.reject-older-than=0',
]);
console.log(`kiln ingest benchmark: ${WARMUP_SECONDS}s of warm-up load before each measurement, segment duration 500ms, node ${process.version}`);
let worst = Infinity;
for (const c of cases) {
  const gz = readFileSync(path.join(root, 'testdata/profiles', c.file));
  const raw = gunzipSync(gz).length;
  const seconds = SECONDS ?? c.seconds;
  const { result: before, stolenCores: stolenBefore } = await withSteal(() => anchor(gz, seconds / 2));
  const k = await kilnRate(kiln.url, kiln.proc.pid!, c, seconds);
  const { result: after, stolenCores: stolenAfter } = await withSteal(() => anchor(gz, seconds / 2));
  const { result: twoThreads, stolenCores: stolenTwo } = await withSteal(() => anchorOnTwoThreads(gz, 2));
  const base = { perSec: (before.n + after.n) / (before.seconds + after.seconds) };
  const ratio = k.perSec / base.perSec;
  worst = Math.min(worst, ratio);
  const mb = (perSec: number) => ((perSec * raw) / 1e6).toFixed(1);
  console.log(`\n${c.name}: ${c.file}, ${(gz.length / 1024).toFixed(1)} KiB gzipped, ${(raw / 1024).toFixed(1)} KiB raw, measured ${seconds}s`);
  const rate = (a: { n: number; seconds: number }) => (a.n / a.seconds).toFixed(1);
  const stolen = (cores: number) => (Number.isNaN(cores) ? 'n/a' : `${cores.toFixed(2)} cores`);
  console.log(`  anchor  gunzip+decode        ${base.perSec.toFixed(1).padStart(9)} profiles/s  ${mb(base.perSec).padStart(7)} MB/s raw  (before kiln ${rate(before)}, after ${rate(after)}; stolen ${stolen((stolenBefore + stolenAfter) / 2)})`);
  console.log(`  kiln    /ingest → durable    ${k.perSec.toFixed(1).padStart(9)} profiles/s  ${mb(k.perSec).padStart(7)} MB/s raw  (concurrency ${c.concurrency}, mean latency ${k.meanMs.toFixed(0)} ms; wrk's p50 ${k.p50.toFixed(0)} ms, p99 ${k.p99.toFixed(0)} ms incl. warm-up; errors ${k.errors}, server CPU ${k.serverCores.toFixed(2)} cores, wrk ${k.clientCores.toFixed(2)}; stolen ${stolen(k.stolenCores)})`);
  console.log(`  ratio   kiln / anchor        ${ratio.toFixed(2)}×  (target ≥ 0.5×)`);
  console.log(`  cores   anchor on 2 threads  ${(twoThreads / base.perSec).toFixed(2)}× one thread (${twoThreads.toFixed(1)} profiles/s in all; stolen ${stolen(stolenTwo)}): what this machine's two cores gave just now`);
}
const exit = await kiln.stop();
console.log(`\nworst ratio ${worst.toFixed(2)}×; server exit ${exit}`);

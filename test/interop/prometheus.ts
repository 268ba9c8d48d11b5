// Starts Debian's `prometheus` (2.42) on a loopback port as a remote-write receiver, for interop
// tests. Returns undefined (with a printed reason) when the binary is missing.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

export function hasPrometheus(): boolean {
  return spawnSync(PROMETHEUS_BIN, ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface PrometheusProcess {
  url: string;
  /** The remote-write endpoint (POST /api/v1/write). */
  writeUrl: string;
  /** The running process (a new one after restart()). */
  proc: ChildProcess;
  logs: string[];
  /** Stops the process (SIGTERM), keeping its data; the target is down until restart(). */
  down(): Promise<void>;
  /** Starts it again on the same port and data, and waits until it is ready. */
  restart(): Promise<void>;
  /** Instant query at `time` (Unix seconds); the `data.result` vector. */
  query(expr: string, time?: number): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Sum of a self-metric from /metrics over the lines that match `filter`. */
  selfMetric(name: string, filter?: (line: string) => boolean): Promise<number>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** prometheus.yml for the port it will listen on (default: no scrape jobs, so the only data is what we remote-write). */
  config?: (port: number) => string;
}

export async function startPrometheus(options: PrometheusOptions = {}): Promise<PrometheusProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  const port = await freePort();
  writeFileSync(config, options.config?.(port) ?? 'global:\n  scrape_interval: 1m\n');
  const url = `http://127.0.0.1:${port}`;
  const logs: string[] = [];
  const args = [
    `--config.file=${config}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver',
    '--storage.remote.flush-deadline=1s',
  ];
  const launch = async (): Promise<ChildProcess> => {
    const proc = spawn(PROMETHEUS_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => logs.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
    proc.stdout!.on('data', collect);
    proc.stderr!.on('data', collect);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`prometheus exited with ${proc.exitCode}:\n${logs.join('\n')}`);
      try {
        if ((await fetch(`${url}/-/ready`)).ok) return proc;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`prometheus not ready after 30 s:\n${logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const terminate = async (proc: ChildProcess): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  let proc = await launch();
  return {
    url,
    writeUrl: `${url}/api/v1/write`,
    get proc() {
      return proc;
    },
    logs,
    async down() {
      await terminate(proc);
    },
    async restart() {
      await terminate(proc);
      proc = await launch();
    },
    async query(expr, time) {
      const params = new URLSearchParams({ query: expr });
      if (time !== undefined) params.set('time', String(time));
      const res = await fetch(`${url}/api/v1/query?${params}`);
      const body = (await res.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error}`);
      return body.data.result;
    },
    async selfMetric(name, filter = () => true) {
      const text = await (await fetch(`${url}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && filter(line)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
    async stop() {
      await terminate(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

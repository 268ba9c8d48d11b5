// Runs the real `kiln serve` (node dist/cli/main.js, built by the global
// setup) as a child process on a free loopback port, in its own directory.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const KILN_MAIN = path.resolve(import.meta.dirname, '../../dist/cli/main.js');
/** Node flags Kiln runs with (as `npm start` and bin/kiln.js start it). */
export const KILN_NODE_FLAGS = ['--max-semi-space-size=8', '--no-allocation-site-pretenuring'];

export interface KilnProcess {
  url: string;
  port: number;
  /** Working directory: data/ (bucket) and metastore/ live here. */
  dir: string;
  proc: ChildProcess;
  /** Every stdout/stderr line so far. */
  logs: string[];
  /** SIGTERM, then resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Resolves with the first log line (so far or to come) that passes `test`. */
  waitForLog(test: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** SIGKILL, then resolves when the process is gone. */
  kill(): Promise<void>;
}

export function tempDir(prefix = 'kiln-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Starts kiln in `dir` (a new temp dir by default) with extra flags. */
export async function startKiln(flags: string[] = [], dir = tempDir()): Promise<KilnProcess> {
  const proc = spawn(
    process.execPath,
    [
      ...KILN_NODE_FLAGS,
      // e.g. KILN_EXTRA_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile a bench's server.
      ...(process.env.KILN_EXTRA_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
      KILN_MAIN,
      'serve',
      '-server.http-listen-address=127.0.0.1',
      '-server.http-listen-port=0',
      `-storage.filesystem.dir=${path.join(dir, 'data')}`,
      `-metastore.data-dir=${path.join(dir, 'metastore')}`,
      // testdata/ profiles keep the timestamps of the day they were made; tests of
      // the ingestion window pass their own -validation.reject-older-than (later flags win).
      '-validation.reject-older-than=0',
      ...flags,
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: string[] = [];
  const logWaiters = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        logs.push(line);
        for (const w of logWaiters) w();
        if (line.includes('"Kiln is ready"')) resolve((JSON.parse(line) as { port: number }).port);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`kiln exited with ${code} before it was ready:\n${logs.join('\n')}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    proc,
    logs,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    waitForLog(test, timeoutMs = 30_000) {
      return new Promise<string>((resolve, reject) => {
        const check = () => {
          const hit = logs.find(test);
          if (hit === undefined) return;
          done();
          resolve(hit);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching log line within ${timeoutMs} ms:\n${logs.slice(-20).join('\n')}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          logWaiters.delete(check);
        };
        logWaiters.add(check);
        check();
      });
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

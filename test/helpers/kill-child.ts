// Crash tests: run a child script (TypeScript, through tsx) that reports each acknowledged step
// as one stdout line, SIGKILL it at a chosen moment, and keep only the lines it completed.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Complete lines in `text`. */
export function lineCount(text: string): number {
  return text.split('\n').length - 1;
}

export interface KilledRun {
  /** Complete stdout lines printed before the kill (a line cut by the kill was never reported). */
  lines: string[];
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs `node --import tsx <script> ...args` from the repo root and SIGKILLs it as soon as
 * `killWhen(stdoutSoFar, stderrSoFar)` holds. Rejects if that has not happened in `timeoutMs`.
 */
export function runUntilKilled(
  script: string,
  args: string[],
  killWhen: (stdout: string, stderr: string) => boolean,
  timeoutMs = 45_000,
): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not reach the kill point within ${timeoutMs} ms; stderr:\n${stderr.slice(-3000)}`));
    }, timeoutMs);
    const maybeKill = (): void => {
      if (!killed && killWhen(out, stderr)) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      maybeKill();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      maybeKill();
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      resolve({ lines: out.slice(0, out.lastIndexOf('\n') + 1).split('\n').filter((l) => l !== ''), signal, stderr });
    });
  });
}

// Invariant 1 ("ack means durable") for the block index: kill -9 a process that is registering
// blocks and check that every block it acknowledged is still there after reopening.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Metastore } from '../../../src/profiles/metastore/metastore.js';
import { recordingLogger, tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface RunResult {
  acked: string[];
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the child until it has acked at least `killAfter` blocks, then SIGKILLs it. */
function runAndKill(dir: string, killAfter: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, '8'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child acked too few blocks in time; stderr:\n${stderr}`));
    }, 45_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (!killed && out.split('\n').length - 1 >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      // Only complete lines count: a line cut by the kill was never fully reported.
      const acked = out.slice(0, out.lastIndexOf('\n') + 1).split('\n').filter((l) => l !== '');
      resolve({ acked, signal, stderr });
    });
  });
}

describe('block index crash safety', () => {
  it('keeps every acked block across repeated kill -9', async () => {
    const dir = await tempDir('kiln-crash-');
    dirs.push(dir);
    const acked: string[] = [];
    for (const killAfter of [300, 450, 600]) {
      const r = await runAndKill(dir, killAfter);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      expect(r.acked.length).toBeGreaterThanOrEqual(killAfter);
      acked.push(...r.acked);
    }
    const index = await Metastore.open(dir, { logger: recordingLogger() });
    try {
      const missing = acked.filter((id) => index.get(id) === undefined);
      expect(missing).toEqual([]);
      expect(index.size).toBeGreaterThanOrEqual(acked.length);
      expect(new Set(acked).size).toBe(acked.length);
    } finally {
      await index.close();
    }
  });
});

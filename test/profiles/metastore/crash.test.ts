// Invariant 1 ("ack means durable") for the block index: kill -9 a process that is registering
// blocks and check that every block it acknowledged is still there after reopening.
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { lineCount, runUntilKilled } from '../../helpers/kill-child.js';
import { Metastore } from '../../../src/profiles/metastore/metastore.js';
import { recordingLogger, tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
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
async function runAndKill(dir: string, killAfter: number): Promise<RunResult> {
  const r = await runUntilKilled(CHILD, [dir, '8'], (out) => lineCount(out) >= killAfter);
  return { acked: r.lines, signal: r.signal, stderr: r.stderr };
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

// Invariant 1 ("ack means durable") for the TSDB head: kill -9 a process that is appending and
// check that every acknowledged sample is there after the WAL replays.
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { lineCount, runUntilKilled } from '../../helpers/kill-child.js';
import { Head } from '../../../src/tsdb/head/head.js';
import { recordingLogger, tempDir } from '../helpers.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface RunResult {
  acked: Array<[loop: number, t: number]>;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the child until it has acked `killAfter` appends ("series t" lines), then SIGKILLs it. */
async function runAndKill(dir: string, start: number, killAfter: number): Promise<RunResult> {
  const r = await runUntilKilled(CHILD, [dir, String(start), '8'], (out) => lineCount(out) >= killAfter);
  return { acked: r.lines.map((l) => l.split(' ').map(Number) as [number, number]), signal: r.signal, stderr: r.stderr };
}

describe('TSDB head crash safety', () => {
  it('keeps every acknowledged sample across repeated kill -9', async () => {
    const dir = await tempDir('kiln-tsdb-crash-');
    dirs.push(dir);
    const acked: Array<[number, number]> = [];
    // Each run starts its timestamps after the previous run's, so appends stay in order.
    let start = 1_000_000;
    for (const killAfter of [500, 1500, 3000]) {
      const r = await runAndKill(dir, start, killAfter);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      expect(r.acked.length).toBeGreaterThanOrEqual(killAfter);
      acked.push(...r.acked);
      start += 100_000;
    }
    const head = await Head.open(dir, { logger: recordingLogger() });
    try {
      const got = await head.querier().select([{ name: '__name__', type: '=', value: 'crash' }], -Infinity, Infinity);
      const have = new Map<string, Set<number>>();
      for (const s of got) {
        const key = `${s.labels.find(([n]) => n === 'loop')![1]}/${s.labels.find(([n]) => n === 's')![1]}`;
        have.set(key, new Set(s.timestamps));
        // Values are t*10+s: nothing was torn into a wrong value.
        const sIdx = Number(s.labels.find(([n]) => n === 's')![1]);
        s.timestamps.forEach((t, i) => expect(s.values[i]).toBe(t * 10 + sIdx));
      }
      const missing: string[] = [];
      for (const [loop, t] of acked) {
        for (let s = 0; s < 5; s++) if (!have.get(`${loop}/${s}`)?.has(t)) missing.push(`${loop}/${s}@${t}`);
      }
      expect(missing).toEqual([]);
    } finally {
      await head.close();
    }
  });
});

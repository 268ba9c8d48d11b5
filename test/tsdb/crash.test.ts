// Invariant 1 ("ack means durable") across head compaction: kill -9 a process that appends
// while blocks are cut from its head and merged, and check after each restart that every acked
// sample is stored exactly once — in one block or in the replayed head, never in both.
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { lineCount, runUntilKilled } from '../helpers/kill-child.js';
import { BlockReader } from '../../src/tsdb/blocks/block-reader.js';
import { decodeChunk } from '../../src/tsdb/blocks/series-merge.js';
import { TsdbStorage } from '../../src/tsdb/db.js';
import { tempDir } from './blocks/helpers.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const STEP = 10_000;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface RunResult {
  acked: string[];
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs the child until it has acked `killAfter` samples and then logged `afterLog` lines
 * containing "compacted" (so the kill lands while compactions are going on), then SIGKILLs it.
 */
async function runAndKill(dir: string, killAfter: number, afterLog: number): Promise<RunResult> {
  const r = await runUntilKilled(
    CHILD,
    [dir, '4'],
    (out, err) => lineCount(out) >= killAfter && (err.match(/compacted/g) ?? []).length >= afterLog,
    50_000,
  );
  return { acked: r.lines, signal: r.signal, stderr: r.stderr };
}

/** Occurrences of every (series, t) across the blocks and the head, each source read separately. */
async function occurrences(dir: string): Promise<{ counts: Map<string, number>; values: Map<string, number>; blocks: number }> {
  const storage = await TsdbStorage.open({ dir, compactionIntervalMs: 0, retentionMs: 0, blockRangeMs: 60_000, registry: new Registry(), logger: { info: () => {}, warn: () => {} } });
  const counts = new Map<string, number>();
  const values = new Map<string, number>();
  const add = (s: string, t: number, v: number): void => {
    const k = `${s},${t}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
    values.set(k, v);
  };
  try {
    const db = await storage.tenant('crash');
    const metas = db.blockMetas();
    for (const m of metas) {
      const r = await BlockReader.open(path.join(dir, 'crash', m.ulid));
      try {
        for await (const s of r.allSeries()) {
          const name = s.labels.find(([n]) => n === 's')![1];
          for (const c of s.chunks) {
            const d = decodeChunk(c);
            d.timestamps.forEach((t, i) => add(name, t, d.values[i]!));
          }
        }
      } finally {
        await r.close();
      }
    }
    for (const s of await db.head.querier().select([], 0, Number.MAX_SAFE_INTEGER)) {
      const name = s.labels.find(([n]) => n === 's')![1];
      s.timestamps.forEach((t, i) => add(name, t, s.values[i]!));
    }
    return { counts, values, blocks: metas.length };
  } finally {
    await storage.close();
  }
}

describe('TSDB crash safety', () => {
  it('keeps every acked sample exactly once across repeated kill -9 during compaction', async () => {
    const dir = await tempDir('kiln-tsdb-crash-');
    dirs.push(dir);
    const acked: string[] = [];
    // The head holds the last hour (360 steps of 10 s) before it compacts: the first kill comes
    // once compactions are running; later runs start with a head to replay and blocks to merge.
    for (const [killAfter, afterLog] of [
      [5000, 3],
      [1500, 2],
      [3000, 10],
    ] as const) {
      const r = await runAndKill(dir, killAfter, afterLog);
      expect(r.signal, r.stderr.slice(-3000)).toBe('SIGKILL');
      expect(r.stderr).not.toMatch(/WARN/);
      acked.push(...r.acked);

      const { counts, values, blocks } = await occurrences(dir);
      expect(blocks).toBeGreaterThan(0);
      const missing = acked.filter((k) => !counts.has(k));
      expect(missing.slice(0, 10), `${missing.length} acked samples missing`).toEqual([]);
      const duplicated = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
      expect(duplicated.slice(0, 10), `${duplicated.length} samples stored twice`).toEqual([]);
      for (const k of acked) {
        const [s, t] = k.split(',') as [string, string];
        expect(values.get(k)).toBe((Number(t) / STEP) * 10 + Number(s.split('-')[1]));
      }
    }
    expect(new Set(acked).size).toBe(acked.length);
  });
});

// kill -9 a metastore in the middle of registrations, compaction polls/commits and log
// rewrites; after restart nothing acknowledged is lost and nothing is duplicated.
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runUntilKilled } from '../../helpers/kill-child.js';
import { Metastore } from '../../../src/profiles/metastore/metastore.js';
import { recordingLogger, tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./compaction-crash-child.ts', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Runs the child until it has committed `killAfter` jobs ("C …" lines), then SIGKILLs it. */
function runAndKill(dir: string, killAfter: number) {
  return runUntilKilled(CHILD, [dir], (out) => (out.match(/^C /gm) ?? []).length >= killAfter, 60_000);
}

describe('metastore crash safety with compaction', () => {
  it('keeps every acked registration and commit across repeated kill -9', async () => {
    const dir = await tempDir('kiln-compaction-crash-');
    dirs.push(dir);
    const added: string[] = [];
    const commits: Array<{ name: string; sources: string[]; outputs: string[] }> = [];
    for (const killAfter of [15, 25, 35]) {
      const r = await runAndKill(dir, killAfter);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      for (const line of r.lines) {
        const [kind, a, b, c] = line.split(' ');
        if (kind === 'A') added.push(a!);
        else commits.push({ name: a!, sources: b!.split(','), outputs: c!.split(',') });
      }
    }
    expect(commits.length).toBeGreaterThanOrEqual(75);
    const ms = await Metastore.open(dir, { logger: recordingLogger() });
    try {
      const dump = ms.dump();
      const indexed = new Set(dump.blocks);
      const tombstoned = new Set(dump.tombstones.map((t) => t.id));
      // No block is both live and tombstoned (never "source and output both visible").
      expect(dump.blocks.filter((id) => tombstoned.has(id))).toEqual([]);
      // Every acked segment is still accounted for: in the index or compacted away.
      expect(added.filter((id) => !indexed.has(id) && !tombstoned.has(id))).toEqual([]);
      // Every acked commit happened exactly once: sources gone, outputs present (or compacted
      // further), the job no longer exists.
      const jobs = new Set(dump.jobs.map((j) => j.name));
      for (const c of commits) {
        expect(jobs.has(c.name)).toBe(false);
        for (const s of c.sources) expect(tombstoned.has(s), `source ${s} of ${c.name}`).toBe(true);
        for (const o of c.outputs) expect(indexed.has(o) || tombstoned.has(o), `output ${o} of ${c.name}`).toBe(true);
      }
      expect(new Set(commits.map((c) => c.name)).size).toBe(commits.length);
      // Every block is in at most one job or queue.
      const claimed = [...dump.jobs.flatMap((j) => j.sources), ...dump.queues.flatMap((q) => q.blocks.map(([id]) => id))];
      expect(new Set(claimed).size).toBe(claimed.length);
    } finally {
      await ms.close();
    }
  }, 120_000);
});

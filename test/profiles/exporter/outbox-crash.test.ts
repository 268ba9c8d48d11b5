// Invariant 3 across kill -9: a metastore (with the outbox as its hook) and a fake exporter run
// in a child that is killed at random moments, several times. After reopening both, every
// committed job is either exported or pending in the outbox — never lost — and no exported job
// comes back (a replayed commit is skipped).
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runUntilKilled } from '../../helpers/kill-child.js';
import { Outbox } from '../../../src/profiles/exporter/outbox.js';
import { Metastore } from '../../../src/profiles/metastore/metastore.js';
import { recordingLogger, tempDir } from '../metastore/helpers.js';

const CHILD = fileURLToPath(new URL('./outbox-crash-child.ts', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Runs the child until it has completed `killAfterDone` exports ("done …" lines), then SIGKILLs it. */
function runAndKill(dir: string, killAfterDone: number) {
  return runUntilKilled(CHILD, [dir], (out) => (out.match(/^done /gm) ?? []).length >= killAfterDone);
}

describe('outbox crash safety', () => {
  it('loses no committed job and brings back no exported one across repeated kill -9', async () => {
    const dir = await tempDir('kiln-outbox-crash-');
    dirs.push(dir);
    const committed = new Set<string>();
    const completing = new Set<string>();
    const done = new Set<string>();
    for (const killAfter of [60, 90, 40]) {
      const r = await runAndKill(dir, killAfter);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      for (const line of r.lines) {
        const [what, job] = line.split(' ') as [string, string];
        if (what === 'committed') committed.add(job);
        else if (what === 'completing') completing.add(job);
        else if (what === 'done') done.add(job);
      }
    }
    expect(done.size).toBeGreaterThanOrEqual(190);

    const outbox = await Outbox.open(dir, { logger: recordingLogger() });
    const ms = await Metastore.open(dir, { logger: recordingLogger(), onJobCommitted: (e) => outbox.onJobCommitted(e) });
    try {
      await outbox.settled();
      outbox.markReplayDone();
      const pending = new Set(outbox.pending().map((e) => e.job));
      // Committed and never touched by the exporter: still pending.
      const lost = [...committed].filter((j) => !completing.has(j) && !pending.has(j));
      expect(lost).toEqual([]);
      // Fully exported: never pending again, although the metastore replayed commits.
      const back = [...done].filter((j) => pending.has(j));
      expect(back).toEqual([]);
    } finally {
      await ms.close();
      await outbox.close();
    }
  });
});

// Invariant 3 across kill -9: a metastore (with the outbox as its hook) and a fake exporter run
// in a child that is killed at random moments, several times. After reopening both, every
// committed job is either exported or pending in the outbox — never lost — and no exported job
// comes back (a replayed commit is skipped).
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../../src/profiles/exporter/outbox.js';
import { Metastore } from '../../../src/profiles/metastore/metastore.js';
import { recordingLogger, tempDir } from '../metastore/helpers.js';

const CHILD = fileURLToPath(new URL('./outbox-crash-child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function runAndKill(dir: string, killAfterDone: number): Promise<{ lines: string[]; stderr: string; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child made too little progress; stderr:\n${stderr}`));
    }, 45_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (!killed && (out.match(/^done /gm)?.length ?? 0) >= killAfterDone) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      resolve({ lines: out.slice(0, out.lastIndexOf('\n') + 1).split('\n').filter((l) => l !== ''), stderr, signal });
    });
  });
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

// A real fleet: one server (distributor, segment writer, metastore) and three
// compaction-worker processes sharing its bucket. Pushes run for a while; then
// every segment must end up in level-1+ blocks, and every pushed sample must be
// readable exactly once from the blocks the metastore lists.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FoldedPushGenerator, keyOfPush, keyOfStored, pushFolded, type FoldedPush } from '../helpers/folded-pushes.js';
import { startKiln, tempDir, type KilnProcess } from '../helpers/kiln-process.js';
import { readProfilesOf } from '../helpers/stored-profiles.js';
import { compactionFlags, indexedBlockKeys, listJobs, waitFor } from '../helpers/compaction.js';
import path from 'node:path';

let server: KilnProcess;
const workers: KilnProcess[] = [];
const dir = tempDir('kiln-fleet-');
const acked: FoldedPush[] = [];

beforeAll(async () => {
  server = await startKiln(['-target=distributor,segment-writer,metastore', '-auth.multitenancy-enabled=true', '-distributor.num-shards=3', ...compactionFlags], dir);
  for (let i = 0; i < 3; i++) {
    workers.push(await startKiln(['-target=compaction-worker', `-metastore.address=${server.url}`, '-compaction-worker.job-poll-interval=200ms', '-compaction-worker.job-concurrency=2'], dir));
  }
  // Push for a while, several requests in flight, so many segments and jobs overlap.
  const gen = new FoldedPushGenerator(7, ['acme', 'globex'], ['api', 'worker', 'db'], ['eu', 'us', 'ap']);
  const until = Date.now() + 4000;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() < until) {
        const p = gen.next();
        const status = await pushFolded(server.url, p);
        expect(status).toBe(200);
        acked.push(p);
      }
    }),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await server?.stop();
});

describe('a metastore and three compaction workers', () => {
  it('compact every segment into level-1+ blocks', async () => {
    await waitFor(async () => (await indexedBlockKeys(server.url, { level: 0 })).length === 0, 60_000, 'level-0 blocks to be compacted');
    const keys = await indexedBlockKeys(server.url);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k).toMatch(/^blocks\/\d+\/(acme|globex)\/[0-9A-Z]{26}\/block\.bin$/);
  }, 90_000);

  it('keep every acknowledged sample exactly once', async () => {
    const { profiles } = await readProfilesOf(path.join(dir, 'data'), await indexedBlockKeys(server.url));
    const want = new Map(acked.map((p) => [keyOfPush(p), p.stacks]));
    expect(want.size).toBe(acked.length);
    const seen = new Map<string, number>();
    for (const s of profiles) {
      const key = keyOfStored(s);
      seen.set(key, (seen.get(key) ?? 0) + 1);
      expect(want.has(key), `stored profile ${key} was never pushed`).toBe(true);
      expect(s.stacks).toEqual(want.get(key));
    }
    expect(seen.size).toBe(want.size);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });

  it('spread the jobs over the workers and leave none behind', async () => {
    const ran = workers.map((w) => w.logs.filter((l) => l.includes('"compaction job done"')).length);
    expect(ran.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(ran.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    const jobs = await listJobs(server.url);
    expect(jobs.filter((j) => j.compactionLevel === 0)).toEqual([]);
  });
});

// Compaction survives kill -9 of its processes.
//
// 1. Workers killed mid-merge at seeded random moments: every job is re-leased
//    after its lease expires, and the blocks finally committed are
//    byte-identical to an uninterrupted compaction of the same segments.
// 2. The metastore killed while pushes and compaction run: after a restart no
//    acknowledged sample is lost or duplicated, no object is orphaned, and
//    compaction resumes until no segment is left.

import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { compactBlocks } from '../../src/profiles/compaction/compact.js';
import { createIndexClient } from '../../src/profiles/metastore/index-service.js';
import { indexedBlockKeys, listJobs, waitFor } from '../helpers/compaction.js';
import { FoldedPushGenerator, keyOfPush, keyOfStored, prng, pushFolded, type FoldedPush } from '../helpers/folded-pushes.js';
import { startKiln, tempDir } from '../helpers/kiln-process.js';
import { freePort } from '../helpers/ports.js';
import { readProfilesOf } from '../helpers/stored-profiles.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pushAll(url: string, gen: FoldedPushGenerator, count: number, concurrency = 8): Promise<FoldedPush[]> {
  const acked: FoldedPush[] = [];
  let left = count;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const p = gen.next();
        expect(await pushFolded(url, p)).toBe(200);
        acked.push(p);
      }
    }),
  );
  return acked;
}

describe('compaction workers killed mid-merge', () => {
  it('re-lease the jobs, and the output is byte-identical to an uninterrupted run', async () => {
    const dir = tempDir('kiln-worker-crash-');
    const data = path.join(dir, 'data');
    // One job per shard: no block-count cut, and no worker polls before all pushes are in.
    const server = await startKiln([
      '-target=distributor,segment-writer,metastore',
      '-auth.multitenancy-enabled=true',
      '-distributor.num-shards=2',
      '-segment-writer.segment-duration=100ms',
      '-metastore.compaction.l0-max-blocks=1000',
      '-metastore.compaction.l0-max-age=1s',
      '-metastore.compaction-job-lease-duration=1s',
      '-metastore.compaction-max-failures=0',
      '-metastore.maintenance-interval=500ms',
    ], dir);
    try {
      const gen = new FoldedPushGenerator(11, ['acme', 'globex', 'initech'], ['api', 'worker', 'db', 'cache'], ['eu', 'us']);
      await pushAll(server.url, gen, 600, 16);
      await sleep(1100); // the segments pass the level-0 max age

      // The reference: the same segments compacted in this process, in a copy of the bucket.
      const segments = (await createIndexClient(server.url).queryBlocks({ hasLevel: true, compactionLevel: 0 })).blocks;
      const refDir = path.join(dir, 'reference');
      cpSync(data, refDir, { recursive: true });
      const ref = new FilesystemBucket(refDir);
      const expected = new Map<string, Buffer>();
      for (const shard of new Set(segments.map((s) => s.shard))) {
        const { newBlocks } = await compactBlocks({ bucket: ref, sources: segments.filter((s) => s.shard === shard), shard });
        for (const b of newBlocks) {
          const key = `blocks/${shard}/${b.stringTable[b.tenant]}/${b.id}/block.bin`;
          expected.set(key, readFileSync(path.join(refDir, key)));
        }
      }
      await ref.close();
      expect(expected.size).toBe(2 * 3); // two shards × three tenants

      // Kill workers at seeded random moments after they start a job.
      const rand = prng(2026);
      let kills = 0;
      for (let seed = 0; seed < 6; seed++) {
        const w = await startKiln(['-target=compaction-worker', `-metastore.address=${server.url}`, '-compaction-worker.job-poll-interval=100ms', '-compaction-worker.job-concurrency=1'], dir);
        const started = w.logs.length;
        await w.waitForLog((l) => l.includes('"compaction job started"') && w.logs.indexOf(l) >= started, 20_000);
        await sleep(Math.floor(rand() * 60));
        await w.kill();
        kills++;
      }
      expect(kills).toBe(6);

      const finisher = await startKiln(['-target=compaction-worker', `-metastore.address=${server.url}`, '-compaction-worker.job-poll-interval=100ms'], dir);
      try {
        await waitFor(async () => (await indexedBlockKeys(server.url, { level: 0 })).length === 0, 60_000, 'every segment to be compacted');
      } finally {
        await finisher.stop();
      }
      const keys = await indexedBlockKeys(server.url);
      expect(new Set(keys)).toEqual(new Set(expected.keys()));
      for (const key of keys) expect(readFileSync(path.join(data, key)).equals(expected.get(key)!), key).toBe(true);
      // At least one job was interrupted, re-leased after expiry and finished by the last worker.
      expect(finisher.logs.filter((l) => l.includes('"compaction job done"')).length).toBeGreaterThan(0);
      expect(await listJobs(server.url)).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 180_000);
});

describe('the metastore killed while pushes and compaction run', () => {
  it('loses, duplicates and orphans nothing, and compaction resumes', async () => {
    const dir = tempDir('kiln-metastore-crash-');
    const data = path.join(dir, 'data');
    const port = await freePort();
    const metastoreFlags = [
      '-target=metastore',
      `-server.http-listen-port=${port}`,
      '-metastore.compaction.l0-max-blocks=4',
      '-metastore.compaction.l0-max-age=1s',
      '-metastore.compaction.l1-max-blocks=3',
      '-metastore.compaction.l1-max-age=2s',
      '-metastore.compaction-job-lease-duration=2s',
      '-metastore.compaction.cleanup-delay=1s',
      '-metastore.maintenance-interval=300ms',
    ];
    let metastore = await startKiln(metastoreFlags, dir);
    const address = `-metastore.address=${metastore.url}`;
    const writer = await startKiln(['-target=distributor,segment-writer', address, '-auth.multitenancy-enabled=true', '-distributor.num-shards=2', '-segment-writer.upload-max-retries=1'], dir);
    const workers = [
      await startKiln(['-target=compaction-worker', address, '-compaction-worker.job-poll-interval=200ms'], dir),
      await startKiln(['-target=compaction-worker', address, '-compaction-worker.job-poll-interval=200ms'], dir),
    ];
    const acked: FoldedPush[] = [];
    const unacked: FoldedPush[] = [];
    try {
      const gen = new FoldedPushGenerator(5, ['acme', 'globex'], ['api', 'worker', 'db'], ['eu', 'us', 'ap']);
      let pushing = true;
      const pushers = Array.from({ length: 6 }, async () => {
        while (pushing) {
          const p = gen.next();
          const status = await pushFolded(writer.url, p).catch(() => 0);
          (status === 200 ? acked : unacked).push(p);
        }
      });
      const rand = prng(99);
      await sleep(2500 + Math.floor(rand() * 1000));
      await metastore.kill();
      await sleep(300 + Math.floor(rand() * 500));
      metastore = await startKiln(metastoreFlags, dir);
      await sleep(2000);
      pushing = false;
      await Promise.all(pushers);
      expect(acked.length).toBeGreaterThan(50);

      // Compaction resumes: every segment ends up compacted.
      await waitFor(async () => (await indexedBlockKeys(metastore.url, { level: 0 })).length === 0, 90_000, 'every segment to be compacted after the restart');
      // Nothing orphaned: once tombstones are cleaned, the bucket holds exactly the indexed blocks.
      const bucket = new FilesystemBucket(data);
      let indexed: string[] = [];
      let stored: string[] = [];
      try {
        await waitFor(async () => {
          indexed = (await indexedBlockKeys(metastore.url)).sort();
          stored = (await bucket.list('')).map((o) => o.key).filter((k) => k.endsWith('/block.bin')).sort();
          return JSON.stringify(indexed) === JSON.stringify(stored);
        }, 30_000, 'the bucket to hold exactly the indexed blocks');
      } catch (e) {
        expect({ indexedOnly: indexed.filter((k) => !stored.includes(k)), storedOnly: stored.filter((k) => !indexed.includes(k)) }).toEqual({ indexedOnly: [], storedOnly: [] });
        throw e;
      } finally {
        await bucket.close();
      }

      // Nothing lost or duplicated: acknowledged pushes exactly once, the others at most once.
      const { profiles } = await readProfilesOf(data, indexed);
      const count = new Map<string, number>();
      for (const s of profiles) count.set(keyOfStored(s), (count.get(keyOfStored(s)) ?? 0) + 1);
      for (const p of acked) expect(count.get(keyOfPush(p)), `acked push ${keyOfPush(p)}`).toBe(1);
      for (const p of unacked) expect(count.get(keyOfPush(p)) ?? 0).toBeLessThanOrEqual(1);
      const known = new Set([...acked, ...unacked].map(keyOfPush));
      for (const key of count.keys()) expect(known.has(key), `stored ${key} was never pushed`).toBe(true);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await writer.stop();
      await metastore.stop();
    }
  }, 240_000);
});

// Helpers for tests that run compaction in real processes.

import type { CompactionJobDetails } from '../../src/gen/metastore/v1/compactor_pb.js';
import { objectPath } from '../../src/profiles/block/paths.js';
import { createCompactionClient } from '../../src/profiles/metastore/compaction-service.js';
import { createIndexClient } from '../../src/profiles/metastore/index-service.js';

/** Small thresholds and short leases, so compaction happens within a test's time. */
export const compactionFlags = [
  '-metastore.compaction.l0-max-blocks=4',
  '-metastore.compaction.l0-max-age=1s',
  '-metastore.compaction.l1-max-blocks=3',
  '-metastore.compaction.l1-max-age=3s',
  '-metastore.compaction.l2-max-blocks=3',
  '-metastore.compaction.l2-max-age=5s',
  '-metastore.compaction-job-lease-duration=2s',
  '-metastore.compaction.cleanup-delay=1s',
];

/** Object keys of the blocks the metastore lists (optionally of one level). */
export async function indexedBlockKeys(url: string, filter: { level?: number } = {}): Promise<string[]> {
  const res = await createIndexClient(url).queryBlocks({ hasLevel: filter.level !== undefined, compactionLevel: filter.level ?? 0 });
  return res.blocks.map((b) => objectPath({ shard: b.shard, compactionLevel: b.compactionLevel, tenant: b.stringTable[b.tenant] ?? '', id: b.id }));
}

export async function listJobs(url: string): Promise<CompactionJobDetails[]> {
  return (await createCompactionClient(url).listCompactionJobs({})).jobs;
}

/** Polls `cond` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      // A process may be restarting; try again.
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

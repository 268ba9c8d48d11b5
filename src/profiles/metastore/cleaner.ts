// Deletes the objects of tombstoned blocks once the cleanup delay has passed, then records the
// deletion. The metastore does this itself (Pyroscope hands tombstones to workers): it already
// has the bucket and the tombstones, so there is no extra protocol and nothing to lose in flight.
// The delay lets queries that planned with the old blocks finish reading them.
import { objectPath } from '../block/paths.js';
import type { Bucket } from '../../objstore/bucket.js';
import { blockTenant, type MetastoreLogger } from './block-index.js';
import type { Metastore } from './metastore.js';

export interface CleanerOptions {
  delayMs: number;
  /** Deletions in flight at once. */
  concurrency?: number;
  /** Tombstones handled per run. */
  limit?: number;
}

/**
 * One cleanup pass: best-effort and idempotent (a missing object counts as deleted; a failed
 * delete is retried on the next pass). Returns the number of tombstones resolved.
 */
export async function cleanTombstones(metastore: Metastore, bucket: Bucket, options: CleanerOptions, logger: MetastoreLogger): Promise<number> {
  const due = metastore.tombstonesDue(options.delayMs, options.limit ?? 1000);
  if (due.length === 0) return 0;
  const done: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < due.length) {
      const t = due[next++]!;
      let key: string;
      try {
        key = objectPath({ shard: t.meta.shard, compactionLevel: t.meta.compactionLevel, tenant: blockTenant(t.meta), id: t.id });
      } catch (err) {
        // Registered without a valid object path (e.g. a compacted block with no tenant):
        // there is nothing we could delete, so forget the tombstone.
        logger.warn({ block: t.id, err: String(err) }, 'tombstoned block has no object path; forgetting it');
        done.push(t.id);
        continue;
      }
      try {
        await bucket.delete(key);
        done.push(t.id);
      } catch (err) {
        logger.warn({ block: t.id, key, err: String(err) }, 'deleting a tombstoned object failed; will retry');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
  done.sort();
  await metastore.markObjectsDeleted(done);
  return done.length;
}

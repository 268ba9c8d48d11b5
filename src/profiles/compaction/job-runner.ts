// Runs one compaction job for the worker: fetch the source metas from the metastore, merge
// them (compact.ts), and say what to report.
//
// A source the metastore lists but whose object is gone cannot be compacted now or later (only
// a segment whose registration failed is deleted by its writer, and such a push was never
// acknowledged). Pyroscope answers with an empty SUCCESS, which leaves the dangling entries in
// the index; Kiln merges the sources that exist and still reports every source as replaced, so
// the job removes the dangling entries along with the rest.

import type { Logger } from 'pino';
import type { CompactionJob } from '../../gen/metastore/v1/compactor_pb.js';
import type { BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import type { Bucket } from '../../objstore/bucket.js';
import { compactBlocks, SourceBlockMissingError } from './compact.js';
import type { JobObserver } from './observer.js';
import type { JobResult, JobRunner } from './worker.js';

export interface JobRunnerDeps {
  bucket: Bucket;
  /** Metas of the given block ids that the metastore knows (GetBlockMetadata). */
  blockMetadata(ids: string[], signal: AbortSignal): Promise<BlockMeta[]>;
  /**
   * An observer for an L0 → L1 job (the metrics observer), or none. Called once per attempt,
   * before the merge, with the metas the metastore returned for the job (the same list on
   * every attempt, so the observer's timestamp and instance label do not change on a retry).
   * A rejection fails the job (e.g. a tenant's recording rules cannot be read).
   */
  observerFor?(job: CompactionJob, sources: readonly BlockMeta[]): Promise<JobObserver | undefined>;
  tmpDir?: string;
  logger: Logger;
}

export function createJobRunner(deps: JobRunnerDeps): JobRunner {
  return async (job, signal): Promise<JobResult> => {
    const wanted = new Set(job.sourceBlocks);
    const known = (await deps.blockMetadata(job.sourceBlocks, signal)).filter((m) => wanted.has(m.id));
    let sources = known;
    const replaced = { sourceBlocks: job.sourceBlocks, newBlocks: [] as BlockMeta[] };
    while (sources.length > 0) {
      signal.throwIfAborted();
      // A fresh observer per attempt: a failed attempt must leave no partial sums behind.
      const observer = job.compactionLevel === 0 ? await deps.observerFor?.(job, known) : undefined;
      signal.throwIfAborted();
      try {
        const res = await compactBlocks({ bucket: deps.bucket, sources, shard: job.shard, outputLevel: job.compactionLevel + 1, observer, signal, tmpDir: deps.tmpDir });
        return { ...replaced, newBlocks: res.newBlocks, observerResult: res.observerResult };
      } catch (e) {
        if (!(e instanceof SourceBlockMissingError)) throw e;
        deps.logger.warn({ job: job.name, missing: e.blockIds }, 'source blocks are missing from the bucket; compacting the rest and dropping them from the index');
        const missing = new Set(e.blockIds);
        sources = sources.filter((m) => !missing.has(m.id));
      }
    }
    deps.logger.warn({ job: job.name }, 'no source block of the job exists; reporting it done with no output');
    return replaced;
  };
}

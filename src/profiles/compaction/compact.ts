// Block compaction: merges the source blocks of one job into one output
// block per tenant (docs/compaction.md). The worker (worker.ts) calls
// compactBlocks with the job's sources and reports the returned metas.
//
//   1. Check the sources (one shard, distinct ids), sort them by id and open
//      each one's footer. A missing object stops the job before anything is
//      written (SourceBlockMissingError).
//   2. For each tenant (sorted), stream a block into a temp file: its datasets
//      (sorted by service name) are each a k-way merge of that dataset in
//      every source (merge-dataset.ts).
//   3. Only when every tenant's block is complete, upload them to
//      blocks/<shard>/<tenant>/<id>/block.bin. A failure or abort before that
//      writes nothing; one during the uploads may leave some outputs, which
//      are harmless: nothing refers to them until the metastore accepts the
//      job, and a retry rewrites the same keys with the same bytes.
//
// Output ids, bytes and created_by depend only on the sources, so the job is
// deterministic (DESIGN.md invariant 2).

import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import { ObjectNotFoundError, type Bucket } from '../../objstore/bucket.js';
import { compareStrings } from '../block/labels.js';
import { blockPath, objectPath } from '../block/paths.js';
import { BlockFormatError, BlockReader } from '../block/reader.js';
import { StreamingBlockWriter } from '../block/stream-writer.js';
import { compactedBlockId } from './block-id.js';
import { emptyStats, mergeDataset, type MergeSource, type MergeStats } from './merge-dataset.js';
import type { JobObserver } from './observer.js';

export type { MergeStats as CompactionStats } from './merge-dataset.js';

/**
 * A source object is not in the bucket. Pyroscope's worker answers this with
 * SUCCESS and empty lists (the blocks are gone; the job cannot succeed later).
 */
export class SourceBlockMissingError extends Error {
  constructor(
    /** Ids of the missing source blocks. */
    readonly blockIds: string[],
    options?: { cause?: unknown },
  ) {
    super(`compaction: source block${blockIds.length === 1 ? '' : 's'} missing from the bucket: ${blockIds.join(', ')}`, options);
    this.name = 'SourceBlockMissingError';
  }
}

export interface CompactOptions {
  bucket: Bucket;
  /** Metas of the job's source blocks as the metastore returns them (size set; 0 means "ask the bucket"). */
  sources: readonly BlockMeta[];
  /** The job's shard; every source must be in it. */
  shard: number;
  /** Level of the output blocks; default max(source level) + 1. */
  outputLevel?: number;
  /**
   * Shown every merged row (observer.ts). Only for level-0 sources: a row
   * is observed in the job that first compacts it, and never again.
   */
  observer?: JobObserver;
  /** Aborting stops the merge at the next row group and uploads nothing further. */
  signal?: AbortSignal;
  /** Directory for the temp files of the output blocks; default os.tmpdir(). */
  tmpDir?: string;
  /**
   * Source objects up to this size are read whole, once, and served from
   * memory (default 8 MiB, as Pyroscope's small-object-size; 0 = always
   * ranged reads). A segment is small, and one read replaces about six
   * ranged reads per dataset. Larger sources are read a row group at a time.
   */
  smallObjectBytes?: number;
}

/** Default of CompactOptions.smallObjectBytes. */
export const SMALL_OBJECT_BYTES = 8 * 1024 * 1024;

export interface CompactResult {
  /** One block per tenant of the sources, sorted by tenant, size set. */
  newBlocks: BlockMeta[];
  /** What observer.finish() returned (for CompactionJobStatusUpdate.observer_result). */
  observerResult?: Uint8Array;
  stats: MergeStats;
}

interface Output {
  key: string;
  path: string;
  meta: BlockMeta;
}

/** Merges the job's source blocks into one block per tenant; see the file comment. */
export async function compactBlocks(opts: CompactOptions): Promise<CompactResult> {
  const { bucket, shard, observer, signal } = opts;
  if (opts.sources.length === 0) throw new Error('compaction: no source blocks');
  for (const m of opts.sources) {
    if (m.shard !== shard) {
      throw new Error(`compaction: only blocks from the same shard can be merged: block ${m.id} is in shard ${m.shard}, the job's shard is ${shard}`);
    }
  }
  const sources = opts.sources.slice().sort((a, b) => compareStrings(a.id, b.id));
  for (let i = 1; i < sources.length; i++) {
    if (sources[i]!.id === sources[i - 1]!.id) throw new Error(`compaction: source block ${sources[i]!.id} is listed twice`);
  }
  const maxLevel = Math.max(...sources.map((m) => m.compactionLevel));
  const level = opts.outputLevel ?? maxLevel + 1;
  if (!Number.isInteger(level) || level <= maxLevel) throw new Error(`compaction: output level ${level} must be above the source level ${maxLevel}`);
  if (observer !== undefined && maxLevel !== 0) throw new Error('compaction: an observer is only for level-0 sources (rows are observed once, when first compacted)');
  signal?.throwIfAborted();

  const keys = sources.map((m) => objectPath({ shard: m.shard, compactionLevel: m.compactionLevel, tenant: m.stringTable[m.tenant] ?? '', id: m.id }));
  const readers = await openSources(bucket, sources, keys, opts.smallObjectBytes ?? SMALL_OBJECT_BYTES);
  const missing = (err: unknown): never => {
    // An object deleted while the job ran (e.g. the job was already done elsewhere and cleaned up).
    if (err instanceof ObjectNotFoundError && keys.includes(err.key)) throw new SourceBlockMissingError([sources[keys.indexOf(err.key)]!.id], { cause: err });
    throw err;
  };

  // tenant → service name → that dataset in each source that has it, in source order.
  const plan = new Map<string, Map<string, MergeSource[]>>();
  for (const reader of readers) {
    for (const dataset of reader.datasets()) {
      let byName = plan.get(dataset.tenant);
      if (byName === undefined) plan.set(dataset.tenant, (byName = new Map()));
      let list = byName.get(dataset.name);
      if (list === undefined) byName.set(dataset.name, (list = []));
      list.push({ reader, dataset });
    }
  }

  const first = readers[0]!.meta;
  const createdBy = first.stringTable[first.createdBy] ?? '';
  const ids = sources.map((m) => m.id);
  const stats = emptyStats();
  const dir = await mkdtemp(join(opts.tmpDir ?? os.tmpdir(), 'kiln-compaction-'));
  try {
    const outputs: Output[] = [];
    for (const tenant of [...plan.keys()].sort(compareStrings)) {
      const id = compactedBlockId(ids, level, tenant);
      const path = join(dir, `${outputs.length}.bin`);
      const file = await open(path, 'wx');
      try {
        const writer = new StreamingBlockWriter({ id, shard, compactionLevel: level, createdBy, tenant }, async (bytes) => {
          let at = 0;
          while (at < bytes.length) at += (await file.write(bytes, at, bytes.length - at)).bytesWritten;
        });
        const observed = observer !== undefined && observer.beginTenant(tenant) ? observer : undefined;
        const byName = plan.get(tenant)!;
        for (const name of [...byName.keys()].sort(compareStrings)) {
          signal?.throwIfAborted();
          await mergeDataset({ tenant, name, sources: byName.get(name)!, writer, observer: observed, stats, signal }).catch(missing);
        }
        outputs.push({ key: blockPath(shard, tenant, id), path, meta: await writer.finish() });
      } finally {
        await file.close();
      }
    }
    for (const o of outputs) {
      signal?.throwIfAborted();
      if (bucket.putFile !== undefined) await bucket.putFile(o.key, o.path);
      // A bucket without putFile gets the object in one buffer (MemoryBucket in tests).
      else await bucket.put(o.key, await readFile(o.path));
    }
    const result: CompactResult = { newBlocks: outputs.map((o) => o.meta), stats };
    const observerResult = observer?.finish();
    if (observerResult !== undefined) result.observerResult = observerResult;
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Opens every source's footer; all missing objects are reported in one SourceBlockMissingError. */
async function openSources(bucket: Bucket, sources: readonly BlockMeta[], keys: readonly string[], smallObjectBytes: number): Promise<BlockReader[]> {
  const results = await Promise.allSettled(
    sources.map(async (m, i) => {
      const key = keys[i]!;
      const size = Number(m.size);
      if (size > 0 && size <= smallObjectBytes) {
        const bytes = await bucket.get(key);
        return BlockReader.open(new InMemoryObject(key, bytes), key, bytes.length);
      }
      return BlockReader.open(bucket, key, size > 0 ? size : undefined);
    }),
  );
  const missing = sources.filter((_, i) => {
    const r = results[i]!;
    return r.status === 'rejected' && r.reason instanceof ObjectNotFoundError;
  });
  if (missing.length > 0) throw new SourceBlockMissingError(missing.map((m) => m.id));
  return results.map((r, i) => {
    if (r.status === 'rejected') throw r.reason;
    const meta = r.value.meta;
    const want = sources[i]!;
    if (meta.id !== want.id || meta.shard !== want.shard || meta.compactionLevel !== want.compactionLevel) {
      throw new BlockFormatError(
        `block ${keys[i]}: footer says block ${meta.id} (shard ${meta.shard}, level ${meta.compactionLevel}), the job expects ${want.id} (shard ${want.shard}, level ${want.compactionLevel})`,
      );
    }
    return r.value;
  });
}

/** One object already read whole, served to a BlockReader as a read-only bucket. */
class InMemoryObject implements Bucket {
  constructor(
    private readonly key: string,
    private readonly bytes: Uint8Array,
  ) {}

  private check(key: string): void {
    if (key !== this.key) throw new ObjectNotFoundError(key);
  }
  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    this.check(key);
    return this.bytes.subarray(offset, offset + length);
  }
  async get(key: string): Promise<Uint8Array> {
    this.check(key);
    return this.bytes;
  }
  async head(key: string): Promise<{ key: string; size: number }> {
    this.check(key);
    return { key, size: this.bytes.length };
  }
  put(): Promise<void> {
    return Promise.reject(new Error('read-only'));
  }
  list(): Promise<never[]> {
    return Promise.resolve([]);
  }
  delete(): Promise<void> {
    return Promise.reject(new Error('read-only'));
  }
  async close(): Promise<void> {}
}

// One tenant's TSDB: a head (in memory + WAL) and the on-disk blocks in the same directory.
//
//   <tsdb.dir>/<tenant>/
//     wal/                         the head's write-ahead log (head/, wal/)
//     01J…/  01J…/                 blocks (blocks/), one directory per ULID
//     01J….tmp-for-creation/       a block being written (removed at open: a crash left it)
//     01J….tmp-for-deletion/       a block being deleted (removed at open)
//
// Crash safety, in the order things happen:
//   * head compaction writes the oldest block range of the head as a block (atomically, see
//     blocks/block-writer.ts), only then truncates the head (which checkpoints the WAL). A crash
//     in between leaves the samples both in the block and in the WAL; at open the head is
//     truncated to the newest block's maxTime, so they are read once (reads also dedupe).
//   * block compaction writes the merged block, then deletes its parents. A crash in between
//     leaves both; at open any block named as a parent by another block is deleted.
//   * a block that fails validation at open, or later in a read or compaction, is logged, counted
//     and skipped from then on (left on disk for inspection); the DB keeps serving the rest.
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { isValid, monotonicFactory } from 'ulid';
import { APPENDABLE_WINDOW_MS, Head } from './head/head.js';
import type { TsdbLogger } from './wal/wal.js';
import { BlockReader, CorruptBlockError } from './blocks/block-reader.js';
import { deleteBlockDir, TMP_CREATION_SUFFIX, TMP_DELETION_SUFFIX, writeBlock, type BlockSeries } from './blocks/block-writer.js';
import { ENCODING_XOR } from './blocks/chunk-files.js';
import { compactBlocks, compactionRanges, planCompaction } from './blocks/compactor.js';
import type { BlockMeta } from './blocks/meta.js';
import { blocksBeyondRetention } from './blocks/retention.js';
import type { TsdbMetrics } from './db-metrics.js';
import { MergedQuerier } from './merged-querier.js';
import type { AppendOptions, AppendOutcome, LabelMatcher, Querier, SelectedSeries, SeriesSamples } from './storage.js';

export interface TenantDbOptions {
  /** Length of a head block (ms); the head is compacted when it spans 1.5× this. */
  blockRangeMs: number;
  /** Blocks whose data is all older than now − this are deleted (0: keep forever). */
  retentionMs: number;
  logger: TsdbLogger;
  clock: () => number;
  metrics?: TsdbMetrics;
  walSegmentBytes?: number;
}

/** A block in use, with the number of queries reading it (it is deleted only when none are). */
interface LiveBlock {
  reader: BlockReader;
  readers: number;
  /** Set when compaction or retention dropped it: delete once the last reader is done. */
  retired?: 'delete' | 'close';
}

const newUlid = monotonicFactory();
const byTime = (a: LiveBlock, b: LiveBlock): number => a.reader.meta.minTime - b.reader.meta.minTime || (a.reader.ulid < b.reader.ulid ? -1 : 1);

export class TenantDb {
  private blocks: LiveBlock[] = [];
  /** Compaction, retention and close run one at a time. */
  private exclusive: Promise<unknown> = Promise.resolve();
  /** Largest out-of-order window an append asked for: the head keeps that much before a block is cut. */
  private oooWindowMs = 0;
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly head: Head,
    private readonly o: TenantDbOptions,
  ) {}

  static async open(dir: string, o: TenantDbOptions): Promise<TenantDb> {
    await mkdir(dir, { recursive: true });
    const blocks = await openBlocks(dir, o);
    const head = await Head.open(dir, { logger: o.logger, walSegmentBytes: o.walSegmentBytes });
    const db = new TenantDb(dir, head, o);
    db.blocks = blocks.sort(byTime);
    // Samples the WAL still holds for a range a block already covers (crash between block write
    // and head truncation) are dropped now, and appends into that range are refused from now on.
    const blocksEnd = Math.max(...blocks.map((b) => b.reader.meta.maxTime));
    if (blocks.length > 0 && head.minValidTime < blocksEnd) await head.truncate(blocksEnd);
    return db;
  }

  /** Metas of the blocks in use, sorted by time. */
  blockMetas(): BlockMeta[] {
    return this.blocks.map((b) => b.reader.meta);
  }

  append(series: readonly SeriesSamples[], options: AppendOptions): Promise<AppendOutcome> {
    if (options.outOfOrderWindowMs > this.oooWindowMs) this.oooWindowMs = options.outOfOrderWindowMs;
    // Not awaited here: `series` need not stay alive while the WAL write is pending.
    return this.head.append(series, options).then((outcome) => {
      this.o.metrics?.samplesAppended.inc(outcome.appended);
      return outcome;
    });
  }

  /** A querier over the blocks and the head; each call reads a consistent set of blocks. */
  querier(): Querier {
    const run = async <T>(read: (q: Querier) => Promise<T>): Promise<T> => {
      const snapshot = this.acquire();
      try {
        return await read(
          new MergedQuerier({
            blocks: snapshot.map((b) => b.reader),
            head: this.head.querier(),
            onCorrupt: (reader, err) => this.markCorrupt(reader, err),
          }),
        );
      } finally {
        this.release(snapshot);
      }
    };
    return {
      select: (m: readonly LabelMatcher[], minT: number, maxT: number): Promise<SelectedSeries[]> => run((q) => q.select(m, minT, maxT)),
      labelNames: (m: readonly LabelMatcher[], minT: number, maxT: number): Promise<string[]> => run((q) => q.labelNames(m, minT, maxT)),
      labelValues: (name: string, m: readonly LabelMatcher[], minT: number, maxT: number): Promise<string[]> => run((q) => q.labelValues(name, m, minT, maxT)),
    };
  }

  /** Head compaction, block compaction, retention: what the background loop runs. */
  async maintain(): Promise<void> {
    await this.compactHead();
    await this.compactBlocks();
    await this.applyRetention();
  }

  /**
   * Cuts blocks from the head while it spans more than 1.5 block ranges: the oldest aligned
   * range [k·range, (k+1)·range) becomes a level-1 block, then the head drops it. Returns the
   * blocks written.
   */
  compactHead(): Promise<BlockMeta[]> {
    return this.serial(async () => {
      const written: BlockMeta[] = [];
      const range = this.o.blockRangeMs;
      for (;;) {
        const h = this.head;
        if (h.minTime === Infinity || h.maxTime - h.minTime <= range * 1.5) break;
        const minTime = Math.floor(h.minTime / range) * range;
        const maxTime = minTime + range;
        // No append may land in [minTime, maxTime) once the block is being written (it would be
        // lost at truncation): appends older than maxTime − max(1 h, OOO window) are refused.
        if (maxTime > h.maxTime - Math.max(APPENDABLE_WINDOW_MS, this.oooWindowMs)) break;
        const started = performance.now();
        try {
          const meta = await writeBlock(headSeries(h, minTime, maxTime), { parentDir: this.dir, ulid: newUlid(this.o.clock()), minTime, maxTime, level: 1 });
          // Only a durable block allows the head to forget the range.
          if (meta.stats.numSeries > 0) {
            this.blocks.push({ reader: await BlockReader.open(path.join(this.dir, meta.ulid)), readers: 0 });
            this.blocks.sort(byTime);
            written.push(meta);
          } else {
            await deleteBlockDir(this.dir, meta.ulid);
          }
          await h.truncate(maxTime);
        } catch (err) {
          this.o.metrics?.compactionsFailed.inc({ kind: 'head' });
          this.o.logger.warn({ dir: this.dir, minTime, maxTime, err: String(err) }, 'TSDB head compaction failed');
          throw err;
        }
        this.o.metrics?.compactions.inc({ kind: 'head' });
        this.o.metrics?.compactionSeconds.observe({ kind: 'head' }, (performance.now() - started) / 1000);
        this.o.logger.info({ dir: this.dir, minTime, maxTime, ulid: written.at(-1)?.ulid, ms: Math.round(performance.now() - started) }, 'TSDB head compacted into a block');
      }
      return written;
    });
  }

  /** Merges blocks as planned (blocks/compactor.ts) until nothing is due; returns the blocks written. */
  compactBlocks(): Promise<BlockMeta[]> {
    return this.serial(async () => {
      const written: BlockMeta[] = [];
      const ranges = compactionRanges(this.o.blockRangeMs, this.o.retentionMs);
      for (;;) {
        const plan = planCompaction(this.blockMetas(), ranges);
        if (plan.length < 2) break;
        const parents = plan.map((m) => this.blocks.find((b) => b.reader.ulid === m.ulid)!);
        const started = performance.now();
        let meta: BlockMeta;
        try {
          meta = await compactBlocks(this.dir, parents.map((p) => p.reader));
        } catch (err) {
          const corrupt = err instanceof CorruptBlockError ? parents.find((p) => err.file.startsWith(p.reader.dir + path.sep)) : undefined;
          this.o.metrics?.compactionsFailed.inc({ kind: 'blocks' });
          if (corrupt) {
            this.markCorrupt(corrupt.reader, err as CorruptBlockError);
            continue; // plan again without it
          }
          this.o.logger.warn({ dir: this.dir, parents: plan.map((m) => m.ulid), err: String(err) }, 'TSDB block compaction failed');
          throw err;
        }
        const child: LiveBlock = { reader: await BlockReader.open(path.join(this.dir, meta.ulid)), readers: 0 };
        this.blocks = [...this.blocks.filter((b) => !parents.includes(b)), child].sort(byTime);
        for (const p of parents) await this.retire(p, 'delete');
        written.push(meta);
        this.o.metrics?.compactions.inc({ kind: 'blocks' });
        this.o.metrics?.compactionSeconds.observe({ kind: 'blocks' }, (performance.now() - started) / 1000);
        this.o.logger.info(
          { dir: this.dir, ulid: meta.ulid, level: meta.compaction.level, minTime: meta.minTime, maxTime: meta.maxTime, parents: plan.map((m) => m.ulid), ms: Math.round(performance.now() - started) },
          'TSDB blocks compacted',
        );
      }
      return written;
    });
  }

  /** Deletes the blocks whose data is all older than now − retention; returns them. */
  applyRetention(): Promise<BlockMeta[]> {
    return this.serial(async () => {
      const expired = blocksBeyondRetention(this.blockMetas(), this.o.clock(), this.o.retentionMs);
      for (const m of expired) {
        const b = this.blocks.find((x) => x.reader.ulid === m.ulid)!;
        this.blocks = this.blocks.filter((x) => x !== b);
        await this.retire(b, 'delete');
        this.o.metrics?.retentionDeleted.inc();
        this.o.logger.info({ dir: this.dir, ulid: m.ulid, minTime: m.minTime, maxTime: m.maxTime }, 'TSDB retention deleted a block');
      }
      return expired;
    });
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      if (this.closed) return;
      this.closed = true;
      const blocks = this.blocks;
      this.blocks = [];
      for (const b of blocks) await this.retire(b, 'close');
      await this.head.close();
    });
  }

  // ---- internals ----

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(() => {
      if (this.closed) throw new Error(`TSDB ${this.dir} is closed`);
      return fn();
    });
    this.exclusive = run.catch(() => {});
    return run;
  }

  private acquire(): LiveBlock[] {
    const snapshot = [...this.blocks];
    for (const b of snapshot) b.readers++;
    return snapshot;
  }

  private release(snapshot: readonly LiveBlock[]): void {
    for (const b of snapshot) {
      b.readers--;
      if (b.readers === 0 && b.retired) void this.finish(b);
    }
  }

  /** Drops a block from use; it is closed (and deleted) now or when its last query ends. */
  private async retire(b: LiveBlock, how: 'delete' | 'close'): Promise<void> {
    b.retired = how;
    if (b.readers === 0) await this.finish(b);
  }

  private async finish(b: LiveBlock): Promise<void> {
    try {
      await b.reader.close();
      if (b.retired === 'delete') await deleteBlockDir(this.dir, b.reader.ulid);
    } catch (err) {
      // A block left behind is deleted at the next open (a parent) or retention run.
      this.o.logger.warn({ dir: this.dir, ulid: b.reader.ulid, err: String(err) }, 'TSDB could not delete a block');
    }
  }

  private markCorrupt(reader: BlockReader, err: CorruptBlockError): void {
    const b = this.blocks.find((x) => x.reader === reader);
    if (!b) return; // already dropped by another query
    this.blocks = this.blocks.filter((x) => x !== b);
    void this.retire(b, 'close');
    this.o.metrics?.corruptBlocks.inc();
    this.o.logger.warn({ dir: this.dir, ulid: reader.ulid, file: err.file, err: err.message }, 'TSDB block is corrupt; skipping it (left on disk)');
  }
}

/** The head's series in [minTime, maxTime) as block series. */
function* headSeries(head: Head, minTime: number, maxTime: number): Generator<BlockSeries> {
  for (const s of head.seriesChunks(minTime, maxTime - 1)) {
    yield { labels: s.labels, chunks: s.chunks.map((c) => ({ encoding: ENCODING_XOR, data: c.bytes, minT: c.minT, maxT: c.maxT })) };
  }
}

/**
 * Opens the blocks in `dir`: removes leftovers of interrupted writes and deletes, skips (and
 * logs) corrupt blocks, and deletes blocks that a compacted block replaced.
 */
async function openBlocks(dir: string, o: TenantDbOptions): Promise<LiveBlock[]> {
  const opened: LiveBlock[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (name.endsWith(TMP_CREATION_SUFFIX) || name.endsWith(TMP_DELETION_SUFFIX)) {
      o.logger.info({ dir, name }, 'TSDB removing an interrupted block write or delete');
      await rm(path.join(dir, name), { recursive: true, force: true });
      continue;
    }
    if (!isValid(name)) continue; // wal/, anything else
    try {
      opened.push({ reader: await BlockReader.open(path.join(dir, name)), readers: 0 });
    } catch (err) {
      if (!(err instanceof CorruptBlockError)) throw err;
      o.metrics?.corruptBlocks.inc();
      o.logger.warn({ dir, ulid: name, file: err.file, err: err.message }, 'TSDB block is corrupt; skipping it (left on disk)');
    }
  }
  const replaced = new Set(opened.flatMap((b) => (b.reader.meta.compaction.parents ?? []).map((p) => p.ulid)));
  const kept: LiveBlock[] = [];
  for (const b of opened) {
    if (!replaced.has(b.reader.ulid)) {
      kept.push(b);
      continue;
    }
    o.logger.info({ dir, ulid: b.reader.ulid }, 'TSDB deleting a block that a compacted block replaced');
    await b.reader.close();
    await deleteBlockDir(dir, b.reader.ulid);
  }
  return kept;
}

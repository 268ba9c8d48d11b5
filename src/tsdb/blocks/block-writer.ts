// Writes one block directory atomically (docs/tsdb-format.md §Block directory):
//
//   1. everything goes into `<ulid>.tmp-for-creation/` (chunks/, index, meta.json), each file
//      fsynced as it is closed;
//   2. the temp directory (and chunks/) is fsynced, renamed to `<ulid>`, and the parent fsynced.
//
// Until step 2 completes the block does not exist for any reader: a crash leaves only a temp
// directory, which the DB deletes when it opens (see db.ts). The meta.json write is last, so a
// directory named `<ulid>` always holds a complete block.
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from '../../objstore/filesystem.js';
import type { Labels } from '../storage.js';
import { ChunkWriter, CHUNKS_DIR, ENCODING_XOR, type EncodedChunk } from './chunk-files.js';
import { buildIndex, INDEX_FILE, type IndexSeries } from './index-writer.js';
import { formatMeta, META_FILE, type BlockDesc, type BlockMeta } from './meta.js';

export const TMP_CREATION_SUFFIX = '.tmp-for-creation';
export const TMP_DELETION_SUFFIX = '.tmp-for-deletion';

/** One chunk to store, with the time range of its samples (ms, inclusive). */
export interface BlockChunk extends EncodedChunk {
  minT: number;
  maxT: number;
  /** Samples in the chunk; read from an XOR chunk's 2-byte header when absent. */
  samples?: number;
}

export interface BlockSeries {
  labels: Labels;
  chunks: readonly BlockChunk[];
}

export interface WriteBlockOptions {
  /** The folder that holds the blocks (a tenant's DB directory). */
  parentDir: string;
  ulid: string;
  minTime: number;
  /** Exclusive. */
  maxTime: number;
  level: number;
  /** Level-1 blocks whose data this block holds; defaults to [ulid]. */
  sources?: string[];
  parents?: BlockDesc[];
  /** Tests pass a small size to exercise segment cuts. */
  maxSegmentSize?: number;
}

/** Samples in a chunk: XOR chunks start with a big-endian uint16 sample count. */
export function chunkSampleCount(c: BlockChunk): number {
  if (c.samples !== undefined) return c.samples;
  if (c.encoding === ENCODING_XOR && c.data.length >= 2) return (c.data[0]! << 8) | c.data[1]!;
  return 0;
}

/**
 * Writes `series` (sorted by labels, each series' chunks sorted by time and inside
 * [minTime, maxTime)) as block `ulid` in `parentDir` and returns its meta. Series without
 * chunks are left out.
 */
export async function writeBlock(series: AsyncIterable<BlockSeries> | Iterable<BlockSeries>, o: WriteBlockOptions): Promise<BlockMeta> {
  const finalDir = path.join(o.parentDir, o.ulid);
  const tmpDir = finalDir + TMP_CREATION_SUFFIX;
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(path.join(tmpDir, CHUNKS_DIR), { recursive: true });
  try {
    const chunks = new ChunkWriter(path.join(tmpDir, CHUNKS_DIR), { maxSegmentSize: o.maxSegmentSize });
    const indexSeries: IndexSeries[] = [];
    const stats = { numSamples: 0, numSeries: 0, numChunks: 0 };
    for await (const s of series) {
      if (s.chunks.length === 0) continue;
      const metas = [];
      for (const c of s.chunks) {
        if (c.minT < o.minTime || c.maxT >= o.maxTime) {
          throw new Error(`chunk [${c.minT}, ${c.maxT}] outside block range [${o.minTime}, ${o.maxTime})`);
        }
        metas.push({ minT: c.minT, maxT: c.maxT, ref: await chunks.write(c) });
        stats.numSamples += chunkSampleCount(c);
      }
      indexSeries.push({ labels: s.labels, chunks: metas });
      stats.numSeries++;
      stats.numChunks += metas.length;
    }
    await chunks.close();
    await writeFileSynced(path.join(tmpDir, INDEX_FILE), buildIndex(indexSeries));
    const meta: BlockMeta = {
      ulid: o.ulid,
      minTime: o.minTime,
      maxTime: o.maxTime,
      stats,
      compaction: { level: o.level, sources: o.sources ?? [o.ulid], ...(o.parents ? { parents: o.parents } : {}) },
      version: 1,
    };
    await writeFileSynced(path.join(tmpDir, META_FILE), Buffer.from(formatMeta(meta)));
    await fsyncDir(path.join(tmpDir, CHUNKS_DIR));
    await fsyncDir(tmpDir);
    await rename(tmpDir, finalDir);
    await fsyncDir(o.parentDir);
    return meta;
  } catch (err) {
    await rm(tmpDir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

async function writeFileSynced(file: string, data: Uint8Array): Promise<void> {
  const fh = await open(file, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Deletes a block directory so that a crash never leaves a half-deleted block under its real
 * name: rename to `<ulid>.tmp-for-deletion` (+ fsync parent), then remove recursively.
 */
export async function deleteBlockDir(parentDir: string, ulid: string): Promise<void> {
  const dir = path.join(parentDir, ulid);
  const tmp = dir + TMP_DELETION_SUFFIX;
  await rename(dir, tmp);
  await fsyncDir(parentDir);
  await rm(tmp, { recursive: true, force: true });
}

// Block compaction: which blocks to merge next (plan) and the merge itself (compact).
//
// Ranges grow by 3×: 2h, 6h, 18h, 54h, … up to min(31d, retention / 10) (spec/tsdb.md §6).
// The plan, in order of preference:
//   1. blocks whose time ranges overlap (a head block written over a block that was already
//      there, e.g. after a crash) are merged first — "vertical" compaction;
//   2. otherwise, for each range above the smallest, the blocks are grouped into windows aligned
//      to that range (a block that sticks out of its window is left alone); the first window
//      with ≥ 2 blocks is merged when it is full (its blocks span the whole window) or when it
//      ends before the last candidate block starts (newer blocks exist, so no more will come
//      into it). The newest block is never a candidate, so a block just cut from the head stays
//      as it is for one more block range.
// The merge is deterministic: the output's ULID is derived from its parents and the bytes only
// depend on the parents' data, so a compaction redone after a crash writes the same block.
import type { BlockReader } from './block-reader.js';
import { writeBlock, type BlockChunk, type BlockSeries } from './block-writer.js';
import { compareLabels } from './labels.js';
import { deterministicUlid, type BlockMeta } from './meta.js';
import { mergeSeriesChunks } from './series-merge.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const MAX_BLOCK_DURATION = 31 * DAY;

/** Block ranges from `blockRange` upward (×3, at most 10), none above min(31d, retention/10). */
export function compactionRanges(blockRange: number, retentionMs: number): number[] {
  const cap = retentionMs > 0 ? Math.min(MAX_BLOCK_DURATION, retentionMs / 10) : MAX_BLOCK_DURATION;
  const ranges = [blockRange];
  for (let r = blockRange * 3; ranges.length < 10 && r <= cap; r *= 3) ranges.push(r);
  return ranges;
}

const byTime = (a: BlockMeta, b: BlockMeta): number => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0);

/** The blocks to merge next, sorted by time, or [] when nothing is due. */
export function planCompaction(metas: readonly BlockMeta[], ranges: readonly number[]): BlockMeta[] {
  const sorted = [...metas].sort(byTime);

  // 1. Overlaps: the first run of blocks that overlap one another (transitively).
  for (let i = 0; i < sorted.length; i++) {
    let end = sorted[i]!.maxTime;
    let j = i + 1;
    while (j < sorted.length && sorted[j]!.minTime < end) end = Math.max(end, sorted[j++]!.maxTime);
    if (j - i > 1) return sorted.slice(i, j);
  }

  // 2. Leveled: all but the newest block, grouped into aligned windows of each larger range.
  const candidates = sorted.slice(0, -1);
  if (candidates.length < 2) return [];
  const lastStart = candidates[candidates.length - 1]!.minTime;
  for (const range of ranges.slice(1)) {
    for (const group of alignedGroups(candidates, range)) {
      if (group.length < 2) continue;
      const span = group[group.length - 1]!.maxTime - group[0]!.minTime;
      if (span === range || group[group.length - 1]!.maxTime <= lastStart) return group;
    }
  }
  return [];
}

/** Consecutive blocks that fall inside the same window [k·range, (k+1)·range). */
function alignedGroups(sorted: readonly BlockMeta[], range: number): BlockMeta[][] {
  const groups: BlockMeta[][] = [];
  let windowStart = NaN;
  for (const m of sorted) {
    const start = Math.floor(m.minTime / range) * range;
    if (m.maxTime > start + range) continue; // larger than or straddling the window
    if (start !== windowStart) {
      groups.push([]);
      windowStart = start;
    }
    groups[groups.length - 1]!.push(m);
  }
  return groups;
}

/**
 * Merges `blocks` into one new block in `parentDir` and returns its meta. The parents are not
 * deleted here: the caller does that once the new block is durable (and a restart deletes any
 * block that another block names as its parent).
 */
export async function compactBlocks(parentDir: string, blocks: readonly BlockReader[]): Promise<BlockMeta> {
  const parents = [...blocks].sort((a, b) => byTime(a.meta, b.meta));
  const metas = parents.map((b) => b.meta);
  const minTime = Math.min(...metas.map((m) => m.minTime));
  const maxTime = Math.max(...metas.map((m) => m.maxTime));
  const ulid = deterministicUlid(minTime, `compact:${metas.map((m) => m.ulid).join(',')}`);
  return writeBlock(mergeBlockSeries(parents), {
    parentDir,
    ulid,
    minTime,
    maxTime,
    level: Math.max(...metas.map((m) => m.compaction.level)) + 1,
    sources: [...new Set(metas.flatMap((m) => m.compaction.sources))].sort(),
    parents: metas.map((m) => ({ ulid: m.ulid, minTime: m.minTime, maxTime: m.maxTime })),
  });
}

/** A k-way merge by labels of the blocks' series; a series in several blocks gets merged chunks. */
async function* mergeBlockSeries(blocks: readonly BlockReader[]): AsyncGenerator<BlockSeries> {
  const iters = blocks.map((b) => b.allSeries()[Symbol.asyncIterator]());
  const heads: Array<BlockSeries | undefined> = await Promise.all(iters.map(async (it) => (await it.next()).value ?? undefined));
  for (;;) {
    let min: BlockSeries | undefined;
    for (const h of heads) if (h && (!min || compareLabels(h.labels, min.labels) < 0)) min = h;
    if (!min) return;
    const sources: Array<readonly BlockChunk[]> = [];
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      if (h && compareLabels(h.labels, min.labels) === 0) {
        sources.push(h.chunks);
        heads[i] = (await iters[i]!.next()).value ?? undefined;
      }
    }
    yield { labels: min.labels, chunks: mergeSeriesChunks(sources) };
  }
}

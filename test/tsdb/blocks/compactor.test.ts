// Block compaction: ranges, the plan, merging (level, sources, parents), determinism,
// overlapping blocks, and retention.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeXorChunk, encodeXorChunk } from '../../../src/tsdb/chunkenc/xor-chunk.js';
import { BlockReader } from '../../../src/tsdb/blocks/block-reader.js';
import { writeBlock, type BlockChunk, type BlockSeries } from '../../../src/tsdb/blocks/block-writer.js';
import { compactBlocks, compactionRanges, planCompaction } from '../../../src/tsdb/blocks/compactor.js';
import { deterministicUlid, type BlockMeta } from '../../../src/tsdb/blocks/meta.js';
import { blocksBeyondRetention } from '../../../src/tsdb/blocks/retention.js';
import type { Labels } from '../../../src/tsdb/storage.js';
import { tempDirsRemovedAfterAll } from './helpers.js';

const H = 3_600_000;
const D = 24 * H;
const newDir = tempDirsRemovedAfterAll();

const meta = (minH: number, maxH: number, name = `b${minH}-${maxH}`): BlockMeta => ({
  ulid: deterministicUlid(minH * H, name),
  minTime: minH * H,
  maxTime: maxH * H,
  stats: { numSamples: 0, numSeries: 0, numChunks: 0 },
  compaction: { level: 1, sources: [] },
  version: 1,
});
const spans = (ms: BlockMeta[]): string[] => ms.map((m) => `${m.minTime / H}-${m.maxTime / H}`);

describe('compaction ranges', () => {
  it('grow ×3 from the block range, capped at min(31d, retention/10)', () => {
    expect(compactionRanges(2 * H, 15 * D).map((r) => r / H)).toEqual([2, 6, 18]);
    expect(compactionRanges(2 * H, 0).map((r) => r / H)).toEqual([2, 6, 18, 54, 162, 486]);
    expect(compactionRanges(2 * H, 1 * H).map((r) => r / H)).toEqual([2]);
  });
});

describe('plan', () => {
  const ranges = compactionRanges(2 * H, 0);
  it('merges a full window, never the newest block', () => {
    expect(spans(planCompaction([meta(0, 2), meta(2, 4), meta(4, 6), meta(6, 8)], ranges))).toEqual(['0-2', '2-4', '4-6']);
    expect(spans(planCompaction([meta(0, 2), meta(2, 4), meta(4, 6)], ranges))).toEqual([]); // 4-6 is the newest
    expect(spans(planCompaction([meta(0, 2), meta(2, 4)], ranges))).toEqual([]);
  });
  it('merges a partial window once newer blocks exist beyond it', () => {
    // 0-2 and 4-6 (gap) in window 0-6; 6-8 is a candidate newer than the window; 8-10 is newest.
    expect(spans(planCompaction([meta(0, 2), meta(4, 6), meta(6, 8), meta(8, 10)], ranges))).toEqual(['0-2', '4-6']);
  });
  it('goes up a level: three 6h blocks become 18h', () => {
    expect(spans(planCompaction([meta(0, 6), meta(6, 12), meta(12, 18), meta(18, 20)], ranges))).toEqual(['0-6', '6-12', '12-18']);
  });
  it('leaves blocks that straddle a window alone', () => {
    expect(spans(planCompaction([meta(4, 8), meta(8, 10), meta(10, 12), meta(12, 14)], ranges))).toEqual([]);
  });
  it('merges overlapping blocks first, whatever their level', () => {
    expect(spans(planCompaction([meta(0, 2), meta(2, 4), meta(4, 6), meta(6, 8), meta(7, 9), meta(8, 10, 'x')], ranges))).toEqual(['6-8', '7-9', '8-10']);
    expect(spans(planCompaction([meta(0, 2), meta(0, 2, 'twin')], ranges))).toEqual(['0-2', '0-2']);
  });
  it('is independent of input order', () => {
    const ms = [meta(0, 2), meta(2, 4), meta(4, 6), meta(6, 8)];
    expect(planCompaction([...ms].reverse(), ranges)).toEqual(planCompaction(ms, ranges));
  });
});

/** A chunk of real XOR samples. */
function chunk(ts: number[], vs: number[]): BlockChunk {
  return { encoding: 1, data: encodeXorChunk(ts, Float64Array.from(vs)), minT: ts[0]!, maxT: ts[ts.length - 1]!, samples: ts.length };
}
async function readAll(dir: string): Promise<Map<string, Array<[number, number]>>> {
  const r = await BlockReader.open(dir);
  const out = new Map<string, Array<[number, number]>>();
  try {
    for await (const s of r.allSeries()) {
      const samples: Array<[number, number]> = [];
      for (const c of s.chunks) {
        const d = decodeXorChunk(c.data);
        d.timestamps.forEach((t, i) => samples.push([t, d.values[i]!]));
      }
      out.set(JSON.stringify(s.labels), samples);
    }
  } finally {
    await r.close();
  }
  return out;
}
const L = (v: string): Labels => [['__name__', 'm'], ['i', v]];

describe('compactBlocks', () => {
  async function twoAdjacent(dir: string): Promise<BlockMeta[]> {
    const a: BlockSeries[] = [
      { labels: L('1'), chunks: [chunk([0, 1000, 2000], [1, 2, 3])] },
      { labels: L('2'), chunks: [chunk([500], [5])] },
    ];
    const b: BlockSeries[] = [
      { labels: L('1'), chunks: [chunk([2 * H, 2 * H + 1000], [4, NaN])] },
      { labels: L('3'), chunks: [chunk([3 * H], [7])] },
    ];
    return [
      await writeBlock(a, { parentDir: dir, ulid: deterministicUlid(0, 'a'), minTime: 0, maxTime: 2 * H, level: 1 }),
      await writeBlock(b, { parentDir: dir, ulid: deterministicUlid(2 * H, 'b'), minTime: 2 * H, maxTime: 4 * H, level: 1 }),
    ];
  }

  it('merges series, records level, sources and parents, copies chunks unchanged', async () => {
    const dir = await newDir();
    const [ma, mb] = await twoAdjacent(dir);
    const readers = [await BlockReader.open(path.join(dir, mb!.ulid)), await BlockReader.open(path.join(dir, ma!.ulid))];
    const out = await compactBlocks(dir, readers);
    await Promise.all(readers.map((r) => r.close()));
    expect(out).toMatchObject({
      minTime: 0,
      maxTime: 4 * H,
      stats: { numSamples: 7, numSeries: 3, numChunks: 4 },
      compaction: { level: 2, sources: [ma!.ulid, mb!.ulid].sort(), parents: [{ ulid: ma!.ulid, minTime: 0, maxTime: 2 * H }, { ulid: mb!.ulid, minTime: 2 * H, maxTime: 4 * H }] },
    });
    const data = await readAll(path.join(dir, out.ulid));
    expect([...data.keys()]).toEqual([L('1'), L('2'), L('3')].map((l) => JSON.stringify(l)));
    expect(data.get(JSON.stringify(L('1')))).toEqual([[0, 1], [1000, 2], [2000, 3], [2 * H, 4], [2 * H + 1000, NaN]]);
    // Non-overlapping chunks are copied byte for byte: the output's first chunk file holds the input's chunk bodies.
    const inChunks = await readFile(path.join(dir, ma!.ulid, 'chunks', '000001'));
    const outChunks = await readFile(path.join(dir, out.ulid, 'chunks', '000001'));
    expect(outChunks.includes(inChunks.subarray(8, 30))).toBe(true);
  });

  it('is deterministic: same parents, same ULID and bytes', async () => {
    const outs: string[] = [];
    const files: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const dir = await newDir();
      const ms = await twoAdjacent(dir);
      const readers = await Promise.all(ms.map((m) => BlockReader.open(path.join(dir, m.ulid))));
      const out = await compactBlocks(dir, i === 0 ? readers : [...readers].reverse());
      await Promise.all(readers.map((r) => r.close()));
      outs.push(out.ulid);
      const blockDir = path.join(dir, out.ulid);
      files.push(await Promise.all(['meta.json', 'index', 'chunks/000001'].map(async (f) => (await readFile(path.join(blockDir, f))).toString('hex'))));
    }
    expect(outs[0]).toBe(outs[1]);
    expect(files[0]).toEqual(files[1]);
  });

  it('merges overlapping blocks sample by sample, one sample per timestamp', async () => {
    const dir = await newDir();
    const a = await writeBlock([{ labels: L('1'), chunks: [chunk([0, 10, 20, 30], [1, 1, 1, 1])] }], { parentDir: dir, ulid: deterministicUlid(0, 'a'), minTime: 0, maxTime: 2 * H, level: 1 });
    const b = await writeBlock(
      [
        { labels: L('1'), chunks: [chunk([5, 10, 25, 30, 40], [2, 1, 2, 1, 2])] },
        { labels: L('2'), chunks: [chunk([7], [9])] },
      ],
      { parentDir: dir, ulid: deterministicUlid(0, 'b'), minTime: 0, maxTime: 2 * H, level: 1 },
    );
    const readers = await Promise.all([a, b].map((m) => BlockReader.open(path.join(dir, m.ulid))));
    const out = await compactBlocks(dir, readers);
    await Promise.all(readers.map((r) => r.close()));
    const data = await readAll(path.join(dir, out.ulid));
    expect(data.get(JSON.stringify(L('1')))).toEqual([[0, 1], [5, 2], [10, 1], [20, 1], [25, 2], [30, 1], [40, 2]]);
    expect(data.get(JSON.stringify(L('2')))).toEqual([[7, 9]]);
    expect(out.stats.numSamples).toBe(8);
    expect(out.compaction.level).toBe(2);
  });

  it('re-encodes a long overlapping series into chunks of at most 120 samples', async () => {
    const dir = await newDir();
    const ts = Array.from({ length: 300 }, (_, i) => i * 1000);
    const a = await writeBlock([{ labels: L('1'), chunks: [chunk(ts.slice(0, 200), ts.slice(0, 200))] }], { parentDir: dir, ulid: deterministicUlid(0, 'a'), minTime: 0, maxTime: 2 * H, level: 1 });
    const b = await writeBlock([{ labels: L('1'), chunks: [chunk(ts.slice(100), ts.slice(100))] }], { parentDir: dir, ulid: deterministicUlid(0, 'b'), minTime: 0, maxTime: 2 * H, level: 1 });
    const readers = await Promise.all([a, b].map((m) => BlockReader.open(path.join(dir, m.ulid))));
    const out = await compactBlocks(dir, readers);
    await Promise.all(readers.map((r) => r.close()));
    expect(out.stats).toEqual({ numSamples: 300, numSeries: 1, numChunks: 3 });
    expect(data2(await readAll(path.join(dir, out.ulid)))).toEqual(ts.map((t) => [t, t]));
    expect((await readdir(dir)).filter((n) => n.includes('tmp'))).toEqual([]);
  });
});
const data2 = (m: Map<string, Array<[number, number]>>): Array<[number, number]> => [...m.values()][0]!;

describe('retention', () => {
  it('selects whole blocks whose maxTime is at or before now − retention', () => {
    const ms = [meta(0, 2), meta(2, 4), meta(4, 6)];
    expect(spans(blocksBeyondRetention(ms, 5 * H, 1 * H))).toEqual(['0-2', '2-4']);
    expect(spans(blocksBeyondRetention(ms, 5 * H - 1, 1 * H))).toEqual(['0-2']);
    expect(spans(blocksBeyondRetention(ms, 100 * H, 0))).toEqual([]); // 0 keeps forever
  });
});

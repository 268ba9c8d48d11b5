// The block format byte by byte (docs/tsdb-format.md), round trips of random blocks, and what a
// reader does with corrupt files.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/profiles/block/crc32c.js';
import { BlockReader, CorruptBlockError } from '../../../src/tsdb/blocks/block-reader.js';
import { writeBlock, type BlockChunk, type BlockSeries } from '../../../src/tsdb/blocks/block-writer.js';
import { compareLabels } from '../../../src/tsdb/blocks/labels.js';
import { compileMatcher, matchesAll } from '../../../src/tsdb/blocks/matchers.js';
import { deterministicUlid, parseMeta } from '../../../src/tsdb/blocks/meta.js';
import type { LabelMatcher, Labels } from '../../../src/tsdb/storage.js';
import { constantXorChunk, prng, tempDirsRemovedAfterAll } from './helpers.js';

const newDir = tempDirsRemovedAfterAll();

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const be32 = (v: number): string => v.toString(16).padStart(8, '0');
const be64 = (v: number): string => v.toString(16).padStart(16, '0');
const str = (s: string): string => Buffer.from(s).toString('hex');
const crc = (h: string): string => be32(crc32c(Buffer.from(h, 'hex')));
/** len(4) | body | CRC32C(body). */
const section = (body: string): string => be32(body.length / 2) + body + crc(body);

const ULID_A = '01HZZZZZZZZZZZZZZZZZZZZZZA';

describe('tiny block, checked by hand', () => {
  it('writes the documented bytes', async () => {
    const dir = await newDir();
    // {__name__="up", job="a"}: one sample, t=1000, v=1.
    const chunk = constantXorChunk(1000, 0, 1, 1);
    expect(hex(chunk.data)).toBe('0001' + 'd00f' + '3ff0000000000000');
    const meta = await writeBlock([{ labels: [['__name__', 'up'], ['job', 'a']], chunks: [chunk] }], { parentDir: dir, ulid: ULID_A, minTime: 0, maxTime: 7_200_000, level: 1 });
    expect(meta.stats).toEqual({ numSamples: 1, numSeries: 1, numChunks: 1 });

    const blockDir = path.join(dir, ULID_A);
    expect((await readdir(dir)).sort()).toEqual([ULID_A]);
    expect((await readdir(blockDir)).sort()).toEqual(['chunks', 'index', 'meta.json']);

    // chunks/000001: header, then uvarint(12) | encoding 1 | data | CRC32C(encoding + data).
    const chunkBody = '01' + hex(chunk.data);
    expect(hex(await readFile(path.join(blockDir, 'chunks', '000001')))).toBe('85bd40dd' + '01' + '000000' + '0c' + chunkBody + crc(chunkBody));

    // index, section by section (offsets in the comments).
    const symbols = section('00000004' + '08' + str('__name__') + '01' + str('a') + '03' + str('job') + '02' + str('up')); // 5..35
    const seriesBody = '02' + '0003' + '0201' + '01' + 'd00f' + '00' + '08'; // 2 labels (symbol ids), 1 chunk: minT 1000, maxT−minT 0, ref 8
    const series = '0a' + seriesBody + crc(seriesBody); // 48..63, id 3
    const labelIndexName = section('00000001' + '00000001' + '00000003'); // 64..84
    const labelIndexJob = section('00000001' + '00000001' + '00000001'); // 84..104
    const labelOffsets = section('00000002' + '01' + '08' + str('__name__') + '40' + '01' + '03' + str('job') + '54'); // 104..133
    const postingsAll = section('00000001' + '00000003'); // 136..152
    const postingsUp = section('00000001' + '00000003'); // 152..168
    const postingsJobA = section('00000001' + '00000003'); // 168..184
    const postingsOffsets = section('00000003' + '02' + '00' + '00' + '8801' + '02' + '08' + str('__name__') + '02' + str('up') + '9801' + '02' + '03' + str('job') + '01' + str('a') + 'a801'); // 184..225
    const tocBody = [5, 48, 64, 104, 136, 184].map(be64).join('');
    const expected =
      'baaad700' + '02' + symbols + '00'.repeat(13) + series + '00' + labelIndexName + labelIndexJob + labelOffsets + '000000' + postingsAll + postingsUp + postingsJobA + postingsOffsets + tocBody + crc(tocBody);
    const index = await readFile(path.join(blockDir, 'index'));
    expect(hex(index)).toBe(expected);
    expect(index.length).toBe(277);

    expect(await readFile(path.join(blockDir, 'meta.json'), 'utf8')).toBe(
      `{\n\t"ulid": "${ULID_A}",\n\t"minTime": 0,\n\t"maxTime": 7200000,\n\t"stats": {\n\t\t"numSamples": 1,\n\t\t"numSeries": 1,\n\t\t"numChunks": 1\n\t},\n\t"compaction": {\n\t\t"level": 1,\n\t\t"sources": [\n\t\t\t"${ULID_A}"\n\t\t]\n\t},\n\t"version": 1\n}\n`,
    );

    const r = await BlockReader.open(blockDir);
    try {
      expect(r.series([], 0, 10_000)).toEqual([{ labels: [['__name__', 'up'], ['job', 'a']], chunks: [{ minT: 1000, maxT: 1000, ref: 8 }] }]);
      expect(await r.chunk(8)).toEqual({ encoding: 1, data: chunk.data });
      expect(r.labelNames()).toEqual(['__name__', 'job']);
      expect(r.labelValues('job')).toEqual(['a']);
    } finally {
      await r.close();
    }
  });

  it('refuses series out of order and chunks outside the block range', async () => {
    const dir = await newDir();
    const c = constantXorChunk(1000, 10, 3, 1);
    const series = (v: string): BlockSeries => ({ labels: [['a', v]], chunks: [c] });
    await expect(writeBlock([series('2'), series('1')], { parentDir: dir, ulid: ULID_A, minTime: 0, maxTime: 2000, level: 1 })).rejects.toThrow(/out of order/);
    await expect(writeBlock([series('1')], { parentDir: dir, ulid: ULID_A, minTime: 1010, maxTime: 2000, level: 1 })).rejects.toThrow(/outside block range/);
    expect(await readdir(dir)).toEqual([]); // failed writes leave no temp directory
  });
});

describe('deterministic ULIDs', () => {
  it('are valid, carry the time and depend only on the seed', () => {
    const a = deterministicUlid(7_200_000, 'x');
    expect(a).toHaveLength(26);
    expect(a).toBe(deterministicUlid(7_200_000, 'x'));
    expect(a).not.toBe(deterministicUlid(7_200_000, 'y'));
    expect(() => parseMeta(JSON.stringify({ ulid: a, minTime: 0, maxTime: 1, stats: {}, compaction: { level: 1, sources: [a] }, version: 1 }), 'm')).not.toThrow();
  });
});

/** A random block: series with random labels and random opaque chunk bytes. */
function randomSeries(seed: number, nSeries: number): BlockSeries[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const names = ['__name__', 'job', 'instance', 'le', 'ünïcode', 'path'];
  const values = ['a', 'b', 'api', 'http_requests_total', 'x'.repeat(300), '日本', '😀', '\uffff', ''];
  const byKey = new Map<string, BlockSeries>();
  while (byKey.size < nSeries) {
    const labels = names.filter(() => rnd() < 0.6).map((n) => [n, pick(values.filter((v) => v !== ''))] as [string, string]);
    if (labels.length === 0) continue;
    const chunks: BlockChunk[] = [];
    let t = Math.floor(rnd() * 1000);
    for (let i = 0, n = 1 + Math.floor(rnd() * 4); i < n; i++) {
      const len = Math.floor(rnd() * 300);
      const data = Uint8Array.from({ length: len }, () => Math.floor(rnd() * 256));
      const span = Math.floor(rnd() * 1000);
      chunks.push({ encoding: 1 + Math.floor(rnd() * 3), data, minT: t, maxT: t + span, samples: 1 + Math.floor(rnd() * 120) });
      t += span + 1 + Math.floor(rnd() * 100);
    }
    byKey.set(JSON.stringify(labels), { labels, chunks });
  }
  return [...byKey.values()].sort((a, b) => compareLabels(a.labels, b.labels));
}

describe('random round trips', () => {
  it.each([1, 2, 3])('reads back what was written (seed %i)', async (seed) => {
    const dir = await newDir();
    const input = randomSeries(seed, 300);
    const ulid = deterministicUlid(0, `seed-${seed}`);
    // 16 KiB segments: hundreds of chunks spread over several chunk files.
    const meta = await writeBlock(input, { parentDir: dir, ulid, minTime: 0, maxTime: 1_000_000, level: 1, maxSegmentSize: 16 * 1024 });
    expect(meta.stats.numSeries).toBe(300);
    expect((await readdir(path.join(dir, ulid, 'chunks'))).length).toBeGreaterThan(3);
    const r = await BlockReader.open(path.join(dir, ulid));
    try {
      const read: BlockSeries[] = [];
      for await (const s of r.allSeries()) read.push(s);
      expect(read.map((s) => ({ labels: s.labels, chunks: s.chunks.map((c) => [c.minT, c.maxT, c.encoding, hex(c.data)]) }))).toEqual(
        input.map((s) => ({ labels: s.labels, chunks: s.chunks.map((c) => [c.minT, c.maxT, c.encoding, hex(c.data)]) })),
      );
      // Selection by matchers agrees with a brute-force filter.
      const rnd = prng(seed * 7);
      const queries: LabelMatcher[][] = [
        [],
        [{ name: 'job', type: '=', value: 'a' }],
        [{ name: 'job', type: '!=', value: 'a' }],
        [{ name: 'ünïcode', type: '=~', value: '日.*|😀' }],
        [{ name: 'instance', type: '!~', value: 'a|b' }, { name: '__name__', type: '=~', value: '.+' }],
        [{ name: 'le', type: '=', value: '' }],
        [{ name: 'nope', type: '=', value: 'x' }],
      ];
      for (const q of queries) {
        const minT = Math.floor(rnd() * 2000);
        const maxT = minT + Math.floor(rnd() * 3000);
        const compiled = q.map(compileMatcher);
        const want = input
          .filter((s) => matchesAll(s.labels, compiled))
          .map((s) => ({ labels: s.labels as Labels, n: s.chunks.filter((c) => c.maxT >= minT && c.minT <= maxT).length }))
          .filter((s) => s.n > 0);
        expect(r.series(compiled, minT, maxT).map((s) => ({ labels: s.labels, n: s.chunks.length })), JSON.stringify(q)).toEqual(want);
      }
    } finally {
      await r.close();
    }
  });

  it('writes the same bytes for the same input', async () => {
    const [d1, d2] = [await newDir(), await newDir()];
    const input = randomSeries(9, 50);
    for (const d of [d1, d2]) await writeBlock(input, { parentDir: d, ulid: ULID_A, minTime: 0, maxTime: 1_000_000, level: 1 });
    for (const f of ['index', 'meta.json', 'chunks/000001']) {
      expect(hex(await readFile(path.join(d1, ULID_A, f)))).toBe(hex(await readFile(path.join(d2, ULID_A, f))));
    }
  });

  it('handles an empty block', async () => {
    const dir = await newDir();
    await writeBlock([], { parentDir: dir, ulid: ULID_A, minTime: 0, maxTime: 10, level: 1 });
    const r = await BlockReader.open(path.join(dir, ULID_A));
    expect(r.series([], 0, 10)).toEqual([]);
    expect(r.labelNames()).toEqual([]);
    await r.close();
  });
});

describe('corrupt blocks', () => {
  async function block(): Promise<string> {
    const dir = await newDir();
    await writeBlock(randomSeries(4, 20), { parentDir: dir, ulid: ULID_A, minTime: 0, maxTime: 1_000_000, level: 1 });
    return path.join(dir, ULID_A);
  }
  async function flip(file: string, at: (size: number) => number): Promise<void> {
    const b = await readFile(file);
    b[at(b.length)] ^= 0x20;
    await writeFile(file, b);
  }
  const openError = async (dir: string): Promise<CorruptBlockError> => {
    const err = await BlockReader.open(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CorruptBlockError);
    return err as CorruptBlockError;
  };

  it.each([
    ['magic', () => 1],
    ['symbols', () => 12],
    ['a series entry', (n: number) => Math.floor(n / 3)],
    ['the postings offset table', (n: number) => n - 60],
    ['the TOC', (n: number) => n - 10],
  ])('index: a flipped byte in %s is found at open, naming the file', async (_, at) => {
    const dir = await block();
    await flip(path.join(dir, 'index'), at);
    const err = await openError(dir);
    expect(err.file).toBe(path.join(dir, 'index'));
    expect(err.message).toContain(path.join(dir, 'index'));
  });

  it('index: a truncated file', async () => {
    const dir = await block();
    const b = await readFile(path.join(dir, 'index'));
    await writeFile(path.join(dir, 'index'), b.subarray(0, b.length - 100));
    expect((await openError(dir)).file).toBe(path.join(dir, 'index'));
  });

  it('meta.json: broken JSON, wrong ulid, missing', async () => {
    const dir = await block();
    const metaFile = path.join(dir, 'meta.json');
    const good = await readFile(metaFile, 'utf8');
    await writeFile(metaFile, good.slice(0, 20));
    expect((await openError(dir)).file).toBe(metaFile);
    await writeFile(metaFile, good.replace(ULID_A, deterministicUlid(0, 'other')));
    expect((await openError(dir)).message).toMatch(/does not match the directory/);
    await rm(metaFile);
    expect((await openError(dir)).file).toBe(metaFile);
  });

  it('chunks: a bad header at open, a flipped data byte when the chunk is read', async () => {
    const dir = await block();
    const seg = path.join(dir, 'chunks', '000001');
    await flip(seg, () => 20);
    const r = await BlockReader.open(dir);
    try {
      const err = await (async () => {
        for await (const _ of r.allSeries()) void _;
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CorruptBlockError);
      expect((err as CorruptBlockError).file).toBe(seg);
      expect((err as Error).message).toMatch(/checksum mismatch/);
    } finally {
      await r.close();
    }
    await flip(seg, () => 0);
    expect((await openError(dir)).file).toBe(seg);
  });
});

// Prometheus's own tool reads our blocks: the strongest check that the layout is right.
const PROMTOOL = '/usr/bin/promtool';
describe.skipIf(!existsSync(PROMTOOL))('promtool (Debian prometheus 2.42)', () => {
  it('dumps the samples of a block we wrote', async () => {
    const dir = await newDir();
    // [labels, chunks as (first t, step, count, value)]
    const spec: Array<[Labels, Array<[number, number, number, number]>]> = [
      [[['__name__', 'up'], ['job', 'a']], [[1000, 15_000, 5, 1], [100_000, 15_000, 3, 0]]],
      [[['__name__', 'up'], ['job', 'b']], [[2000, 1000, 130, 42.5]]],
      [[['__name__', 'zeta'], ['le', '+Inf']], [[3000, 0, 1, -7]]],
    ];
    const series: BlockSeries[] = spec.map(([labels, cs]) => ({ labels, chunks: cs.map(([t, step, n, v]) => constantXorChunk(t, step, n, v)) }));
    const ulid = deterministicUlid(0, 'promtool');
    await writeBlock(series, { parentDir: dir, ulid, minTime: 0, maxTime: 7_200_000, level: 1 });
    await mkdir(path.join(dir, 'wal')); // promtool opens the directory as a DB and wants a WAL
    const run = promisify(execFile);
    const { stdout: list } = await run(PROMTOOL, ['tsdb', 'list', dir]);
    expect(list).toContain(ulid);
    const { stdout } = await run(PROMTOOL, ['tsdb', 'dump', '--min-time=0', '--max-time=7200000', dir], { maxBuffer: 1 << 24 });
    const want: string[] = [];
    for (const [labels, cs] of spec) {
      const ls = `{${labels.map(([n, v]) => `${n}="${v}"`).join(', ')}}`;
      for (const [t, step, n, v] of cs) for (let i = 0; i < n; i++) want.push(`${ls} ${v} ${t + step * i}`);
    }
    expect(stdout.trim().split('\n')).toEqual(want);
  });
});

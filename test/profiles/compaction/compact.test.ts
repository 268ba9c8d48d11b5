import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeTime } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BlockMeta } from '../../../src/gen/metastore/v1/types_pb.js';
import { FilesystemBucket } from '../../../src/objstore/filesystem.js';
import { compareLabels } from '../../../src/profiles/block/labels.js';
import { emptySymbols, type DatasetContent, type ProfileRow } from '../../../src/profiles/block/model.js';
import { blockPath, segmentPath } from '../../../src/profiles/block/paths.js';
import { ROW_GROUP_SIZE } from '../../../src/profiles/block/profiles.js';
import { BlockFormatError, BlockReader } from '../../../src/profiles/block/reader.js';
import { encodeBlock } from '../../../src/profiles/block/writer.js';
import { compactBlocks, SourceBlockMissingError } from '../../../src/profiles/compaction/compact.js';
import { expectedSeries } from '../../helpers/reference-profile.js';
import { MemoryBucket } from '../block/memory-bucket.js';
import { expectedMerge, rawProfile, readRows, rowKey, ulidAt, writeSegment, type Push } from './helpers.js';

const SHARD = 7;
const T0 = 1_763_700_000_000; // ms
const ns = (ms: number, extra = 0) => BigInt(ms) * 1_000_000n + BigInt(extra);

/**
 * Four segments of one shard: two tenants, several services, series that
 * recur across segments, and duplicates (segment 3 repeats two pushes of
 * segment 1, as a retried upload would; segment 2 holds one push twice).
 */
function scenario(): { id: string; pushes: Push[] }[] {
  const api = (env: string): Push['labels'] => [['service_name', 'api'], ['env', env]];
  const seg1: Push[] = [
    { tenant: 'acme', labels: api('prod'), file: 'go-cpu.pb.gz', timeNanos: ns(T0, 1), profileId: 1 },
    { tenant: 'acme', labels: api('prod'), file: 'go-heap.pb.gz', timeNanos: ns(T0, 2), profileId: 2 },
    { tenant: 'acme', labels: [['service_name', 'web']], file: 'node-wall-cpu.pb.gz', timeNanos: ns(T0, 3), profileId: 3 },
    { tenant: 'beta', labels: api('prod'), file: 'go-cpu.pb.gz', timeNanos: ns(T0, 4), profileId: 4 },
  ];
  const seg2: Push[] = [
    { tenant: 'acme', labels: api('prod'), file: 'go-cpu.pb.gz', timeNanos: ns(T0 + 500, 1), profileId: 5 },
    { tenant: 'acme', labels: api('dev'), file: 'go-cpu.pb.gz', timeNanos: ns(T0 + 500, 2), profileId: 6 },
    { tenant: 'acme', labels: [['service_name', 'web']], file: 'node-heap.pb.gz', timeNanos: ns(T0 + 500, 3), profileId: 7 },
    { tenant: 'acme', labels: [['service_name', 'web']], file: 'node-heap.pb.gz', timeNanos: ns(T0 + 500, 3), profileId: 8 },
    { tenant: 'beta', labels: [['service_name', 'db']], file: 'go-mutex.pb.gz', timeNanos: ns(T0 + 500, 4), profileId: 9 },
    { tenant: 'beta', labels: [['service_name', 'db']], file: 'go-block.pb.gz', timeNanos: ns(T0 + 400, 5), profileId: 10 },
  ];
  const seg3: Push[] = [
    seg1[0]!,
    seg1[3]!,
    { tenant: 'acme', labels: api('prod'), file: 'go-goroutine.pb.gz', timeNanos: ns(T0 + 1000, 1), profileId: 11 },
    // Older than rows of segment 2 in the same series: the merge interleaves.
    { tenant: 'acme', labels: api('prod'), file: 'go-cpu.pb.gz', timeNanos: ns(T0 + 200, 1), profileId: 12 },
  ];
  const seg4: Push[] = [
    { tenant: 'gamma', labels: [['service_name', 'solo']], file: 'go-heap.pb.gz', timeNanos: ns(T0 + 1500, 1), profileId: 13 },
    { tenant: 'acme', labels: api('prod'), file: 'go-heap.pb.gz', timeNanos: ns(T0 + 1500, 2), profileId: 14 },
  ];
  return [
    { id: ulidAt(T0, 'A1'), pushes: seg1 },
    { id: ulidAt(T0 + 500, 'B2'), pushes: seg2 },
    { id: ulidAt(T0 + 1000, 'C3'), pushes: seg3 },
    { id: ulidAt(T0 + 1500, 'D4'), pushes: seg4 },
  ];
}

async function writeScenario(bucket: MemoryBucket | FilesystemBucket): Promise<BlockMeta[]> {
  const metas: BlockMeta[] = [];
  for (const [i, s] of scenario().entries()) metas.push(await writeSegment(bucket, SHARD, s.id, s.pushes, `writer-${i}`));
  return metas;
}

const objectKeys = (b: MemoryBucket, prefix: string) => [...b.objects.keys()].filter((k) => k.startsWith(prefix)).sort();

describe('compactBlocks', () => {
  let bucket: MemoryBucket;
  let sources: BlockMeta[];
  beforeAll(async () => {
    bucket = new MemoryBucket();
    sources = await writeScenario(bucket);
  });

  it('merges every source row exactly once (duplicates dropped), per tenant, with the right stacks', async () => {
    const truth = await expectedMerge(bucket, sources);
    expect(truth.duplicates).toBeGreaterThanOrEqual(3);
    const { newBlocks, stats } = await compactBlocks({ bucket, sources, shard: SHARD });

    expect(newBlocks.map((m) => m.stringTable[m.tenant])).toEqual(['acme', 'beta', 'gamma']);
    const got = new Map<string, Awaited<ReturnType<typeof readRows>>[number]>();
    for (const m of newBlocks) {
      const tenant = m.stringTable[m.tenant]!;
      const key = blockPath(SHARD, tenant, m.id);
      expect(bucket.objects.get(key)?.length).toBe(Number(m.size));
      expect(m.compactionLevel).toBe(1);
      expect(m.shard).toBe(SHARD);
      // created_by of the first source, never the worker.
      expect(m.stringTable[m.createdBy]).toBe('writer-0');
      const reader = await BlockReader.open(bucket, key);
      expect(reader.meta).toEqual(m);
      for (const r of await readRows(bucket, key)) {
        expect(r.tenant).toBe(tenant);
        const k = rowKey(r);
        expect(got.has(k), `row ${k} written twice`).toBe(false);
        got.set(k, r);
      }
    }
    expect([...got.keys()].sort()).toEqual([...truth.rows.keys()].sort());
    for (const [k, want] of truth.rows) expect(got.get(k), k).toEqual(want);
    expect(stats).toMatchObject({ sourceRows: truth.sourceRows, outputRows: truth.rows.size, duplicateRows: truth.duplicates, rowsHeld: 0 });
  });

  it('agrees with an independent pprof decode of the distinct pushes (totals and stacks per tenant and type)', async () => {
    const { newBlocks } = await compactBlocks({ bucket, sources, shard: SHARD });
    const want = new Map<string, { total: number; stacks: Map<string, number> }>();
    const seen = new Set<string>();
    for (const s of scenario()) {
      for (const p of s.pushes) {
        // A repeated push (same tenant, labels, time) is stored once.
        const dupKey = `${p.tenant}|${JSON.stringify(p.labels)}|${p.timeNanos}|${p.file}`;
        if (seen.has(dupKey)) continue;
        seen.add(dupKey);
        for (const e of expectedSeries(rawProfile(p.file))) {
          const k = `${p.tenant}|${e.type}:${e.unit}`;
          const acc = want.get(k) ?? { total: 0, stacks: new Map() };
          acc.total += e.total;
          for (const [stack, v] of e.stacks) acc.stacks.set(stack, (acc.stacks.get(stack) ?? 0) + v);
          want.set(k, acc);
        }
      }
    }
    const got = new Map<string, { total: number; stacks: Map<string, number> }>();
    for (const m of newBlocks) {
      for (const r of await readRows(bucket, blockPath(SHARD, m.stringTable[m.tenant]!, m.id))) {
        const type = r.labels.find(([n]) => n === '__profile_type__')![1].split(':');
        const k = `${r.tenant}|${type[1]}:${type[2]}`;
        const acc = got.get(k) ?? { total: 0, stacks: new Map() };
        acc.total += r.totalValue;
        for (const [names, v] of r.functionStacks) acc.stacks.set(names.join(';'), (acc.stacks.get(names.join(';')) ?? 0) + v);
        got.set(k, acc);
      }
    }
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, w] of want) {
      expect(got.get(k)!.total, k).toBe(w.total);
      expect(got.get(k)!.stacks, k).toEqual(w.stacks);
    }
  });

  it('writes rows sorted by (series labels, time) with no repeated (series, time)', async () => {
    const { newBlocks } = await compactBlocks({ bucket, sources, shard: SHARD });
    for (const m of newBlocks) {
      const reader = await BlockReader.open(bucket, blockPath(SHARD, m.stringTable[m.tenant]!, m.id));
      const names = reader.datasets().map((d) => d.name);
      expect(names).toEqual(names.slice().sort());
      for (const ds of reader.datasets()) {
        const series = await reader.readSeries(ds);
        for (let i = 1; i < series.length; i++) expect(compareLabels(series[i - 1]!, series[i]!)).toBeLessThan(0);
        let prev: ProfileRow | undefined;
        for await (const row of reader.rows(ds)) {
          if (prev !== undefined) {
            expect(row.seriesIndex > prev.seriesIndex || (row.seriesIndex === prev.seriesIndex && row.timeNanos > prev.timeNanos)).toBe(true);
          }
          prev = row;
        }
      }
    }
  });

  it('is deterministic: same keys and bytes for the same sources in any order, on any bucket', async () => {
    const a = await compactBlocks({ bucket, sources, shard: SHARD });
    const bytesA = a.newBlocks.map((m) => bucket.objects.get(blockPath(SHARD, m.stringTable[m.tenant]!, m.id))!);
    const other = new MemoryBucket();
    for (const [k, v] of bucket.objects) if (k.startsWith('segments/')) await other.put(k, v);
    const b = await compactBlocks({ bucket: other, sources: sources.slice().reverse(), shard: SHARD });
    expect(b.newBlocks).toEqual(a.newBlocks);
    const bytesB = b.newBlocks.map((m) => other.objects.get(blockPath(SHARD, m.stringTable[m.tenant]!, m.id))!);
    const hash = (x: Uint8Array) => createHash('sha256').update(x).digest('hex');
    expect(bytesB.map(hash)).toEqual(bytesA.map(hash));
    // Time part of the first source; the tenants get different ids.
    for (const m of a.newBlocks) expect(decodeTime(m.id)).toBe(T0);
    expect(new Set(a.newBlocks.map((m) => m.id)).size).toBe(3);
    // Another level or another source set gives other ids.
    const c = await compactBlocks({ bucket: other, sources: sources.slice(1), shard: SHARD });
    expect(c.newBlocks.map((m) => m.id)).not.toEqual(a.newBlocks.map((m) => m.id));
  });

  it('refuses sources from different shards', async () => {
    const fresh = new MemoryBucket();
    const a = await writeSegment(fresh, 1, ulidAt(T0, 'X1'), scenario()[0]!.pushes);
    const b = await writeSegment(fresh, 2, ulidAt(T0, 'X2'), scenario()[1]!.pushes);
    await expect(compactBlocks({ bucket: fresh, sources: [a, b], shard: 1 })).rejects.toThrow(/only blocks from the same shard can be merged/);
    await expect(compactBlocks({ bucket: fresh, sources: [a], shard: 2 })).rejects.toThrow(/same shard/);
    expect(objectKeys(fresh, 'blocks/')).toEqual([]);
  });

  it('reports missing sources with SourceBlockMissingError and writes nothing', async () => {
    const fresh = new MemoryBucket();
    const metas = await writeScenario(fresh);
    await fresh.delete(segmentPath(SHARD, metas[1]!.id));
    await fresh.delete(segmentPath(SHARD, metas[3]!.id));
    const err = await compactBlocks({ bucket: fresh, sources: metas, shard: SHARD }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceBlockMissingError);
    expect((err as SourceBlockMissingError).blockIds).toEqual([metas[1]!.id, metas[3]!.id]);
    expect(objectKeys(fresh, 'blocks/')).toEqual([]);
  });

  it('surfaces a corrupted source as BlockFormatError and writes nothing', async () => {
    const fresh = new MemoryBucket();
    const metas = await writeScenario(fresh);
    const key = segmentPath(SHARD, metas[2]!.id);
    const obj = fresh.objects.get(key)!;
    // A byte inside the first dataset's profiles row group (CRC-checked on read).
    obj[40] = obj[40]! ^ 0xff;
    const err = await compactBlocks({ bucket: fresh, sources: metas, shard: SHARD }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlockFormatError);
    expect((err as Error).message).toContain(key);
    expect(objectKeys(fresh, 'blocks/')).toEqual([]);
  });

  it('stops on abort mid-merge and writes nothing', async () => {
    const fresh = new MemoryBucket();
    const metas = await writeScenario(fresh);
    const controller = new AbortController();
    let rows = 0;
    const observer = {
      beginTenant: () => true,
      beginDataset: () => true,
      beginSeries: () => true,
      row: () => {
        if (++rows === 5) controller.abort(new Error('lease lost'));
      },
      finish: () => undefined,
    };
    await expect(compactBlocks({ bucket: fresh, sources: metas, shard: SHARD, observer, signal: controller.signal })).rejects.toThrow('lease lost');
    expect(rows).toBeLessThan(60);
    expect(objectKeys(fresh, 'blocks/')).toEqual([]);
    // An already aborted signal does no work at all.
    await expect(compactBlocks({ bucket: fresh, sources: metas, shard: SHARD, signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
  });

  it('rejects an observer on sources above level 0 and bad output levels', async () => {
    const observer = { beginTenant: () => true, beginDataset: () => true, beginSeries: () => true, row: () => undefined, finish: () => undefined };
    const l1 = sources.map((m) => ({ ...m, compactionLevel: 1 }));
    await expect(compactBlocks({ bucket, sources: l1, shard: SHARD, observer })).rejects.toThrow(/only for level-0/);
    await expect(compactBlocks({ bucket, sources, shard: SHARD, outputLevel: 0 })).rejects.toThrow(/output level/);
  });

  it('compacts on a filesystem bucket through putFile, and compacts its output again (L1 → L2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-compact-fs-'));
    try {
      const fs = new FilesystemBucket(dir);
      const metas = await writeScenario(fs);
      const l1 = await compactBlocks({ bucket: fs, sources: metas, shard: SHARD });
      const acme = l1.newBlocks.filter((m) => m.stringTable[m.tenant] === 'acme');
      const before = await readRows(fs, blockPath(SHARD, 'acme', acme[0]!.id));
      const l2 = await compactBlocks({ bucket: fs, sources: acme, shard: SHARD });
      expect(l2.newBlocks).toHaveLength(1);
      expect(l2.newBlocks[0]!.compactionLevel).toBe(2);
      const after = await readRows(fs, blockPath(SHARD, 'acme', l2.newBlocks[0]!.id));
      expect(after).toEqual(before);
      expect(l2.stats.duplicateRows).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('compactBlocks memory bound', () => {
  /** A dataset of `rows` rows over 20 series, with times offset per source so sources interleave. */
  function synthetic(rows: number, offset: number): DatasetContent {
    const symbols = emptySymbols();
    symbols.strings.push('f', 'g');
    symbols.functionName.push(1, 2);
    symbols.functionSystemName.push(0, 0);
    symbols.functionFilename.push(0, 0);
    symbols.functionStartLine.push(0, 0);
    symbols.locationMapping.push(0, 0);
    symbols.locationAddress.push(1, 2);
    symbols.locationLineEnd.push(1, 2);
    symbols.lineFunction.push(0, 1);
    symbols.lineNumber.push(1, 2);
    symbols.stacktraceLocations.push(0, 1, 0);
    symbols.stacktraceEnd.push(1, 3);
    const series = Array.from({ length: 20 }, (_, s) => [['__profile_type__', 'cpu:cpu:ns:cpu:ns'], ['pod', `p${String(s).padStart(2, '0')}`], ['service_name', 'big']] as [string, string][]);
    const out: ProfileRow[] = [];
    for (let i = 0; i < rows; i++) {
      out.push({
        seriesIndex: i % 20,
        profileId: new Uint8Array(16).fill(offset + 1),
        timeNanos: 1_763_700_000_000_000_000n + BigInt(Math.floor(i / 20) * 3 + offset),
        durationNanos: 1n,
        period: 1n,
        totalValue: 3,
        stacktraceIds: Uint32Array.of(0, 1),
        values: Float64Array.of(1, 2),
      });
    }
    return { tenant: 't', name: 'big', series, rows: out, symbols };
  }

  it('holds at most one row group per source while merging many row groups', async () => {
    const bucket = new MemoryBucket();
    const metas: BlockMeta[] = [];
    const perSource = 2 * ROW_GROUP_SIZE + 5000;
    for (let k = 0; k < 3; k++) {
      const id = ulidAt(T0 + k, `M${k}`);
      const { bytes, meta } = await encodeBlock({ id, shard: 1, compactionLevel: 0, createdBy: 'w' }, [synthetic(perSource, k)]);
      await bucket.put(segmentPath(1, id), bytes);
      metas.push(meta);
    }
    // smallObjectBytes 0: ranged reads, one row group at a time (no whole-object preload).
    const { newBlocks, stats } = await compactBlocks({ bucket, sources: metas, shard: 1, smallObjectBytes: 0 });
    expect(stats.outputRows).toBe(3 * perSource);
    expect(stats.maxRowsHeld).toBeGreaterThan(0);
    expect(stats.maxRowsHeld).toBeLessThanOrEqual(3 * ROW_GROUP_SIZE);
    const reader = await BlockReader.open(bucket, blockPath(1, 't', newBlocks[0]!.id));
    const groups: number[] = [];
    let rows = 0;
    for await (const g of reader.rowGroups(0)) {
      groups.push(g.length);
      rows += g.length;
    }
    expect(rows).toBe(3 * perSource);
    expect(groups.slice(0, -1).every((n) => n === ROW_GROUP_SIZE)).toBe(true);
    expect(groups.length).toBe(Math.ceil((3 * perSource) / ROW_GROUP_SIZE));
  });
});


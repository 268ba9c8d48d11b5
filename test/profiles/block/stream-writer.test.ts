import { describe, expect, it } from 'vitest';
import { compareLabels, compareStrings, sortedLabels } from '../../../src/profiles/block/labels.js';
import type { DatasetContent } from '../../../src/profiles/block/model.js';
import { allocRowGroup, canonicalSamples } from '../../../src/profiles/block/profiles.js';
import { BlockReader } from '../../../src/profiles/block/reader.js';
import { BlobWriter } from '../../../src/profiles/block/samples.js';
import { StreamingBlockWriter } from '../../../src/profiles/block/stream-writer.js';
import { encodeBlock, type BlockHeader } from '../../../src/profiles/block/writer.js';
import { fixtureDatasets } from './fixture.js';
import { MemoryBucket } from './memory-bucket.js';

const HEADER: BlockHeader = { id: '01JDQ4Z5X8K9M2N3P4Q5R6S7T8', shard: 3, compactionLevel: 0, createdBy: 'writer-1' };

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Streams datasets through StreamingBlockWriter, `groupSize` rows per row group. */
async function stream(header: BlockHeader, datasets: DatasetContent[], groupSize: number): Promise<{ bytes: Uint8Array; meta: Awaited<ReturnType<StreamingBlockWriter['finish']>> }> {
  const chunks: Uint8Array[] = [];
  const w = new StreamingBlockWriter(header, async (b) => void chunks.push(b.slice()));
  const blobs = new BlobWriter();
  const sorted = datasets.slice().sort((a, b) => compareStrings(a.tenant, b.tenant) || compareStrings(a.name, b.name));
  for (const ds of sorted) {
    const series = ds.series.map((s) => sortedLabels(s));
    const perm = [...series.keys()].sort((a, b) => compareLabels(series[a]!, series[b]!));
    const newIndex = new Map(perm.map((old, i) => [old, i]));
    const rows = ds.rows
      .map((r) => ({ ...r, seriesIndex: newIndex.get(r.seriesIndex)! }))
      .sort((x, y) => x.seriesIndex - y.seriesIndex || (x.timeNanos < y.timeNanos ? -1 : x.timeNanos > y.timeNanos ? 1 : cmpBytes(x.profileId, y.profileId)));
    w.beginDataset(ds.tenant, ds.name, perm.map((i) => series[i]!));
    for (let start = 0; start < rows.length; start += groupSize) {
      const n = Math.min(groupSize, rows.length - start);
      const cols = allocRowGroup(groupSize);
      for (let i = 0; i < n; i++) {
        const r = rows[start + i]!;
        cols.series[i] = r.seriesIndex;
        cols.profileIds[i] = r.profileId;
        cols.time[i] = r.timeNanos;
        cols.duration[i] = r.durationNanos;
        cols.period[i] = r.period;
        cols.total[i] = r.totalValue;
        const [ids, values] = canonicalSamples(r.stacktraceIds, r.values);
        cols.stacktraceIds[i] = blobs.ids(ids);
        cols.stacktraceValues[i] = blobs.values(values);
      }
      await w.writeRowGroup(cols, n);
    }
    await w.endDataset(ds.symbols);
  }
  const meta = await w.finish();
  return { bytes: Buffer.concat(chunks), meta };
}

describe('StreamingBlockWriter', () => {
  it('writes the same bytes and metadata as encodeBlock', async () => {
    const want = await encodeBlock(HEADER, fixtureDatasets());
    const got = await stream(HEADER, fixtureDatasets(), 10_240);
    expect(Buffer.from(got.bytes).equals(Buffer.from(want.bytes))).toBe(true);
    expect(got.meta).toEqual(want.meta);

    const compacted = { ...HEADER, compactionLevel: 1, tenant: 'acme' };
    const acme = fixtureDatasets().filter((d) => d.tenant === 'acme');
    const want1 = await encodeBlock(compacted, acme);
    const got1 = await stream(compacted, fixtureDatasets().filter((d) => d.tenant === 'acme'), 10_240);
    expect(Buffer.from(got1.bytes).equals(Buffer.from(want1.bytes))).toBe(true);
  });

  it('writes row groups that the reader streams back, in order', async () => {
    const got = await stream(HEADER, fixtureDatasets(), 2);
    const bucket = new MemoryBucket();
    await bucket.put('b', got.bytes);
    const r = await BlockReader.open(bucket, 'b', got.bytes.length);
    const api = r.dataset('acme', 'api')!;
    const groups: number[] = [];
    for await (const g of r.rowGroups(api)) groups.push(g.length);
    expect(groups).toEqual([2, 2, 1]);
    const want = (await encodeBlock(HEADER, fixtureDatasets())).bytes;
    const b2 = new MemoryBucket();
    await b2.put('w', want);
    const ref = await BlockReader.open(b2, 'w', want.length);
    for (const ds of ref.datasets()) {
      const rows = [];
      for await (const row of r.rows(r.dataset(ds.tenant, ds.name)!)) rows.push(row);
      const refRows = [];
      for await (const row of ref.rows(ds)) refRows.push(row);
      expect(rows).toEqual(refRows);
      expect(await r.readSymbols(r.dataset(ds.tenant, ds.name)!)).toEqual(await ref.readSymbols(ds));
    }
  });

  it('leaves out a dataset without rows and refuses bad order', async () => {
    const chunks: Uint8Array[] = [];
    const w = new StreamingBlockWriter(HEADER, async (b) => void chunks.push(b.slice()));
    w.beginDataset('t', 'empty', []);
    await w.endDataset(fixtureDatasets()[0]!.symbols);
    expect(() => w.beginDataset('a', 'x', [])).toThrow(/not after/);
    w.beginDataset('t', 'z', [[['__profile_type__', 'b']], [['__profile_type__', 'a']]].map((s) => s as [string, string][]).slice(0, 1));
    const cols = allocRowGroup(2);
    cols.series[0] = 0;
    cols.series[1] = 0;
    cols.time[0] = 5n;
    cols.time[1] = 4n;
    cols.profileIds.fill(new Uint8Array(16));
    cols.stacktraceIds.fill(new Uint8Array(0));
    cols.stacktraceValues.fill(Uint8Array.of(1));
    await expect(w.writeRowGroup(cols, 2)).rejects.toThrow(/order/);
    expect(() => new StreamingBlockWriter({ ...HEADER, id: 'nope' }, async () => undefined)).toThrow(/ULID/);
  });
});

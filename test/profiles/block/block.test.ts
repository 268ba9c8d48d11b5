import { fromBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { BlockMetaSchema } from '../../../src/gen/metastore/v1/types_pb.js';
import { crc32c } from '../../../src/profiles/block/crc32c.js';
import type { ProfileRow } from '../../../src/profiles/block/model.js';
import { canonicalSamples } from '../../../src/profiles/block/profiles.js';
import { BlockReader, stacktraceFunctionNames } from '../../../src/profiles/block/reader.js';
import { encodeBlock } from '../../../src/profiles/block/writer.js';
import { acmeApiSymbols, CPU, fixtureDatasets, GOROUTINE, MEM, shuffled, uuid, WALL } from './fixture.js';
import { MemoryBucket } from './memory-bucket.js';

const ID = '01JDQ4Z5X8K9M2N3P4Q5R6S7T8';
const HEADER = { id: ID, shard: 3, compactionLevel: 0, createdBy: 'ingester-7' };
const KEY = `segments/3/anonymous/${ID}/block.bin`;

async function stored(bytes: Uint8Array): Promise<MemoryBucket> {
  const b = new MemoryBucket();
  await b.put(KEY, bytes);
  return b;
}

async function collect(it: AsyncIterable<ProfileRow>): Promise<ProfileRow[]> {
  const out: ProfileRow[] = [];
  for await (const r of it) out.push(r);
  return out;
}

function plain(r: ProfileRow) {
  return {
    seriesIndex: r.seriesIndex,
    profileId: Array.from(r.profileId),
    timeNanos: r.timeNanos,
    durationNanos: r.durationNanos,
    period: r.period,
    totalValue: r.totalValue,
    stacktraceIds: Array.from(r.stacktraceIds),
    values: Array.from(r.values),
  };
}

function exp(seriesIndex: number, id: number, timeNanos: bigint, durationNanos: bigint, period: bigint, totalValue: number, stacktraceIds: number[], values: number[]) {
  return { seriesIndex, profileId: Array.from(uuid(id)), timeNanos, durationNanos, period, totalValue, stacktraceIds, values };
}

describe('block round trip', () => {
  it('gives back datasets, series, rows and symbols exactly', async () => {
    const { bytes, meta } = await encodeBlock(HEADER, fixtureDatasets());
    expect(meta.size).toBe(BigInt(bytes.length));
    const bucket = await stored(bytes);
    const r = await BlockReader.open(bucket, KEY);

    expect(r.meta.id).toBe(ID);
    expect(r.meta.shard).toBe(3);
    expect(r.meta.compactionLevel).toBe(0);
    expect(r.meta.tenant).toBe(0);
    expect(r.meta.stringTable[r.meta.createdBy]).toBe('ingester-7');
    expect(r.meta.minTime).toBe(1763699999000n);
    expect(r.meta.maxTime).toBe(1763700020000n);
    expect(r.meta.size).toBe(BigInt(bytes.length));

    const ds = r.datasets();
    expect(ds.map((d) => [d.tenant, d.name, d.minTime, d.maxTime])).toEqual([
      ['acme', 'api', 1763700005000, 1763700015000],
      ['acme', 'web', 1763700010999, 1763700010999],
      ['beta', 'api', 1763700000000, 1763700020000],
      ['beta', 'worker', 1763699999000, 1763699999000],
    ]);
    expect(ds[0]!.labels).toEqual([
      [['service_name', 'api'], ['__profile_type__', MEM]],
      [['service_name', 'api'], ['__profile_type__', CPU]],
    ]);
    expect(ds[2]!.labels).toEqual([[['service_name', 'api'], ['__profile_type__', GOROUTINE]]]);

    expect(await r.readSeries(ds[0]!)).toEqual([
      [['__name__', 'memory'], ['__profile_type__', MEM], ['service_name', 'api']],
      [['__name__', 'process_cpu'], ['__profile_type__', CPU], ['pod', 'a'], ['service_name', 'api']],
      [['__name__', 'process_cpu'], ['__profile_type__', CPU], ['pod', 'b'], ['service_name', 'api']],
    ]);
    expect((await collect(r.rows(ds[0]!))).map(plain)).toEqual([
      exp(0, 4, 1763700015000037439n, 0n, 524288n, 1024, [1, 2], [512, 512]),
      exp(1, 3, 1763700005000000001n, 10_000_000_000n, 10_000_000n, 7, [0], [7]),
      exp(1, 1, 1763700015000037440n, 10_000_000_000n, 10_000_000n, 6, [2], [6]),
      exp(1, 2, 1763700015000037440n, 10_000_000_000n, 10_000_000n, 5, [1], [5]),
      exp(2, 1, 1763700015000037439n, 10_000_000_000n, 10_000_000n, 30, [0, 2], [20, 10]),
    ]);
    expect((await collect(r.rows(ds[2]!))).map(plain)).toEqual([
      exp(0, 30, 1763700000000000000n, 0n, 1n, 2, [0], [2]),
      exp(0, 31, 1763700020000000000n, 0n, 1n, 3, [0], [3]),
    ]);
    expect((await collect(r.rows(ds[3]!))).map(plain)).toEqual([exp(0, 40, 1763699999000000500n, 10_000_000_000n, 10_000_000n, 0, [], [])]);
    expect(await r.readSeries(ds[3]!)).toEqual([[['__profile_type__', WALL], ['service_name', 'worker']]]);

    const sym = await r.readSymbols(ds[0]!);
    expect(sym).toEqual(acmeApiSymbols());
    expect(stacktraceFunctionNames(sym, 0)).toEqual(['inlinedHelper', 'handler', 'main']);
    expect(stacktraceFunctionNames(sym, 1)).toEqual(['parse', 'inlinedHelper', 'handler', 'main']);
    expect(stacktraceFunctionNames(sym, 2)).toEqual(['main']);
    expect(() => stacktraceFunctionNames(sym, 3)).toThrow(RangeError);

    const web = await r.readSymbols(ds[1]!);
    expect(stacktraceFunctionNames(web, 0)).toEqual(['render', 'serve']);
    const beta = await r.readSymbols(ds[2]!);
    expect(beta.lineNumber).toEqual([-5]);
    expect(beta.functionStartLine).toEqual([-1]);
    expect(r.dataset('beta', 'worker')?.index).toBe(3);
    expect(r.dataset('beta', 'web')).toBeUndefined();
  });

  it('writes a footer that decodes with the generated BlockMeta schema', async () => {
    const { bytes } = await encodeBlock(HEADER, fixtureDatasets());
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const size = view.getUint32(bytes.length - 8);
    const crc = view.getUint32(bytes.length - 4);
    expect(crc32c(bytes.subarray(bytes.length - 8 - size, bytes.length - 4))).toBe(crc);
    const meta = fromBinary(BlockMetaSchema, bytes.subarray(bytes.length - 8 - size, bytes.length - 8));
    expect(meta.formatVersion).toBe(1);
    expect(meta.size).toBe(0n);
    expect(meta.metadataOffset).toBe(BigInt(bytes.length - 8 - size));
    expect(meta.stringTable).toEqual([
      '', 'ingester-7', 'acme', 'api', 'service_name', '__profile_type__', MEM, CPU, 'web', 'beta', GOROUTINE, 'worker', WALL,
    ]);
    expect(meta.createdBy).toBe(1);
    const d0 = meta.datasets[0]!;
    expect([d0.format, d0.tenant, d0.name, d0.minTime, d0.maxTime]).toEqual([0, 2, 3, 1763700005000n, 1763700015000n]);
    expect(d0.labels).toEqual([2, 4, 3, 5, 6, 2, 4, 3, 5, 7]);
    expect(meta.datasets.map((d) => [d.tenant, d.name])).toEqual([[2, 3], [2, 8], [9, 3], [9, 11]]);
    // Regions are back to back from offset 0 up to the footer, sections in order.
    let at = 0n;
    for (const d of meta.datasets) {
      expect(d.tableOfContents.length).toBe(3);
      expect(d.tableOfContents[0]).toBe(at);
      expect(d.tableOfContents[0]! < d.tableOfContents[1]! && d.tableOfContents[1]! < d.tableOfContents[2]!).toBe(true);
      at += d.size;
    }
    expect(at).toBe(meta.metadataOffset);
    // The profiles section is a Parquet file; the others carry their magic.
    const d1 = meta.datasets[1]!;
    const text = (a: bigint, n: number) => new TextDecoder().decode(bytes.subarray(Number(a), Number(a) + n));
    expect(text(d1.tableOfContents[0]!, 4)).toBe('PAR1');
    expect(text(d1.tableOfContents[1]! - 4n, 4)).toBe('PAR1');
    expect(text(d1.tableOfContents[1]!, 4)).toBe('KSI1');
    expect(text(d1.tableOfContents[2]!, 4)).toBe('KSY1');
  });

  it('writes compacted blocks with their tenant', async () => {
    const acme = fixtureDatasets().filter((d) => d.tenant === 'acme');
    const { bytes } = await encodeBlock({ ...HEADER, compactionLevel: 1, tenant: 'acme' }, acme);
    const key = `blocks/3/acme/${ID}/block.bin`;
    const bucket = new MemoryBucket();
    await bucket.put(key, bytes);
    const r = await BlockReader.open(bucket, key, bytes.length);
    expect(r.meta.compactionLevel).toBe(1);
    expect(r.meta.stringTable[r.meta.tenant]).toBe('acme');
    expect(r.datasets().map((d) => d.name)).toEqual(['api', 'web']);
    await expect(encodeBlock({ ...HEADER, compactionLevel: 1, tenant: 'acme' }, fixtureDatasets())).rejects.toThrow(/tenant "beta" in a block of tenant "acme"/);
    await expect(encodeBlock({ ...HEADER, compactionLevel: 1 }, acme)).rejects.toThrow(/needs its tenant/);
  });
});

describe('determinism', () => {
  it('encodes the same content to the same bytes, whatever the input order', async () => {
    const a = await encodeBlock(HEADER, fixtureDatasets());
    const b = await encodeBlock(HEADER, fixtureDatasets());
    const c = await encodeBlock(HEADER, shuffled(fixtureDatasets()));
    expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
    expect(Buffer.from(c.bytes).equals(Buffer.from(a.bytes))).toBe(true);
    // ...and a real change changes the bytes.
    const changed = fixtureDatasets();
    changed[1]!.rows[0]!.timeNanos += 1n;
    const d = await encodeBlock(HEADER, changed);
    expect(Buffer.from(d.bytes).equals(Buffer.from(a.bytes))).toBe(false);
  });
});

describe('row order and row checks', () => {
  const symbols = acmeApiSymbols();
  const labels = (type: string): [string, string][] => [['__profile_type__', type], ['service_name', 'api']];
  const row = (seriesIndex: number, profileId: Uint8Array, timeNanos: bigint, totalValue = 1): ProfileRow => ({
    seriesIndex, profileId, timeNanos, durationNanos: 1n, period: 1n, totalValue, stacktraceIds: Uint32Array.of(0), values: Float64Array.of(totalValue),
  });
  const id = (...head: number[]) => {
    const b = new Uint8Array(16);
    b.set(head);
    return b;
  };

  it('orders rows by series, then time as a signed 64-bit number, then profile id', async () => {
    // Times that differ only in the high or the low 32 bits, on both sides of
    // zero and of 2^31; ids equal in their first four bytes.
    const times = [-(2n ** 63n), -(2n ** 32n) - 1n, -(2n ** 32n), -1n, 0n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 32n + 2n ** 31n, 2n ** 63n - 1n];
    const ids = [id(0xff), id(0x01, 2, 3, 4, 0x80), id(0x01, 2, 3, 4, 0x7f), id(0x80), id(0)];
    const rows: ProfileRow[] = [];
    // Input order: series reversed, times and ids in a scrambled order.
    for (const series of [1, 0]) for (let k = 0; k < times.length * ids.length; k++) {
      const j = (k * 7) % (times.length * ids.length);
      rows.push(row(series, ids[j % ids.length]!, times[Math.floor(j / ids.length)]!));
    }
    const ds = { tenant: 'acme', name: 'api', series: [labels(MEM), labels(CPU)], rows, symbols };
    const block = await encodeBlock(HEADER, [ds]);
    const r = await BlockReader.open(await stored(block.bytes), KEY);
    const got = await collect(r.rows(0));
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    // The expected order, computed with BigInt and byte-string comparisons.
    // Series sort by labels: CPU's type sorts before MEM's, so input series 1 comes first.
    const want = [...rows].sort((a, b) => b.seriesIndex - a.seriesIndex || (a.timeNanos < b.timeNanos ? -1 : a.timeNanos > b.timeNanos ? 1 : 0) || (hex(a.profileId) < hex(b.profileId) ? -1 : 1));
    expect(got.map((x) => [x.seriesIndex, x.timeNanos, hex(x.profileId)])).toEqual(want.map((x) => [1 - x.seriesIndex, x.timeNanos, hex(x.profileId)]));
  });

  it('rejects a row it cannot write, naming the dataset and the row', async () => {
    const bad = async (change: (r: ProfileRow) => void) => {
      const rows = [row(0, id(1), 5n), row(0, id(2), 6n)];
      change(rows[1]!);
      return encodeBlock(HEADER, [{ tenant: 'acme', name: 'api', series: [labels(CPU)], rows, symbols }]);
    };
    await expect(bad((r) => { r.stacktraceIds = Uint32Array.of(0, 3); r.values = Float64Array.of(1, 1); })).rejects.toThrow('dataset "acme"/"api" row 1: stack trace id 3 out of range (3 stack traces)');
    await expect(bad((r) => (r.values = Float64Array.of(Infinity)))).rejects.toThrow('row 1: value Infinity is not finite');
    await expect(bad((r) => (r.values = Float64Array.of(2, NaN)))).rejects.toThrow('row 1: stacktraceIds and values differ in length');
    await expect(bad((r) => { r.stacktraceIds = Uint32Array.of(0, 1); r.values = Float64Array.of(2, NaN); })).rejects.toThrow('row 1: value NaN is not finite');
    await expect(bad((r) => (r.timeNanos = 2n ** 63n))).rejects.toThrow('row 1: timeNanos, durationNanos and period must be int64 bigints');
    await expect(bad((r) => (r.seriesIndex = 1))).rejects.toThrow('row 1: seriesIndex 1 out of range (1 series)');
  });
});

describe('canonical samples', () => {
  it('passes canonical input through untouched, and sorts and sums the rest', () => {
    const ids = Uint32Array.of(1, 4, 9);
    const values = Float64Array.of(3, 2, 1);
    const [i, v] = canonicalSamples(ids, values);
    expect(i).toBe(ids);
    expect(v).toBe(values);
    const [i2, v2] = canonicalSamples(Uint32Array.of(9, 1, 4, 1, 9), Float64Array.of(1, 2, 3, 4, 5));
    expect(Array.from(i2)).toEqual([1, 4, 9]);
    expect(Array.from(v2)).toEqual([6, 3, 6]);
    // A repeated id is not canonical even when the ids do not decrease.
    const [i3, v3] = canonicalSamples(Uint32Array.of(2, 2), Float64Array.of(0.5, 0.25));
    expect(Array.from(i3)).toEqual([2]);
    expect(Array.from(v3)).toEqual([0.75]);
  });
});

describe('range reads', () => {
  it('never loads the whole object and reads only the section asked for', async () => {
    const { bytes, meta } = await encodeBlock(HEADER, fixtureDatasets());
    const bucket = await stored(bytes);
    const r = await BlockReader.open(bucket, KEY, bytes.length);
    expect(bucket.heads).toBe(0);
    // The fixture footer is under 256 bytes? Either way at most two reads, all inside the tail.
    expect(bucket.ranges.length).toBeGreaterThanOrEqual(1);
    expect(bucket.ranges.length).toBeLessThanOrEqual(2);
    for (const c of bucket.ranges) expect(c.offset + c.length).toBe(bytes.length);
    expect(bucket.ranges[0]).toEqual({ key: KEY, offset: bytes.length - 256, length: 256 });

    bucket.ranges.length = 0;
    await r.readSymbols(1);
    const toc = meta.datasets[1]!.tableOfContents.map(Number);
    const end = toc[0]! + Number(meta.datasets[1]!.size);
    expect(bucket.ranges).toEqual([{ key: KEY, offset: toc[2]!, length: end - toc[2]! }]);

    bucket.ranges.length = 0;
    await r.readSeries(1);
    expect(bucket.ranges).toEqual([{ key: KEY, offset: toc[1]!, length: toc[2]! - toc[1]! }]);

    // Rows: the series index (layout and checksums), the Parquet footer, one read per row group.
    bucket.ranges.length = 0;
    await collect(r.rows(1));
    expect(bucket.ranges.length).toBe(3);
    expect(bucket.ranges[0]).toEqual({ key: KEY, offset: toc[1]!, length: toc[2]! - toc[1]! });
    for (const c of bucket.ranges.slice(1)) {
      expect(c.offset).toBeGreaterThanOrEqual(toc[0]!);
      expect(c.offset + c.length).toBeLessThanOrEqual(toc[1]!);
    }
    // The layout is cached: reading the rows again skips the series index and the footer.
    bucket.ranges.length = 0;
    await collect(r.rows(1));
    expect(bucket.ranges.length).toBe(1);
    expect(bucket.gets).toBe(0);
  });

  it('heads the object when the size is not given, and reads a large footer in two ranges', async () => {
    // Many datasets make a footer larger than the 256-byte probe.
    const many = Array.from({ length: 40 }, (_, i) => {
      const d = fixtureDatasets()[3]!;
      return { ...d, name: `service-${String(i).padStart(3, '0')}` };
    });
    const { bytes } = await encodeBlock(HEADER, many);
    const bucket = await stored(bytes);
    const r = await BlockReader.open(bucket, KEY);
    expect(bucket.heads).toBe(1);
    expect(bucket.ranges.length).toBe(2);
    expect(r.datasets().length).toBe(40);
    expect(r.datasets()[39]!.name).toBe('service-039');
    expect(bucket.gets).toBe(0);
  });
});

import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/profiles/block/crc32c.js';
import { BlockFormatError } from '../../../src/profiles/block/errors.js';
import { decodeFooter, encodeFooter } from '../../../src/profiles/block/footer.js';
import type { ProfileRow } from '../../../src/profiles/block/model.js';
import { openProfilesTable, PROFILES_SCHEMA, readRowGroup } from '../../../src/profiles/block/profiles.js';
import { BlobWriter } from '../../../src/profiles/block/samples.js';
import { BlockReader } from '../../../src/profiles/block/reader.js';
import { decodeSeriesIndex, decodeSymbols, encodeSeriesIndex, encodeSymbols } from '../../../src/profiles/block/sections.js';
import { encodeBlock } from '../../../src/profiles/block/writer.js';
import { acmeApiSymbols, fixtureDatasets } from './fixture.js';
import { MemoryBucket } from './memory-bucket.js';

const ID = '01JDQ4Z5X8K9M2N3P4Q5R6S7T8';
const HEADER = { id: ID, shard: 1, compactionLevel: 0, createdBy: 'w' };
const KEY = 'k/block.bin';

async function block(): Promise<Uint8Array> {
  return (await encodeBlock(HEADER, fixtureDatasets())).bytes;
}

async function bucketWith(bytes: Uint8Array): Promise<MemoryBucket> {
  const b = new MemoryBucket();
  await b.put(KEY, bytes);
  return b;
}

async function drain(it: AsyncIterable<ProfileRow>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

/** Runs f and returns what it threw (undefined if nothing). */
async function thrown(f: () => Promise<unknown>): Promise<unknown> {
  try {
    await f();
    return undefined;
  } catch (err) {
    return err;
  }
}

function withFooter(bytes: Uint8Array, mutate: (meta: ReturnType<typeof decodeFooter>) => void): Uint8Array {
  const meta = decodeFooter(bytes, bytes.length);
  const data = bytes.subarray(0, Number(meta.metadataOffset));
  mutate(meta);
  const footer = encodeFooter(meta);
  const out = new Uint8Array(data.length + footer.length);
  out.set(data);
  out.set(footer, data.length);
  return out;
}

describe('footer checks', () => {
  it('rejects a flipped byte in the metadata with a CRC error', async () => {
    const bytes = await block();
    bytes[bytes.length - 20]! ^= 0x01;
    const err = await thrown(async () => BlockReader.open(await bucketWith(bytes), KEY));
    expect(err).toBeInstanceOf(BlockFormatError);
    expect((err as Error).message).toMatch(/CRC-32C mismatch/);
  });

  it('rejects a metadata size that does not fit in the object', async () => {
    const bytes = await block();
    bytes[bytes.length - 8] = 0x7f; // size field, big-endian high byte
    const err = await thrown(async () => BlockReader.open(await bucketWith(bytes), KEY));
    expect(err).toBeInstanceOf(BlockFormatError);
    expect((err as Error).message).toMatch(/does not fit in a block object/);
  });

  it('reports a truncated object clearly', async () => {
    const bytes = await block();
    const short = bytes.slice(0, bytes.length - 100);
    // Size known from the metastore: the ranged read comes back short.
    const e1 = await thrown(async () => BlockReader.open(await bucketWith(short), KEY, bytes.length));
    expect(e1).toBeInstanceOf(BlockFormatError);
    expect((e1 as Error).message).toMatch(/truncated: wanted 256 bytes/);
    // Size from head: the tail is not a footer.
    const e2 = await thrown(async () => BlockReader.open(await bucketWith(short), KEY));
    expect(e2).toBeInstanceOf(BlockFormatError);
    // Too small for a footer at all.
    const e3 = await thrown(async () => BlockReader.open(await bucketWith(new Uint8Array(5)), KEY));
    expect((e3 as Error).message).toMatch(/too small to hold a footer/);
  });

  it('rejects metadata whose offsets or string indexes are wrong, even with a valid CRC', async () => {
    const bytes = await block();
    const cases: [(m: ReturnType<typeof decodeFooter>) => void, RegExp][] = [
      [(m) => (m.formatVersion = 2), /unsupported block format version 2/],
      [(m) => (m.datasets[0]!.name = 999), /string index 999 out of range/],
      [(m) => (m.datasets[1]!.size += 10_000n), /overlaps another dataset or the footer/],
      [(m) => (m.datasets[0]!.tableOfContents = [0n, 10n]), /table of contents has 2 entries/],
      [(m) => (m.datasets[0]!.labels = [3, 1, 2]), /overruns/],
      [(m) => (m.stringTable[0] = 'x'), /must start with ""/],
      [(m) => (m.metadataOffset -= 1n), /metadata_offset/],
    ];
    for (const [mutate, message] of cases) {
      const bad = withFooter(bytes, mutate);
      const err = await thrown(async () => BlockReader.open(await bucketWith(bad), KEY));
      expect(err, String(message)).toBeInstanceOf(BlockFormatError);
      expect((err as Error).message).toMatch(message);
    }
  });
});

describe('section checks', () => {
  it('rejects corrupt series and symbols sections', async () => {
    const bytes = await block();
    const meta = decodeFooter(bytes, bytes.length);
    const toc = meta.datasets[0]!.tableOfContents.map(Number);
    const a = bytes.slice();
    a[toc[1]! + 6]! ^= 0x40;
    a[toc[2]! + 9]! ^= 0x40;
    const r = await BlockReader.open(await bucketWith(a), KEY);
    await expect(r.readSeries(0)).rejects.toThrow(/series index section CRC-32C mismatch/);
    await expect(r.readSymbols(0)).rejects.toThrow(BlockFormatError);
    await expect(r.readSymbols(0)).rejects.toThrow(/symbols section CRC-32C mismatch/);
  });

  it('catches a table of contents that points at the wrong section', async () => {
    const bytes = await block();
    const bad = withFooter(bytes, (m) => {
      const toc = m.datasets[0]!.tableOfContents;
      m.datasets[0]!.tableOfContents = [toc[0]!, toc[1]! + 1n, toc[2]!];
    });
    const r = await BlockReader.open(await bucketWith(bad), KEY);
    await expect(r.readSeries(0)).rejects.toThrow(/wrong magic/);
    const err = await thrown(() => drain(r.rows(0)));
    expect(err).toBeInstanceOf(BlockFormatError);
  });

  it('rejects symbols whose columns disagree, with a valid frame', () => {
    const cases: [(s: ReturnType<typeof acmeApiSymbols>) => void, RegExp][] = [
      [(s) => s.functionFilename.pop(), /column functionFilename has 3 entries, functionName has 4/],
      [(s) => (s.stacktraceLocations[1] = 3), /stacktraceLocations\[1\] = 3 out of range \(locations has 3\)/],
      [(s) => (s.lineFunction[0] = 4), /lineFunction\[0\] = 4 out of range/],
      [(s) => (s.locationMapping[2] = 2), /locationMapping\[2\] = 2 out of range/],
      [(s) => (s.functionName[0] = 9), /functionName\[0\] = 9 out of range \(strings has 9\)/],
      [(s) => (s.stacktraceEnd[2] = 7), /stacktraceEnd/],
      [(s) => (s.locationLineEnd = [1, 0, 4]), /locationLineEnd\[1\] = 0/],
      [(s) => (s.strings[0] = 'x'), /strings must start with ""/],
    ];
    for (const [mutate, message] of cases) {
      const s = acmeApiSymbols();
      mutate(s);
      const bytes = encodeSymbols(s);
      expect(() => decodeSymbols(bytes), String(message)).toThrow(BlockFormatError);
      expect(() => decodeSymbols(bytes)).toThrow(message);
    }
    expect(decodeSymbols(encodeSymbols(acmeApiSymbols()))).toEqual(acmeApiSymbols());
  });

  it('rejects a series index out of order or with unsorted names', () => {
    const layout = { rowGroups: [], footerOffset: 4, footerCrc32c: 0, stacktraceCount: 0 };
    const a: [string, string][] = [['a', '1']];
    const b: [string, string][] = [['a', '2']];
    expect(decodeSeriesIndex(encodeSeriesIndex([a, b], layout)).series).toEqual([a, b]);
    expect(() => decodeSeriesIndex(encodeSeriesIndex([b, a], layout))).toThrow(/series 1 is not after series 0/);
    expect(() => decodeSeriesIndex(encodeSeriesIndex([a, a], layout))).toThrow(BlockFormatError);
    expect(() => decodeSeriesIndex(encodeSeriesIndex([[['b', '1'], ['a', '1']]], layout))).toThrow(/not strictly increasing/);
    expect(() => decodeSeriesIndex(new Uint8Array([1, 2, 3]))).toThrow(/too short/);
  });

  it('turns any corruption of the profiles table into BlockFormatError or intact rows', async () => {
    const bytes = await block();
    const meta = decodeFooter(bytes, bytes.length);
    const [start, end] = [Number(meta.datasets[0]!.tableOfContents[0]), Number(meta.datasets[0]!.tableOfContents[1])];
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) % 0x10000) / 0x10000;
    let failures = 0;
    for (let i = 0; i < 150; i++) {
      const bad = bytes.slice();
      const pos = start + Math.floor(rand() * (end - start));
      bad[pos] = Math.floor(rand() * 256);
      const r = await BlockReader.open(await bucketWith(bad), KEY);
      const err = await thrown(() => drain(r.rows(0)));
      if (err !== undefined) {
        failures++;
        expect(err, `flip at ${pos - start}: ${String(err)}`).toBeInstanceOf(BlockFormatError);
      }
    }
    expect(failures).toBeGreaterThan(0);
    // Overwriting the Parquet footer magic is caught by the footer checksum.
    const bad = bytes.slice();
    bad[end - 1] = 0;
    const r = await BlockReader.open(await bucketWith(bad), KEY);
    await expect(drain(r.rows(0))).rejects.toThrow(/profiles table footer CRC-32C mismatch/);
  });
});

/** Varint bytes of small non-negative integers (test data only). */
const varints = (...v: number[]): number[] =>
  v.flatMap((x) => {
    const out: number[] = [];
    for (; x > 0x7f; x = Math.floor(x / 128)) out.push((x % 128) | 0x80);
    out.push(x);
    return out;
  });
const idsBlob = (...deltas: number[]) => Uint8Array.from(varints(...deltas));
const f64Blob = (...v: number[]) => Uint8Array.from([0, ...new Uint8Array(Float64Array.from(v).buffer)]);
const zigzagBlob = (...z: number[]) => Uint8Array.from([1, ...varints(...z)]);

/**
 * Writes a one-row profiles table with the given sample blobs and a valid
 * checksummed layout (so only the reader's content checks stand in the way),
 * then reads it back.
 */
async function readSamples(ids: Uint8Array, values: Uint8Array, stacktraceCount = 10): Promise<ProfileRow[]> {
  const writer = new ByteWriter();
  const pw = new ParquetWriter({ writer, schema: PROFILES_SCHEMA, codec: 'SNAPPY' });
  const offset = writer.offset;
  await pw.write({
    columnData: [
      { name: 'series_index', data: Uint32Array.of(0) },
      { name: 'profile_id', data: [new Uint8Array(16)] },
      { name: 'time_nanos', data: BigInt64Array.of(1n) },
      { name: 'duration_nanos', data: BigInt64Array.of(0n) },
      { name: 'period', data: BigInt64Array.of(0n) },
      { name: 'total_value', data: Float64Array.of(0) },
      { name: 'stacktrace_ids', data: [ids], encoding: 'PLAIN' },
      { name: 'stacktrace_values', data: [values], encoding: 'PLAIN' },
    ],
    rowGroupSize: 1,
  });
  const size = writer.offset - offset;
  const footerOffset = writer.offset;
  await pw.finish();
  const bytes = writer.getBytes().slice();
  const layout = {
    rowGroups: [{ offset, size, rows: 1, crc32c: crc32c(bytes.subarray(offset, offset + size)) }],
    footerOffset,
    footerCrc32c: crc32c(bytes.subarray(footerOffset)),
    stacktraceCount,
  };
  const read = async (o: number, l: number) => bytes.subarray(o, o + l);
  const info = await openProfilesTable(read, bytes.length, layout, 1);
  return readRowGroup(read, info, 0, 0, { series: 0, time: -(2n ** 63n) });
}

describe('sample blob checks', () => {
  it('decodes delta-coded ids and both value forms', async () => {
    const [row] = await readSamples(idsBlob(2, 3, 4), zigzagBlob(3, 4, 1));
    expect(Array.from(row!.stacktraceIds)).toEqual([2, 5, 9]);
    expect(Array.from(row!.values)).toEqual([-2, 2, -1]);
    const [f] = await readSamples(idsBlob(0, 1), f64Blob(1.5, -0));
    expect(Array.from(f!.values)).toEqual([1.5, -0]);
    expect(Object.is(f!.values[1], -0)).toBe(true);
  });

  it('round-trips values exactly, picking the zigzag form only for integers below 2^52', async () => {
    const blobs = new BlobWriter();
    const cases: [number[], number][] = [
      [[0, 1, -1, 10_000_000, 2 ** 52 - 1, -(2 ** 52 - 1)], 1],
      [[2 ** 52], 0],
      [[2 ** 60, 3], 0],
      [[0.1, 3], 0],
      [[-0, 3], 0],
      [[], 1],
    ];
    for (const [values, tag] of cases) {
      const blob = blobs.values(Float64Array.from(values));
      expect(blob[0], String(values)).toBe(tag);
      const ids = Uint32Array.from(values, (_, i) => i);
      const [row] = await readSamples(blobs.ids(ids), blob, Math.max(1, values.length));
      expect(Array.from(row!.values).map((v) => (Object.is(v, -0) ? '-0' : v))).toEqual(values.map((v) => (Object.is(v, -0) ? '-0' : v)));
      expect(Array.from(row!.stacktraceIds)).toEqual(Array.from(ids));
    }
  });

  it('rejects blobs that checksum fine but break the sample invariants', async () => {
    const cases: [Uint8Array, Uint8Array, RegExp][] = [
      [idsBlob(2, 0), zigzagBlob(1, 1), /stack trace ids not strictly increasing after 2/],
      [idsBlob(9, 1), zigzagBlob(1, 1), /stack trace id 10 out of range \(10 stack traces\)/],
      [idsBlob(1, 2 ** 40), zigzagBlob(1, 1), /stack trace id 1099511627777 out of range/],
      [Uint8Array.of(...varints(2 ** 53 + 2)), zigzagBlob(1), /stack trace id delta is not a varint below 2\^53/],
      [Uint8Array.of(0x01, 0x80), zigzagBlob(1, 1), /stacktrace_ids blob ends inside a varint/],
      [idsBlob(1, 2), zigzagBlob(1), /differ in length \(2, 1\)/],
      [idsBlob(1), f64Blob(NaN), /stack trace value NaN is not finite/],
      [idsBlob(1), Uint8Array.of(7, 1), /stacktrace_values blob is malformed/],
      [idsBlob(1), f64Blob(1).subarray(0, 8), /stacktrace_values blob is malformed/],
      [idsBlob(1), new Uint8Array(0), /stacktrace_values blob is malformed/],
      [idsBlob(1), Uint8Array.of(1, 0x80), /stacktrace_values blob is malformed/],
      [idsBlob(1), Uint8Array.of(1, ...varints(2 ** 53)), /stack trace value is not a varint below 2\^53/],
    ];
    for (const [ids, values, message] of cases) {
      const err = await thrown(() => readSamples(ids, values));
      expect(err, String(message)).toBeInstanceOf(BlockFormatError);
      expect((err as Error).message).toMatch(message);
    }
  });
});

describe('writer input checks', () => {
  it('rejects malformed content with a clear error', async () => {
    const cases: [(d: ReturnType<typeof fixtureDatasets>) => void, RegExp][] = [
      [(d) => (d[1]!.rows[0]!.seriesIndex = 3), /seriesIndex 3 out of range \(3 series\)/],
      [(d) => (d[1]!.rows[0]!.profileId = new Uint8Array(15)), /profileId must be 16 bytes/],
      [(d) => ((d[1]!.rows[0] as { timeNanos: unknown }).timeNanos = 5), /must be int64 bigints/],
      [(d) => (d[1]!.rows[0]!.timeNanos = 2n ** 63n), /must be int64 bigints/],
      [(d) => (d[1]!.rows[0]!.stacktraceIds = new Uint32Array([7, 1])), /stack trace id 7 out of range \(3 stack traces\)/],
      [(d) => (d[1]!.rows[0]!.values = new Float64Array(1)), /differ in length/],
      [(d) => (d[1]!.rows[0]!.totalValue = NaN), /totalValue NaN is not finite/],
      [(d) => d.push({ ...d[1]! }), /duplicate dataset "acme"\/"api"/],
      [(d) => (d[1]!.series[0] = [['service_name', 'api']]), /has no __profile_type__ label/],
      [(d) => (d[1]!.series[0] = d[1]!.series[2]!), /duplicate series/],
      [(d) => (d[1]!.series[0] = [['a', '1'], ['a', '2']]), /duplicate label name "a"/],
      [(d) => d[1]!.symbols.lineNumber.push(1), /inconsistent symbols: column lineNumber/],
      [(d) => (d[1]!.symbols.lineNumber[0] = 1.5), /lineNumber\[0\] = 1.5 is not a safe int64/],
      [(d) => (d[1]!.symbols.locationAddress[0] = -1), /locationAddress\[0\] = -1 is not a uint64/],
      [(d) => (d[1]!.name = ''), /tenant and name must be non-empty/],
    ];
    for (const [mutate, message] of cases) {
      const d = fixtureDatasets();
      mutate(d);
      await expect(encodeBlock(HEADER, d), String(message)).rejects.toThrow(message);
    }
    await expect(encodeBlock({ ...HEADER, id: 'not-a-ulid' }, [])).rejects.toThrow(/is not a ULID/);
    await expect(encodeBlock({ ...HEADER, tenant: 'acme' }, [])).rejects.toThrow(/tenant must be empty/);
  });

  it('writes an empty block and leaves out datasets without rows', async () => {
    const d = fixtureDatasets();
    for (const ds of d) if (ds.tenant === 'beta') ds.rows = [];
    const { bytes } = await encodeBlock(HEADER, d);
    const r = await BlockReader.open(await bucketWith(bytes), KEY);
    expect(r.datasets().map((x) => `${x.tenant}/${x.name}`)).toEqual(['acme/api', 'acme/web']);
    const empty = await encodeBlock(HEADER, []);
    const e = await BlockReader.open(await bucketWith(empty.bytes), KEY);
    expect(e.datasets()).toEqual([]);
    expect([e.meta.minTime, e.meta.maxTime]).toEqual([0n, 0n]);
  });
});

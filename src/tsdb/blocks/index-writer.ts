// Builds a block's `index` file (docs/tsdb-format.md §Index): the layout of Prometheus's index
// format version 2, so Prometheus tools read our blocks. Sections, in file order:
//
//   header            magic 0xBAAAD700, version 2
//   symbols           every label name and value once, sorted by UTF-8 bytes
//   series            one entry per series, each 16-byte aligned (its id = offset / 16):
//                     label symbol ids and the series' chunk references with time ranges
//   label indices     per label name: the symbol ids of its values (kept for old readers)
//   label offsets     label name → offset of its label index
//   postings          per label pair: the sorted ids of the series that have it; first the
//                     list of all series
//   postings offsets  label pair → offset of its postings list
//   TOC               the six section offsets, then a CRC
//
// Every section (and each series entry, label index and postings list) carries a CRC32C.
// The whole index is built in memory: a block's index is small next to its chunks.
import { crc32c } from '../../profiles/block/crc32c.js';
import type { Labels } from '../storage.js';
import { ByteWriter } from './bytes.js';
import { compareLabels, compareStrings, formatLabels } from './labels.js';

export const INDEX_FILE = 'index';
export const INDEX_MAGIC = 0xbaaad700;
export const INDEX_VERSION = 2;
export const TOC_SIZE = 6 * 8 + 4;

/** Where one chunk of a series is and which times it covers (inclusive). */
export interface ChunkMeta {
  minT: number;
  maxT: number;
  ref: number;
}

export interface IndexSeries {
  labels: Labels;
  /** Sorted by time, not overlapping. */
  chunks: readonly ChunkMeta[];
}

/** Writes `len(4) | body | CRC32C(body)`, `body` produced by `fill`. */
function section(w: ByteWriter, fill: () => void): void {
  const lenAt = w.length;
  w.be32(0);
  const from = w.length;
  fill();
  const len = w.length - from;
  w.patchBe32(lenAt, len);
  w.be32(crc32c(w.view(from)));
}

/** The index bytes for `series`, which must be sorted by labels with no duplicates. */
export function buildIndex(series: readonly IndexSeries[]): Buffer {
  for (let i = 1; i < series.length; i++) {
    if (compareLabels(series[i - 1]!.labels, series[i]!.labels) >= 0) {
      throw new Error(`index series out of order or duplicated: ${formatLabels(series[i - 1]!.labels)} then ${formatLabels(series[i]!.labels)}`);
    }
  }

  // Symbols, and per label pair the series ids that have it (filled in while writing series).
  const symbolSet = new Set<string>();
  for (const s of series) for (const [n, v] of s.labels) symbolSet.add(n).add(v);
  const symbols = [...symbolSet].sort(compareStrings);
  const symbolId = new Map(symbols.map((s, i) => [s, i]));
  const postings = new Map<string, Map<string, number[]>>();

  const w = new ByteWriter(1 << 16);
  w.be32(INDEX_MAGIC);
  w.u8(INDEX_VERSION);

  const toc = { symbols: w.length, series: 0, labelIndices: 0, labelOffsets: 0, postings: 0, postingsOffsets: 0 };
  section(w, () => {
    w.be32(symbols.length);
    for (const s of symbols) w.string(s);
  });

  // Series: ids are offset / 16, which keeps postings entries at 4 bytes for up to 64 GiB of series.
  w.pad(16);
  toc.series = w.length;
  const allIds: number[] = [];
  const entry = new ByteWriter(256);
  for (const s of series) {
    w.pad(16);
    const id = w.length / 16;
    if (id > 0xffffffff) throw new Error('index series section larger than 64 GiB');
    allIds.push(id);
    for (const [n, v] of s.labels) {
      let byValue = postings.get(n);
      if (!byValue) postings.set(n, (byValue = new Map()));
      let ids = byValue.get(v);
      if (!ids) byValue.set(v, (ids = []));
      ids.push(id);
    }
    entry.reset();
    encodeSeriesEntry(entry, s, symbolId);
    const body = entry.finish();
    w.uvarint(body.length);
    w.bytes(body);
    w.be32(crc32c(body));
  }

  // Label indices: one per label name, the symbol ids of its values in order.
  const names = [...postings.keys()].sort(compareStrings);
  const valuesOf = (name: string): string[] => [...postings.get(name)!.keys()].sort(compareStrings);
  w.pad(4);
  toc.labelIndices = w.length;
  const labelIndexOffsets: number[] = [];
  for (const name of names) {
    w.pad(4);
    labelIndexOffsets.push(w.length);
    const values = valuesOf(name);
    section(w, () => {
      w.be32(1); // names per entry: always one (composite label indices were never used)
      w.be32(values.length);
      for (const v of values) w.be32(symbolId.get(v)!);
    });
  }
  toc.labelOffsets = w.length;
  section(w, () => {
    w.be32(names.length);
    names.forEach((name, i) => {
      w.uvarint(1);
      w.string(name);
      w.uvarint(labelIndexOffsets[i]!);
    });
  });

  // Postings: first every series ("" = "" is the key of that list), then each label pair.
  w.pad(4);
  toc.postings = w.length;
  const postingsOffsets: Array<[string, string, number]> = [];
  const writePostings = (name: string, value: string, ids: readonly number[]): void => {
    w.pad(4);
    postingsOffsets.push([name, value, w.length]);
    section(w, () => {
      w.be32(ids.length);
      for (const id of ids) w.be32(id);
    });
  };
  writePostings('', '', allIds);
  for (const name of names) for (const value of valuesOf(name)) writePostings(name, value, postings.get(name)!.get(value)!);

  toc.postingsOffsets = w.length;
  section(w, () => {
    w.be32(postingsOffsets.length);
    for (const [name, value, offset] of postingsOffsets) {
      w.uvarint(2);
      w.string(name);
      w.string(value);
      w.uvarint(offset);
    }
  });

  const tocFrom = w.length;
  for (const off of [toc.symbols, toc.series, toc.labelIndices, toc.labelOffsets, toc.postings, toc.postingsOffsets]) w.be64(off);
  w.be32(crc32c(w.view(tocFrom)));
  return Buffer.from(w.finish());
}

function encodeSeriesEntry(w: ByteWriter, s: IndexSeries, symbolId: ReadonlyMap<string, number>): void {
  w.uvarint(s.labels.length);
  for (const [n, v] of s.labels) {
    w.uvarint(symbolId.get(n)!);
    w.uvarint(symbolId.get(v)!);
  }
  w.uvarint(s.chunks.length);
  // Times and refs as deltas from the previous chunk: small numbers, short varints.
  let prev: ChunkMeta | undefined;
  for (const c of s.chunks) {
    if (c.maxT < c.minT) throw new Error(`chunk of ${formatLabels(s.labels)} has maxT ${c.maxT} < minT ${c.minT}`);
    if (prev === undefined) {
      w.varint(c.minT);
      w.uvarint(c.maxT - c.minT);
      w.uvarint(c.ref);
    } else {
      if (c.minT <= prev.maxT) throw new Error(`chunks of ${formatLabels(s.labels)} overlap or are out of order (${c.minT} ≤ ${prev.maxT})`);
      w.uvarint(c.minT - prev.maxT);
      w.uvarint(c.maxT - c.minT);
      w.varint(c.ref - prev.ref);
    }
    prev = c;
  }
}

// Reads a block's `index` file (layout in index-writer.ts and docs/tsdb-format.md §Index).
//
// The file is read into memory and checked completely when opened — magic, version, TOC,
// every section's CRC32C, every series entry and postings list, symbol references — so a
// corrupt index is found at open (where the DB can skip the block) instead of mid-query.
import { readFile } from 'node:fs/promises';
import { crc32c } from '../../profiles/block/crc32c.js';
import type { Labels } from '../storage.js';
import { ByteRangeError, ByteReader } from './bytes.js';
import { compareStrings } from './labels.js';
import { INDEX_MAGIC, INDEX_VERSION, TOC_SIZE, type ChunkMeta } from './index-writer.js';

/** The index file is truncated, fails a checksum or is inconsistent; `file` names it. */
export class CorruptIndexError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

export interface IndexSeriesEntry {
  labels: Labels;
  chunks: ChunkMeta[];
}

export class IndexReader {
  private symbols: string[] = [];
  /** label name → label value → offset of its postings list; names and values sorted. */
  private postingsOffsets = new Map<string, Map<string, number>>();
  private allIds: Uint32Array = new Uint32Array(0);

  private constructor(
    private readonly buf: Buffer,
    readonly file: string,
  ) {}

  static async open(file: string): Promise<IndexReader> {
    const buf = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new CorruptIndexError(file, `cannot read: ${err.code ?? err.message}`);
    });
    return IndexReader.fromBuffer(buf, file);
  }

  /** Parses and validates index bytes; `file` is only used in error messages. */
  static fromBuffer(buf: Buffer, file: string): IndexReader {
    const r = new IndexReader(buf, file);
    try {
      r.load();
    } catch (err) {
      if (err instanceof ByteRangeError) throw new CorruptIndexError(file, `truncated or malformed: ${err.message}`);
      throw err;
    }
    return r;
  }

  private fail(message: string): never {
    throw new CorruptIndexError(this.file, message);
  }

  /** Reads `len(4) | body | crc(4)` at `at`; returns a reader over the body after checking the CRC. */
  private section(at: number, what: string): ByteReader {
    const head = new ByteReader(this.buf, at);
    const len = head.be32();
    const body = head.bytes(len);
    const want = head.be32();
    if (crc32c(body) !== want) this.fail(`checksum mismatch in ${what} at offset ${at}`);
    return new ByteReader(this.buf, at + 4, at + 4 + len);
  }

  private load(): void {
    const b = this.buf;
    if (b.length < 5 + TOC_SIZE) this.fail(`only ${b.length} bytes, smaller than header and TOC`);
    if (b.readUInt32BE(0) !== INDEX_MAGIC) this.fail(`bad magic 0x${b.readUInt32BE(0).toString(16)}`);
    if (b[4] !== INDEX_VERSION) this.fail(`unsupported index version ${b[4]}`);

    const tocAt = b.length - TOC_SIZE;
    const toc = new ByteReader(b, tocAt);
    const offsets = [toc.be64(), toc.be64(), toc.be64(), toc.be64(), toc.be64(), toc.be64()];
    if (crc32c(b.subarray(tocAt, tocAt + 48)) !== toc.be32()) this.fail('checksum mismatch in the table of contents');
    for (let i = 0; i < offsets.length; i++) {
      if (offsets[i]! < 5 || offsets[i]! > tocAt || (i > 0 && offsets[i]! < offsets[i - 1]!)) this.fail(`table of contents entry ${i} (${offsets[i]}) out of order or range`);
    }
    const [symbolsAt, , , labelOffsetsAt, , postingsOffsetsAt] = offsets as [number, number, number, number, number, number];

    const sym = this.section(symbolsAt, 'symbols');
    const count = sym.be32();
    for (let i = 0; i < count; i++) {
      const s = sym.string();
      if (i > 0 && compareStrings(this.symbols[i - 1]!, s) >= 0) this.fail(`symbols not sorted at ${i}`);
      this.symbols.push(s);
    }
    if (sym.remaining !== 0) this.fail('symbols section has trailing bytes');

    // Label indices are written for old readers only; checking their table's CRC is enough.
    this.section(labelOffsetsAt, 'label offset table');

    const po = this.section(postingsOffsetsAt, 'postings offset table');
    const entries = po.be32();
    let prev: [string, string] | undefined;
    for (let i = 0; i < entries; i++) {
      if (po.uvarint() !== 2) this.fail(`postings offset entry ${i} does not have 2 keys`);
      const name = po.string();
      const value = po.string();
      const offset = po.uvarint();
      if (i === 0) {
        if (name !== '' || value !== '') this.fail('first postings list is not the list of all series');
        this.allIds = this.readPostings(offset, 'all series postings');
        prev = [name, value];
        continue;
      }
      if (compareStrings(prev![0], name) > 0 || (prev![0] === name && compareStrings(prev![1], value) >= 0)) this.fail(`postings offset table not sorted at entry ${i}`);
      prev = [name, value];
      let byValue = this.postingsOffsets.get(name);
      if (!byValue) this.postingsOffsets.set(name, (byValue = new Map()));
      byValue.set(value, offset);
      this.readPostings(offset, `postings of ${name}=${JSON.stringify(value)}`);
    }
    if (entries === 0) this.fail('postings offset table is empty (no list of all series)');

    // Decoding every series checks its CRC, symbol references and chunk ranges.
    for (const id of this.allIds) this.series(id);
  }

  private readPostings(offset: number, what: string): Uint32Array {
    const r = this.section(offset, what);
    const n = r.be32();
    if (r.remaining !== n * 4) this.fail(`${what}: ${n} entries do not fill ${r.remaining} bytes`);
    const ids = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      ids[i] = r.be32();
      if (i > 0 && ids[i]! <= ids[i - 1]!) this.fail(`${what}: series ids not strictly increasing`);
    }
    return ids;
  }

  /** Label names of all series, sorted. */
  labelNames(): string[] {
    return [...this.postingsOffsets.keys()];
  }

  /** Values of one label over all series, sorted. */
  labelValues(name: string): string[] {
    return [...(this.postingsOffsets.get(name)?.keys() ?? [])];
  }

  /** Ids of the series with label `name` = `value`, ascending. */
  postings(name: string, value: string): Uint32Array {
    const offset = this.postingsOffsets.get(name)?.get(value);
    return offset === undefined ? new Uint32Array(0) : this.readPostings(offset, `postings of ${name}=${JSON.stringify(value)}`);
  }

  /** Ids of all series, ascending (which is label order). */
  allPostings(): Uint32Array {
    return this.allIds;
  }

  get seriesCount(): number {
    return this.allIds.length;
  }

  /** The labels and chunk metas of series `id`. */
  series(id: number): IndexSeriesEntry {
    const at = id * 16;
    try {
      const r = new ByteReader(this.buf, at);
      const len = r.uvarint();
      const from = r.pos;
      const body = r.bytes(len);
      if (crc32c(body) !== r.be32()) this.fail(`checksum mismatch in series ${id} at offset ${at}`);
      const e = new ByteReader(this.buf, from, from + len);
      const symbol = (ref: number): string => this.symbols[ref] ?? this.fail(`series ${id} references missing symbol ${ref}`);
      const labels: Array<[string, string]> = [];
      const nLabels = e.uvarint();
      for (let i = 0; i < nLabels; i++) labels.push([symbol(e.uvarint()), symbol(e.uvarint())]);
      const chunks: ChunkMeta[] = [];
      const nChunks = e.uvarint();
      for (let i = 0; i < nChunks; i++) {
        if (i === 0) {
          const minT = e.varint();
          chunks.push({ minT, maxT: minT + e.uvarint(), ref: e.uvarint() });
        } else {
          const p = chunks[i - 1]!;
          const minT = p.maxT + e.uvarint();
          chunks.push({ minT, maxT: minT + e.uvarint(), ref: p.ref + e.varint() });
        }
      }
      if (e.remaining !== 0) this.fail(`series ${id} has ${e.remaining} trailing bytes`);
      return { labels, chunks };
    } catch (err) {
      if (err instanceof ByteRangeError) this.fail(`series ${id} at offset ${at}: ${err.message}`);
      throw err;
    }
  }
}

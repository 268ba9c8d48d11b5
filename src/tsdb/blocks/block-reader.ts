// Opens one block directory (docs/tsdb-format.md §Block directory) and answers the questions
// queries and compaction ask: which series match, their chunk references in a time range, the
// chunk bytes, label names and values.
//
// Opening validates meta.json, the whole index and the chunk file headers; chunk CRCs are
// checked as chunks are read. Every problem is thrown as a CorruptBlockError naming the file.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Labels } from '../storage.js';
import type { BlockSeries } from './block-writer.js';
import { ChunkReader, CHUNKS_DIR, CorruptChunkError, segmentName, type EncodedChunk } from './chunk-files.js';
import { CorruptIndexError, IndexReader } from './index-reader.js';
import { INDEX_FILE, type ChunkMeta } from './index-writer.js';
import { InvalidMetaError, META_FILE, parseMeta, type BlockMeta } from './meta.js';
import { matchesAll, type CompiledMatcher } from './matchers.js';

/** A block cannot be read; `file` is the file at fault (or the block directory). */
export class CorruptBlockError extends Error {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CorruptBlockError';
  }
}

/** Turns the file-level errors of this folder into CorruptBlockError; rethrows anything else. */
export function asCorruptBlockError(err: unknown, dir: string): never {
  if (err instanceof CorruptBlockError) throw err;
  if (err instanceof CorruptChunkError || err instanceof CorruptIndexError) throw new CorruptBlockError(err.file, err.message, { cause: err });
  if (err instanceof InvalidMetaError) throw new CorruptBlockError(path.join(dir, META_FILE), err.message, { cause: err });
  throw err;
}

export interface SeriesChunkRefs {
  labels: Labels;
  chunks: ChunkMeta[];
}

export class BlockReader {
  private constructor(
    readonly dir: string,
    readonly meta: BlockMeta,
    private readonly index: IndexReader,
    private readonly chunks: ChunkReader,
  ) {}

  static async open(dir: string): Promise<BlockReader> {
    try {
      const metaFile = path.join(dir, META_FILE);
      const metaText = await readFile(metaFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new CorruptBlockError(metaFile, `${metaFile}: cannot read: ${err.code ?? err.message}`);
      });
      const meta = parseMeta(metaText, metaFile);
      if (meta.ulid !== path.basename(dir)) throw new CorruptBlockError(metaFile, `${metaFile}: ulid ${meta.ulid} does not match the directory name`);
      const index = await IndexReader.open(path.join(dir, INDEX_FILE));
      const chunksDir = path.join(dir, CHUNKS_DIR);
      const names = (await readdir(chunksDir).catch(() => [] as string[])).filter((n) => /^\d{6}$/.test(n)).sort();
      names.forEach((n, i) => {
        if (n !== segmentName(i)) throw new CorruptBlockError(path.join(chunksDir, segmentName(i)), `${chunksDir}: chunk file ${segmentName(i)} missing (found ${n})`);
      });
      const chunks = await ChunkReader.open(chunksDir, names.length);
      return new BlockReader(dir, meta, index, chunks);
    } catch (err) {
      asCorruptBlockError(err, dir);
    }
  }

  get ulid(): string {
    return this.meta.ulid;
  }

  /** Ids of the series that may match: intersected postings of the matchers that reject "". */
  private candidates(matchers: readonly CompiledMatcher[]): Uint32Array {
    let ids: Uint32Array | undefined;
    for (const m of matchers) {
      if (m.matchesEmpty) continue; // also matches series without the label: cannot narrow by postings
      const union = new Set<number>();
      for (const v of this.index.labelValues(m.name)) if (m.matches(v)) for (const id of this.index.postings(m.name, v)) union.add(id);
      const next = Uint32Array.from(union).sort();
      ids = ids === undefined ? next : intersect(ids, next);
      if (ids.length === 0) break;
    }
    return ids ?? this.index.allPostings();
  }

  /** Matching series (label order) with their chunks that overlap [minT, maxT] (inclusive). */
  series(matchers: readonly CompiledMatcher[], minT: number, maxT: number): SeriesChunkRefs[] {
    const out: SeriesChunkRefs[] = [];
    if (maxT < this.meta.minTime || minT >= this.meta.maxTime) return out;
    for (const id of this.candidates(matchers)) {
      const s = this.index.series(id);
      if (!matchesAll(s.labels, matchers)) continue;
      const chunks = s.chunks.filter((c) => c.maxT >= minT && c.minT <= maxT);
      if (chunks.length > 0) out.push({ labels: s.labels, chunks });
    }
    return out;
  }

  async chunk(ref: number): Promise<EncodedChunk> {
    try {
      return await this.chunks.read(ref);
    } catch (err) {
      asCorruptBlockError(err, this.dir);
    }
  }

  /** Every series with all its chunk bytes, in label order (what compaction reads). */
  async *allSeries(): AsyncGenerator<BlockSeries> {
    for (const id of this.index.allPostings()) {
      const s = this.index.series(id);
      const chunks = [];
      for (const c of s.chunks) chunks.push({ minT: c.minT, maxT: c.maxT, ...(await this.chunk(c.ref)) });
      yield { labels: s.labels, chunks };
    }
  }

  labelNames(): string[] {
    return this.index.labelNames();
  }

  labelValues(name: string): string[] {
    return this.index.labelValues(name);
  }

  async close(): Promise<void> {
    await this.chunks.close();
  }
}

function intersect(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i]! < b[j]!) i++;
    else if (a[i]! > b[j]!) j++;
    else {
      out.push(a[i]!);
      i++;
      j++;
    }
  }
  return Uint32Array.from(out);
}

// The chunk segment files of a block: chunks/000001, 000002, … (docs/tsdb-format.md §Chunks).
//
// File  = magic 0x85BD40DD (4 bytes BE) | version 1 (1 byte) | 3 zero bytes | chunk…
// Chunk = data length (uvarint) | encoding (1 byte) | data | CRC32C of encoding + data (4 bytes BE)
//
// A chunk is addressed by a reference: (file index, 0-based) · 2^32 + byte offset in that file,
// which is why a file stops growing before 512 MiB (offsets stay far below 2^32).
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '../../profiles/block/crc32c.js';
import { ByteWriter } from './bytes.js';

export const CHUNKS_DIR = 'chunks';
export const CHUNKS_MAGIC = 0x85bd40dd;
export const CHUNKS_FORMAT_VERSION = 1;
export const CHUNKS_HEADER_SIZE = 8;
/** A new segment file is started before one would exceed this. */
export const MAX_SEGMENT_SIZE = 512 * 1024 * 1024;
const TWO_32 = 2 ** 32;

/** Encoding byte of a chunk (Prometheus's numbering). */
export const ENCODING_XOR = 1;

export interface EncodedChunk {
  encoding: number;
  /** The chunk's data, without the encoding byte. */
  data: Uint8Array;
}

/** A chunk file is missing, truncated, or a checksum does not match; `file` names it. */
export class CorruptChunkError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

export const segmentName = (index: number): string => String(index + 1).padStart(6, '0');
export const chunkRef = (segment: number, offset: number): number => segment * TWO_32 + offset;
const refSegment = (ref: number): number => Math.floor(ref / TWO_32);
const refOffset = (ref: number): number => ref % TWO_32;

/**
 * Appends chunks to segment files in `dir` (the block's chunks/ folder, already created).
 * Buffers writes in memory up to 4 MiB at a time; `close()` fsyncs every file it wrote.
 */
export class ChunkWriter {
  private segment = -1;
  private file: FileHandle | undefined;
  private fileSize = 0;
  private pending = new ByteWriter(1 << 16);
  private readonly maxSegmentSize: number;

  constructor(
    private readonly dir: string,
    /** Tests pass a small size to exercise segment cuts. */
    options: { maxSegmentSize?: number } = {},
  ) {
    this.maxSegmentSize = options.maxSegmentSize ?? MAX_SEGMENT_SIZE;
  }

  /** Writes one chunk and returns its reference. */
  async write(chunk: EncodedChunk): Promise<number> {
    const size = varintSize(chunk.data.length) + 1 + chunk.data.length + 4;
    if (this.file === undefined || (this.fileSize + size > this.maxSegmentSize && this.fileSize > CHUNKS_HEADER_SIZE)) await this.cut();
    const ref = chunkRef(this.segment, this.fileSize);
    const w = this.pending;
    w.uvarint(chunk.data.length);
    const crcFrom = w.length;
    w.u8(chunk.encoding);
    w.bytes(chunk.data);
    w.be32(crc32c(w.view(crcFrom)));
    this.fileSize += size;
    if (w.length >= 4 << 20) await this.flush();
    return ref;
  }

  private async cut(): Promise<void> {
    await this.closeFile();
    this.segment++;
    this.file = await open(path.join(this.dir, segmentName(this.segment)), 'wx');
    this.pending.be32(CHUNKS_MAGIC);
    this.pending.u8(CHUNKS_FORMAT_VERSION);
    this.pending.bytes(new Uint8Array(3));
    this.fileSize = CHUNKS_HEADER_SIZE;
  }

  private async flush(): Promise<void> {
    if (this.file === undefined || this.pending.length === 0) return;
    await this.file.write(this.pending.finish());
    this.pending = new ByteWriter(1 << 16);
  }

  private async closeFile(): Promise<void> {
    if (this.file === undefined) return;
    await this.flush();
    await this.file.sync();
    await this.file.close();
    this.file = undefined;
  }

  /** Flushes, fsyncs and closes the last file. A block with no chunks has no chunk files. */
  async close(): Promise<void> {
    await this.closeFile();
  }
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** Reads chunks by reference from a block's segment files, checking each chunk's CRC. */
export class ChunkReader {
  private constructor(
    private readonly files: FileHandle[],
    private readonly names: string[],
    private readonly sizes: number[],
  ) {}

  /** Opens every segment file in `dir` and checks its header. */
  static async open(dir: string, segmentCount: number): Promise<ChunkReader> {
    const files: FileHandle[] = [];
    const names: string[] = [];
    const sizes: number[] = [];
    try {
      for (let i = 0; i < segmentCount; i++) {
        const name = path.join(dir, segmentName(i));
        const fh = await open(name, 'r').catch((err: NodeJS.ErrnoException) => {
          throw new CorruptChunkError(name, `cannot open: ${err.code ?? err.message}`);
        });
        files.push(fh);
        names.push(name);
        const size = (await fh.stat()).size;
        sizes.push(size);
        const header = Buffer.alloc(CHUNKS_HEADER_SIZE);
        const { bytesRead } = await fh.read(header, 0, CHUNKS_HEADER_SIZE, 0);
        if (bytesRead < CHUNKS_HEADER_SIZE) throw new CorruptChunkError(name, `shorter than the ${CHUNKS_HEADER_SIZE}-byte header`);
        if (header.readUInt32BE(0) !== CHUNKS_MAGIC) throw new CorruptChunkError(name, `bad magic 0x${header.readUInt32BE(0).toString(16)}`);
        if (header[4] !== CHUNKS_FORMAT_VERSION) throw new CorruptChunkError(name, `unknown version ${header[4]}`);
      }
    } catch (err) {
      await Promise.all(files.map((f) => f.close()));
      throw err;
    }
    return new ChunkReader(files, names, sizes);
  }

  /** The chunk at `ref`; its CRC is checked. */
  async read(ref: number): Promise<EncodedChunk> {
    const seg = refSegment(ref);
    const off = refOffset(ref);
    const fh = this.files[seg];
    const name = this.names[seg] ?? `chunk segment ${seg}`;
    if (fh === undefined) throw new CorruptChunkError(name, `chunk reference ${ref} names a missing segment file`);
    const size = this.sizes[seg]!;
    if (off < CHUNKS_HEADER_SIZE || off >= size) throw new CorruptChunkError(name, `chunk offset ${off} outside the file (${size} bytes)`);
    // Most chunks are ~100–1000 bytes: one read usually gets all of it.
    let buf = Buffer.allocUnsafe(Math.min(1024, size - off));
    await fh.read(buf, 0, buf.length, off);
    let len = 0;
    let mul = 1;
    let p = 0;
    for (; ; p++) {
      if (p >= buf.length || p >= 10) throw new CorruptChunkError(name, `bad chunk length varint at offset ${off}`);
      len += (buf[p]! & 0x7f) * mul;
      mul *= 0x80;
      if (buf[p]! < 0x80) break;
    }
    p++;
    const total = p + 1 + len + 4;
    if (off + total > size) throw new CorruptChunkError(name, `chunk at offset ${off} (${total} bytes) runs past the end of the file (${size} bytes)`);
    if (total > buf.length) {
      buf = Buffer.allocUnsafe(total);
      await fh.read(buf, 0, total, off);
    }
    const body = buf.subarray(p, p + 1 + len);
    const want = buf.readUInt32BE(p + 1 + len);
    if (crc32c(body) !== want) throw new CorruptChunkError(name, `checksum mismatch of the chunk at offset ${off}`);
    // A copy, so the caller does not keep the (larger) read buffer alive.
    const data = new Uint8Array(len);
    data.set(body.subarray(1));
    return { encoding: body[0]!, data };
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

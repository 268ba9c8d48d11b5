// Encoding of a row's samples in the profiles table's two BYTE_ARRAY columns
// (layout in docs/block-format.md §3.1). One blob per row instead of Parquet
// LISTs: hyparquet encodes and decodes lists element by element (Dremel
// levels), a blob is one byte string.
//
//   stacktrace_ids:    varints: first id, then id[k] - id[k-1] (each ≥ 1)
//   stacktrace_values: tag byte 0x00, then each value as an 8-byte LE double, or
//                      tag byte 0x01, then each value as a zigzag varint
//                      (written when every value is an integer of magnitude < 2^52)
//
// Varints because ids ascend in small steps and most values are small
// integers (counts, nanoseconds): 1–4 bytes instead of 4 and 8, which also
// halves the bytes Snappy has to compress.

import { ByteWriter, putVarint, putVarint32 } from './byte-writer.js';

export const VALUES_F64 = 0;
export const VALUES_ZIGZAG = 1;

/** Integers below this magnitude zigzag to at most 2^53 (exact in a double). */
const ZIGZAG_LIMIT = 2 ** 52;

/** Bytes of one arena chunk: blobs are views into chunks, not arrays of their own. */
const CHUNK = 64 * 1024;

/** BlobWriters whose blobs are no longer read, for the next encodes of this thread (see BlobWriter.take). */
const spareBlobWriters: BlobWriter[] = [];
/** Chunks a BlobWriter keeps for reuse (4 MiB): a 10,240-row group of a busy segment's blobs. */
const KEPT_CHUNKS = 64;

/**
 * Writes blobs back to back into shared chunks and returns views of them:
 * one allocation per 64 KiB instead of one per row. The chunks are written
 * again only after rewind(), when the blobs in them are no longer read.
 */
export class BlobWriter extends ByteWriter {
  private readonly chunks: Uint8Array[];
  private chunk = 0;

  constructor() {
    super(CHUNK);
    this.chunks = [this.buf];
  }

  /**
   * A writer with the chunks of a released one, when there is one: a
   * segment's blobs fill megabytes, and fresh chunks every segment cost page
   * faults and zeroing.
   */
  static take(): BlobWriter {
    return spareBlobWriters.pop() ?? new BlobWriter();
  }

  /** Starts again at the first chunk: the blobs written so far must no longer be read. */
  rewind(): void {
    this.chunk = 0;
    this.buf = this.chunks[0]!;
    this.pos = 0;
  }

  /** Rewinds and offers the writer to the next take(); keep no blob or writer reference afterwards. */
  release(): void {
    this.rewind();
    if (!spareBlobWriters.includes(this)) spareBlobWriters.push(this);
  }

  /**
   * Room for n more bytes in the current chunk, moving on to the next kept
   * one, or a new one. Past KEPT_CHUNKS new chunks are not kept: they are
   * left to the blobs in them, so a writer that is never rewound holds no more.
   */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = this.chunks[this.chunk + 1];
    if (next !== undefined && next.length >= n) {
      this.buf = next;
      this.chunk++;
    } else {
      this.buf = new Uint8Array(Math.max(n, CHUNK));
      if (this.chunks.length < KEPT_CHUNKS) this.chunks.splice(++this.chunk, 0, this.buf);
    }
    this.pos = 0;
  }

  /** Ids that are strictly ascending (canonical samples). */
  ids(ids: Uint32Array): Uint8Array {
    this.room(5 * ids.length);
    // Runs once per sample of every row of a block: buffer and position in locals.
    const b = this.buf;
    const start = this.pos;
    let p = start;
    let prev = 0;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      p = putVarint32(b, p, id - prev);
      prev = id;
    }
    this.pos = p;
    return b.subarray(start, p);
  }

  /** Finite values; the zigzag form when every one is an integer of magnitude < 2^52. */
  values(values: Float64Array): Uint8Array {
    let ints = true;
    for (let k = 0; k < values.length; k++) {
      const v = values[k]!;
      // -0 is an integer too, but zigzag would write it as 0 (1 / -0 is -Infinity).
      if (!(Number.isInteger(v) && v > -ZIGZAG_LIMIT && v < ZIGZAG_LIMIT) || (v === 0 && 1 / v < 0)) {
        ints = false;
        break;
      }
    }
    this.room(1 + 8 * values.length);
    const start = this.pos;
    if (!ints) {
      this.buf[this.pos++] = VALUES_F64;
      const dv = new DataView(this.buf.buffer, this.buf.byteOffset);
      for (let k = 0; k < values.length; k++, this.pos += 8) dv.setFloat64(this.pos, values[k]!, true);
      return this.buf.subarray(start, this.pos);
    }
    const b = this.buf;
    let p = start;
    b[p++] = VALUES_ZIGZAG;
    for (let k = 0; k < values.length; k++) {
      const v = values[k]!;
      p = putVarint(b, p, v >= 0 ? 2 * v : -2 * v - 1);
    }
    this.pos = p;
    return b.subarray(start, p);
  }
}

/** Number of varints in b[from..) (one final byte, below 0x80, each); -1 if the last one is cut off. */
function countVarints(b: Uint8Array, from: number): number {
  if (b.length > from && b[b.length - 1]! >= 0x80) return -1;
  let n = 0;
  for (let i = from; i < b.length; i++) if (b[i]! < 0x80) n++;
  return n;
}

/** Number of ids in an ids blob, or -1 if it is malformed. */
export function countIds(b: Uint8Array): number {
  return countVarints(b, 0);
}

/**
 * Decodes an ids blob into dst[at..), checking each id is above the previous
 * one and below `limit`. Returns an error message, or undefined. `b` must
 * have passed countIds, and `dst` have room for that many ids.
 */
export function decodeIds(b: Uint8Array, dst: Uint32Array, at: number, limit: number): string | undefined {
  let prev = 0;
  let k = at;
  let p = 0;
  while (p < b.length) {
    // Ends inside `b`: countIds checked the last byte.
    const v = readVarint(b, p);
    if (v < 0) return 'stack trace id delta is not a varint below 2^53';
    p = next;
    if (k > at && v === 0) return `stack trace ids not strictly increasing after ${prev}`;
    const id = prev + v;
    if (id >= limit) return `stack trace id ${id} out of range (${limit} stack traces)`;
    dst[k++] = id;
    prev = id;
  }
  return undefined;
}

/** Position after the varint last read by readVarint (a module variable: no allocation per call). */
let next = 0;

/**
 * Reads the varint at b[p]; returns it, or -1 when it is 2^53 or more.
 * The varint must end inside `b`. Sets `next`.
 */
function readVarint(b: Uint8Array, p: number): number {
  let byte = b[p++]!;
  let v = byte & 0x7f;
  // Up to four bytes (28 bits) in integer arithmetic: nearly every id delta and value.
  for (let shift = 7; byte >= 0x80 && shift < 28; shift += 7) {
    byte = b[p++]!;
    v |= (byte & 0x7f) << shift;
  }
  if (byte >= 0x80) {
    let mul = 2 ** 28;
    do {
      byte = b[p++]!;
      if (mul > 2 ** 49) return -1;
      v += (byte & 0x7f) * mul;
      mul *= 128;
    } while (byte >= 0x80);
    if (v >= 2 ** 53) return -1;
  }
  next = p;
  return v;
}

/** Number of values in a values blob, or -1 if it is malformed. */
export function countValues(b: Uint8Array): number {
  if (b.length === 0) return -1;
  if (b[0] === VALUES_F64) return (b.length - 1) % 8 === 0 ? (b.length - 1) / 8 : -1;
  if (b[0] === VALUES_ZIGZAG) return countVarints(b, 1);
  return -1;
}

/** Decodes a values blob that countValues accepted into dst[at..); returns an error message or undefined. */
export function decodeValues(b: Uint8Array, dst: Float64Array, at: number): string | undefined {
  let k = at;
  if (b[0] === VALUES_F64) {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let p = 1; p < b.length; p += 8) {
      const v = dv.getFloat64(p, true);
      if (!Number.isFinite(v)) return `stack trace value ${v} is not finite`;
      dst[k++] = v;
    }
    return undefined;
  }
  let p = 1;
  while (p < b.length) {
    const z = readVarint(b, p);
    if (z < 0) return 'stack trace value is not a varint below 2^53';
    p = next;
    dst[k++] = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  return undefined;
}

// A minimal protobuf wire writer and reader for the symbols section's large
// packed columns. Reflection-based toBinary/fromBinary spend most of their
// time per element (and need a BigInt per int64); these loops work on one
// growable Uint8Array. The output is the same bytes toBinary writes for the
// message (fields in number order, packed repeated scalars, empty ones left
// out), so block.v1.Symbols in the .proto still documents the section.

import { ByteWriter, TWO_32, putVarint } from './byte-writer.js';

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Bytes of the varint of any length below 2^35. */
const MAX_LENGTH_VARINT = 5;
/** Values written per capacity check (at most 10 bytes each). */
const CHUNK = 4096;

const utf8 = new TextEncoder();

export class ProtoWriter extends ByteWriter {
  constructor(initial = 1 << 16) {
    super(initial);
  }

  /** The 10-byte two's-complement varint of a negative safe integer (int64 wire form). */
  private negVarint(v: number): void {
    let x = BigInt.asUintN(64, BigInt(v));
    const b = this.buf;
    let p = this.pos;
    while (x > 0x7fn) {
      b[p++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    b[p++] = Number(x);
    this.pos = p;
  }

  private tag(field: number, wire: number): void {
    this.ensure(5);
    this.varint(field * 8 + wire);
  }

  /** Repeated string field: one length-delimited record per string, "" included. */
  strings(field: number, values: readonly string[]): void {
    for (const s of values) {
      this.tag(field, WIRE_LEN);
      // At most 3 UTF-8 bytes per UTF-16 unit (a surrogate pair is 4 bytes for 2 units).
      const max = s.length * 3;
      const room = varintSize(max);
      this.ensure(room + max);
      // Encode after room for the longest length, then move back if the length is shorter.
      const at = this.pos;
      const { written } = utf8.encodeInto(s, this.buf.subarray(at + room));
      this.varint(written);
      if (this.pos !== at + room) this.buf.copyWithin(this.pos, at + room, at + room + written);
      this.pos += written;
    }
  }

  /**
   * Packed repeated varint field (uint32, uint64 or int64). Values must be
   * integers in range; negatives are written as int64 (10 bytes).
   */
  packed(field: number, values: ArrayLike<number>): void {
    const n = values.length;
    if (n === 0) return;
    this.tag(field, WIRE_LEN);
    // Values first, after room for the longest length varint; the data is
    // moved back once its length is known (one memmove instead of a sizing pass).
    const lengthAt = this.pos;
    this.pos += MAX_LENGTH_VARINT;
    const start = this.pos;
    for (let from = 0; from < n; from += CHUNK) {
      const to = Math.min(n, from + CHUNK);
      this.ensure((to - from) * 10);
      const b = this.buf;
      let p = this.pos;
      for (let i = from; i < to; i++) {
        const v = values[i]!;
        if (v >= 0) {
          p = putVarint(b, p, v);
        } else {
          this.pos = p;
          this.negVarint(v);
          p = this.pos;
        }
      }
      this.pos = p;
    }
    const size = this.pos - start;
    this.pos = lengthAt;
    this.varint(size);
    if (this.pos !== start) this.buf.copyWithin(this.pos, start, start + size);
    this.pos += size;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

function varintSize(v: number): number {
  if (v < 0) return 10;
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x20_0000) return 3;
  if (v < 0x1000_0000) return 4;
  let n = 5;
  for (let x = Math.floor(v / 2 ** 35); x > 0; x = Math.floor(x / 128)) n++;
  return n;
}

/** How a packed varint column is turned into numbers. */
export type VarintKind = 'uint32' | 'uint64' | 'int64';

export class ProtoError extends Error {}

const utf8Decoder = new TextDecoder();

/**
 * Reads a message field by field. Every read is bounds-checked and throws
 * ProtoError on malformed input; nothing can loop without consuming bytes.
 */
export class ProtoReader {
  pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** High 32 bits of the last varint read by readVarint. */
  private hi = 0;

  /** Reads a varint that ends before `limit`: returns its low 32 bits and leaves the high ones in `hi`. */
  private readVarint(limit: number): number {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    for (let shift = 0; ; shift += 7) {
      if (p >= limit) throw new ProtoError('truncated varint');
      const byte = b[p++]!;
      if (shift < 28) lo |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (byte & 0x0f) << 28;
        hi = (byte & 0x7f) >>> 4;
      } else if (shift < 63) hi |= (byte & 0x7f) << (shift - 32);
      else if (shift === 63) hi |= (byte & 1) << 31;
      else throw new ProtoError('varint longer than 10 bytes');
      if (byte < 0x80) break;
    }
    this.pos = p;
    this.hi = hi >>> 0;
    return lo >>> 0;
  }

  /** A varint as a uint32 (protobuf keeps the low 32 bits). */
  uint32(): number {
    return this.readVarint(this.buf.length);
  }

  /** The number of the varint just read, as Number(bigint) would give it (one rounding). */
  private widen(lo: number, kind: VarintKind): number {
    const hi = this.hi;
    if (kind === 'uint32' || hi === 0) return lo;
    if (kind === 'int64' && hi >= 0x8000_0000) return (hi - TWO_32) * TWO_32 + lo;
    return hi * TWO_32 + lo;
  }

  /** Reads a tag: [field number, wire type]. */
  tag(): [number, number] {
    const t = this.uint32();
    const field = t >>> 3;
    if (field === 0) throw new ProtoError('field number 0');
    return [field, t & 7];
  }

  private length(): number {
    const n = this.uint32();
    if (n > this.buf.length - this.pos) throw new ProtoError(`length ${n} overruns the message`);
    return n;
  }

  string(): string {
    const n = this.length();
    const s = utf8Decoder.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }

  /**
   * Reads a repeated varint field's record, packed (wire type 2) or not (0),
   * and returns `out` with its values appended (a new array when `out` is empty).
   */
  varints(wire: number, kind: VarintKind, out: number[]): number[] {
    if (wire === WIRE_VARINT) {
      out.push(this.widen(this.readVarint(this.buf.length), kind));
      return out;
    }
    if (wire !== WIRE_LEN) throw new ProtoError(`wire type ${wire} for a varint field`);
    const n = this.length();
    const end = this.pos + n;
    const b = this.buf;
    // Count the values first (one final byte each) so `out` grows once.
    let count = 0;
    for (let i = this.pos; i < end; i++) if (b[i]! < 0x80) count++;
    // A fresh array of the final size: growing `out` itself could turn it sparse.
    const vals: number[] = new Array(count);
    let k = 0;
    let p = this.pos;
    while (p < end) {
      // One- and two-byte varints inline: most indexes are below 2^14.
      const b0 = b[p]!;
      if (b0 < 0x80) {
        vals[k++] = b0;
        p++;
        continue;
      }
      if (p + 1 < end && b[p + 1]! < 0x80) {
        vals[k++] = (b0 & 0x7f) | (b[p + 1]! << 7);
        p += 2;
        continue;
      }
      this.pos = p;
      const lo = this.readVarint(end);
      vals[k++] = this.widen(lo, kind);
      p = this.pos;
    }
    this.pos = p;
    if (out.length === 0) return vals;
    for (let i = 0; i < count; i++) out.push(vals[i]!);
    return out;
  }

  /** Skips a field of an unknown number. */
  skip(wire: number): void {
    let n: number;
    if (wire === WIRE_VARINT) {
      this.readVarint(this.buf.length);
      return;
    } else if (wire === WIRE_I64) n = 8;
    else if (wire === WIRE_LEN) n = this.length();
    else if (wire === WIRE_I32) n = 4;
    else throw new ProtoError(`unsupported wire type ${wire}`);
    if (n > this.buf.length - this.pos) throw new ProtoError('field overruns the message');
    this.pos += n;
  }
}

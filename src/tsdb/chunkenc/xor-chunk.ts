// XOR float chunks, byte-compatible with Prometheus's chunkenc XOR encoding (spec/tsdb.md §6).
//
// Chunk bytes (what Prometheus's Chunk.Bytes() returns, and what block chunk files store after
// the encoding byte ENCODING_XOR = 1):
//
//   [0..1]  sample count, uint16 big-endian (rewritten on every append)
//   then a bit stream, most significant bit first:
//   sample 0: timestamp as a signed varint (zig-zag, Go's PutVarint), value as raw 64 bits
//   sample 1: timestamp delta as an unsigned varint, value XOR-encoded (below)
//   sample n: delta-of-delta `dod` of the timestamp in the first bucket that holds it:
//               '0'                 dod = 0
//               '10'   + 14 bits    −8191 ≤ dod ≤ 8192      (two's complement in the field)
//               '110'  + 17 bits    −65535 ≤ dod ≤ 65536
//               '1110' + 20 bits    −524287 ≤ dod ≤ 524288
//               '1111' + 64 bits    anything else
//             then the value XOR-encoded.
//
//   XOR value, x = bits(v) ^ bits(previous v):
//     '0'                          x = 0 (same value, bit for bit)
//     '10' + meaningful bits       x fits the previous leading/trailing-zero window; the bits
//                                  between the window's edges are written
//     '11' + 5 bits leading zeros (clamped to 31) + 6 bits significant-bit count (64 is written
//          as 0) + the significant bits; this becomes the new window
//
// The varints of samples 0 and 1 are byte-aligned in practice (they follow the 2-byte header
// and a 64-bit value), but the writer does not rely on it.
//
// Timestamps are JS numbers holding int64 milliseconds; every integer the encoder handles stays
// within ±2^53, so the 64-bit fields are split into two 32-bit words arithmetically.

import { BitReader, ChunkDecodeError } from './bit-reader.js';
import { BitWriter } from './bit-writer.js';
import { HI, LO, floatToBits, bitsHi, bitsLo, wordsOf } from './float-bits.js';

export { ChunkDecodeError } from './bit-reader.js';

/** Encoding byte of XOR float chunks in Prometheus chunk files (histogram = 2, float histogram = 3). */
export const ENCODING_XOR = 1;
/** Samples a head chunk aims for (Prometheus's samplesPerChunk). */
export const SAMPLES_PER_CHUNK = 120;
/** A chunk is cut at twice the target whatever its time span. */
export const MAX_SAMPLES_PER_CHUNK = 2 * SAMPLES_PER_CHUNK;
/** ...or once its bytes reach this size (Prometheus's maxBytesPerXORChunk). */
export const MAX_BYTES_PER_CHUNK = 1024;

const HEADER_BYTES = 2;
const TWO_32 = 4294967296;
/** Marks "no leading/trailing window yet" (Prometheus uses 0xff the same way). */
const NO_WINDOW = 0xff;

/** Number of leading zero bits of the 64-bit word hi:lo (not 0). */
function clz64(hi: number, lo: number): number {
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
}

/** Number of trailing zero bits of the 64-bit word hi:lo (not 0). */
function ctz64(hi: number, lo: number): number {
  if (lo !== 0) return 31 - Math.clz32(lo & -lo);
  return 63 - Math.clz32(hi & -hi);
}

/** Appends samples (timestamps strictly ascending) to one XOR chunk. */
export class XorAppender {
  private readonly w: BitWriter;
  private n = 0;
  private t = 0;
  private tDelta = 0;
  private vHi = 0;
  private vLo = 0;
  private leading = NO_WINDOW;
  private trailing = 0;
  /** Timestamp of the first sample (valid once numSamples > 0). */
  minT = 0;

  constructor(initialBytes = 32) {
    this.w = new BitWriter(initialBytes, HEADER_BYTES * 8);
  }

  /** Starts an empty chunk in the same buffer (after the closed one's bytes were copied). */
  reset(): void {
    this.w.reset(HEADER_BYTES * 8);
    this.n = 0;
    this.t = 0;
    this.tDelta = 0;
    this.vHi = 0;
    this.vLo = 0;
    this.leading = NO_WINDOW;
    this.trailing = 0;
    this.minT = 0;
  }

  get numSamples(): number {
    return this.n;
  }
  /** Timestamp of the newest sample. */
  get maxT(): number {
    return this.t;
  }
  /** High word of the newest sample's value. */
  get lastHi(): number {
    return this.vHi;
  }
  get lastLo(): number {
    return this.vLo;
  }
  get byteLength(): number {
    return this.w.byteLength;
  }

  /** The chunk's bytes without copying; valid until the next append. */
  view(): Uint8Array {
    return this.w.bytes.subarray(0, this.w.byteLength);
  }

  /** A right-sized copy of the chunk's bytes (what a closed chunk keeps). */
  bytes(): Uint8Array {
    return this.w.toBytes();
  }

  /** Appends a value given as a number (NaN payloads: see float-bits.ts). */
  append(t: number, v: number): void {
    floatToBits(v);
    this.appendBits(t, bitsHi, bitsLo);
  }

  /** Appends a value given as its two 32-bit words. */
  appendBits(t: number, hi: number, lo: number): void {
    const w = this.w;
    if (this.n === 0) {
      w.writeVarint(t);
      w.writeBits(hi, 32);
      w.writeBits(lo, 32);
      this.minT = t;
    } else if (this.n === 1) {
      const tDelta = t - this.t;
      w.writeUvarint(tDelta);
      this.writeValue(hi, lo);
      this.tDelta = tDelta;
    } else {
      const tDelta = t - this.t;
      const dod = tDelta - this.tDelta;
      if (dod === 0) {
        w.writeBits(0, 1);
      } else if (dod >= -8191 && dod <= 8192) {
        w.writeBits(0b10, 2);
        w.writeBits(dod & 0x3fff, 14);
      } else if (dod >= -65535 && dod <= 65536) {
        w.writeBits(0b110, 3);
        w.writeBits(dod & 0x1ffff, 17);
      } else if (dod >= -524287 && dod <= 524288) {
        w.writeBits(0b1110, 4);
        w.writeBits(dod & 0xfffff, 20);
      } else {
        w.writeBits(0b1111, 4);
        const hiWord = Math.floor(dod / TWO_32);
        w.writeBits(hiWord >>> 0, 32);
        w.writeBits((dod - hiWord * TWO_32) >>> 0, 32);
      }
      this.writeValue(hi, lo);
      this.tDelta = tDelta;
    }
    this.t = t;
    this.vHi = hi;
    this.vLo = lo;
    this.n++;
    const bytes = w.bytes;
    bytes[0] = this.n >>> 8;
    bytes[1] = this.n & 0xff;
  }

  private writeValue(hi: number, lo: number): void {
    const w = this.w;
    const xHi = (hi ^ this.vHi) >>> 0;
    const xLo = (lo ^ this.vLo) >>> 0;
    if (xHi === 0 && xLo === 0) {
      w.writeBits(0, 1);
      return;
    }
    let leading = clz64(xHi, xLo);
    const trailing = ctz64(xHi, xLo);
    // The field has 5 bits; more leading zeros are written as 31 (the extra zeros become
    // meaningful bits).
    if (leading >= 32) leading = 31;
    if (this.leading !== NO_WINDOW && leading >= this.leading && trailing >= this.trailing) {
      w.writeBits(0b10, 2);
      writeShiftedRight(w, xHi, xLo, this.trailing, 64 - this.leading - this.trailing);
      return;
    }
    this.leading = leading;
    this.trailing = trailing;
    const sig = 64 - leading - trailing;
    w.writeBits(0b11, 2);
    w.writeBits(leading, 5);
    // 64 significant bits do not fit 6 bits; they are written as 0 and read back as 64.
    w.writeBits(sig & 0x3f, 6);
    writeShiftedRight(w, xHi, xLo, trailing, sig);
  }
}

/** Writes the low `n` bits of (hi:lo >>> shift). */
function writeShiftedRight(w: BitWriter, hi: number, lo: number, shift: number, n: number): void {
  if (shift >= 32) {
    lo = hi >>> (shift - 32);
    hi = 0;
  } else if (shift > 0) {
    lo = ((lo >>> shift) | (hi << (32 - shift))) >>> 0;
    hi = hi >>> shift;
  }
  w.write64(hi, lo, n);
}

/** Number of samples a chunk announces in its header. */
export function chunkNumSamples(bytes: Uint8Array): number {
  if (bytes.length < HEADER_BYTES) throw new ChunkDecodeError(`chunk of ${bytes.length} bytes has no sample count`);
  return (bytes[0]! << 8) | bytes[1]!;
}

/**
 * Walks a chunk's samples: `while (it.next()) use(it.t, it.hi, it.lo)`. Throws
 * ChunkDecodeError when the bytes end before the announced sample count.
 */
export class XorIterator {
  /** Timestamp of the current sample. */
  t = 0;
  /** Words of the current sample's value. */
  hi = 0;
  lo = 0;
  private readonly r: BitReader;
  private readonly total: number;
  private read = 0;
  private tDelta = 0;
  private leading = 0;
  private trailing = 0;

  constructor(bytes: Uint8Array) {
    this.total = chunkNumSamples(bytes);
    this.r = new BitReader(bytes, HEADER_BYTES * 8);
  }

  get numSamples(): number {
    return this.total;
  }

  next(): boolean {
    if (this.read >= this.total) return false;
    const r = this.r;
    if (this.read === 0) {
      this.t = r.readVarint();
      this.hi = r.readBits(32);
      this.lo = r.readBits(32);
    } else if (this.read === 1) {
      this.tDelta = r.readUvarint();
      this.t += this.tDelta;
      this.readValue();
    } else {
      let prefix = 0;
      for (let i = 0; i < 4; i++) {
        prefix = (prefix << 1) | r.readBit();
        if ((prefix & 1) === 0) break;
      }
      let dod = 0;
      switch (prefix) {
        case 0b0:
          break;
        case 0b10:
          dod = signExtend(r.readBits(14), 14);
          break;
        case 0b110:
          dod = signExtend(r.readBits(17), 17);
          break;
        case 0b1110:
          dod = signExtend(r.readBits(20), 20);
          break;
        default: {
          const hi = r.readBits(32) | 0;
          dod = hi * TWO_32 + r.readBits(32);
        }
      }
      this.tDelta += dod;
      this.t += this.tDelta;
      this.readValue();
    }
    this.read++;
    return true;
  }

  /** The current value as a number (NaN payloads: see float-bits.ts). */
  get value(): number {
    return wordsToNumber(this.hi, this.lo);
  }

  private readValue(): void {
    const r = this.r;
    if (r.readBit() === 0) return;
    if (r.readBit() === 1) {
      this.leading = r.readBits(5);
      let sig = r.readBits(6);
      if (sig === 0) sig = 64;
      this.trailing = 64 - this.leading - sig;
    }
    const sig = 64 - this.leading - this.trailing;
    let hi = sig > 32 ? r.readBits(sig - 32) : 0;
    let lo = r.readBits(sig > 32 ? 32 : sig);
    const s = this.trailing;
    if (s >= 32) {
      hi = lo << (s - 32);
      lo = 0;
    } else if (s > 0) {
      hi = (hi << s) | (lo >>> (32 - s));
      lo = lo << s;
    }
    this.hi = (this.hi ^ hi) >>> 0;
    this.lo = (this.lo ^ lo) >>> 0;
  }
}

/** A field of `n` bits as written by the encoder: values above 2^(n−1) are negative. */
function signExtend(bits: number, n: number): number {
  return bits > 1 << (n - 1) ? bits - (1 << n) : bits;
}

const W_F64 = new Float64Array(1);
const W_U32 = wordsOf(W_F64);
function wordsToNumber(hi: number, lo: number): number {
  W_U32[HI] = hi;
  W_U32[LO] = lo;
  return W_F64[0]!;
}

/** Decoded samples of a chunk. Values are written word by word, so NaN payloads are exact. */
export interface DecodedChunk {
  timestamps: Float64Array;
  values: Float64Array;
}

/** Decodes a whole chunk. */
export function decodeXorChunk(bytes: Uint8Array): DecodedChunk {
  const it = new XorIterator(bytes);
  const n = it.numSamples;
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  const words = wordsOf(values);
  for (let i = 0; it.next(); i++) {
    timestamps[i] = it.t;
    words[2 * i + HI] = it.hi;
    words[2 * i + LO] = it.lo;
  }
  return { timestamps, values };
}

/** Encodes samples (timestamps ascending) into one chunk; values are copied word by word. */
export function encodeXorChunk(timestamps: ArrayLike<number>, values: Float64Array): Uint8Array {
  const app = new XorAppender(Math.max(32, timestamps.length * 2));
  const words = wordsOf(values);
  for (let i = 0; i < timestamps.length; i++) app.appendBits(timestamps[i]!, words[2 * i + HI]!, words[2 * i + LO]!);
  return app.bytes();
}

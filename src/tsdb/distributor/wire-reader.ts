// A minimal protobuf wire-format reader for the remote-write decoders (remote-write-v1.ts,
// remote-write-v2.ts). It reads one message's fields between two offsets of one buffer and
// never allocates for scalars. Every length is checked against the bytes that are left before
// anything is sliced or allocated, so a hostile body cannot make us reserve more memory than
// its own size; any malformation throws RemoteWriteDecodeError (→ HTTP 400).

import { isUtf8 } from 'node:buffer';

export class RemoteWriteDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteWriteDecodeError';
  }
}

/** Wire types (the low 3 bits of a tag). Groups (3, 4) are obsolete and never valid here. */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;

export class WireReader {
  pos: number;
  end: number;
  readonly buf: Buffer;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  /** Re-points the reader at another range of the same buffer (saves an object per message). */
  reset(start: number, end: number): void {
    this.pos = start;
    this.end = end;
  }

  more(): boolean {
    return this.pos < this.end;
  }

  /**
   * An unsigned varint as a number. Exact below 2^53, which covers every length, index and
   * millisecond timestamp we accept; larger values come back rounded (only timestamps can be
   * that large, and int64() handles them).
   */
  varint(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < this.end) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= this.end) throw new RemoteWriteDecodeError('truncated varint');
      const b = buf[pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
      mul *= 128;
    }
    throw new RemoteWriteDecodeError('varint longer than 10 bytes');
  }

  /** A field tag; field number 0 is invalid in protobuf. */
  tag(): number {
    const tag = this.varint();
    if (tag < 8) throw new RemoteWriteDecodeError(`invalid field number 0 at offset ${this.pos}`);
    return tag;
  }

  /** An int64 (two's complement varint, not zigzag) as a number: negatives take 10 bytes. */
  int64(): number {
    const start = this.pos;
    const n = this.varint();
    if (n < 2 ** 53) return n;
    let x = 0n;
    for (let i = this.pos - 1; i >= start; i--) x = (x << 7n) | BigInt(this.buf[i]! & 0x7f);
    return Number(BigInt.asIntN(64, x));
  }

  /** A zigzag-encoded sint32/sint64. */
  sint(): number {
    const n = this.varint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  /** Skips 8 bytes of a fixed64/double and returns the offset they start at. */
  fixed64Offset(): number {
    const at = this.pos;
    if (at + 8 > this.end) throw new RemoteWriteDecodeError('truncated 64-bit field');
    this.pos = at + 8;
    return at;
  }

  double(): number {
    return this.buf.readDoubleLE(this.fixed64Offset());
  }

  /** Reads a length prefix and returns the payload's end; `pos` is left at its start. */
  lenEnd(): number {
    const n = this.varint();
    if (n > this.end - this.pos) throw new RemoteWriteDecodeError(`length ${n} runs past the end of its message`);
    return this.pos + n;
  }

  /** Reads a UTF-8 string field. Invalid UTF-8 is kept (with U+FFFD) and reported through `onInvalid`. */
  string(onInvalid?: () => void): string {
    const end = this.lenEnd();
    const start = this.pos;
    this.pos = end;
    return decodeUtf8(this.buf, start, end, onInvalid);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case I64:
        this.fixed64Offset();
        return;
      case LEN:
        this.pos = this.lenEnd();
        return;
      case I32:
        if (this.pos + 4 > this.end) throw new RemoteWriteDecodeError('truncated 32-bit field');
        this.pos += 4;
        return;
      default:
        throw new RemoteWriteDecodeError(`unsupported wire type ${wireType}`);
    }
  }

  /** Throws unless `tag` has the wire type `expected` (a known field sent with the wrong type). */
  expect(tag: number, expected: number, what: string): void {
    if ((tag & 7) !== expected) throw new RemoteWriteDecodeError(`${what}: wire type ${tag & 7}, expected ${expected}`);
  }
}

// Short ASCII strings (label names and values repeat in every request) are interned in a small
// direct-mapped cache keyed by a hash of their bytes: a hit returns the string decoded earlier,
// so steady-state requests allocate no label strings (less garbage, and the head's symbol-table
// lookups reuse the hash V8 caches on the string). A miss decodes as before and takes the slot.
// Bounded: CACHE_SLOTS strings of at most CACHE_MAX_BYTES bytes.
const CACHE_SLOTS = 1 << 16;
const CACHE_MAX_BYTES = 64;
const cache: Array<string | undefined> = new Array<string | undefined>(CACHE_SLOTS).fill(undefined);

/**
 * Decodes bytes as UTF-8. Protobuf strings must be UTF-8, but Mimir reports an invalid label
 * value as a validation error of that one series rather than failing the request, so the
 * decoder keeps going and lets the caller flag the series. ASCII (nearly every label) takes
 * Node's latin1 path, which is the fastest string constructor, or the intern cache above.
 */
export function decodeUtf8(buf: Buffer, start: number, end: number, onInvalid?: () => void): string {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b >= 0x80) {
      if (onInvalid && !isUtf8(buf.subarray(start, end))) onInvalid();
      return buf.toString('utf8', start, end);
    }
    h = Math.imul(h ^ b, 0x01000193);
  }
  const n = end - start;
  if (n > CACHE_MAX_BYTES) return buf.toString('latin1', start, end);
  const slot = (h ^ (h >>> 16)) & (CACHE_SLOTS - 1);
  const hit = cache[slot];
  if (hit !== undefined && hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === buf[start + i]) i++;
    if (i === n) return hit;
  }
  const s = buf.toString('latin1', start, end);
  cache[slot] = s;
  return s;
}

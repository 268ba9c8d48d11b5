// A growable byte buffer with varint writing, shared by the protobuf writer
// of the symbols section (pbwire.ts) and the sample blobs (samples.ts).

export const TWO_32 = 0x1_0000_0000;

/**
 * Writes v, an integer in [0, 2^32), as a varint at b[p] (room ensured);
 * returns the position after it. A plain function, small enough for V8 to
 * inline into the loops that write a column or a blob, where a method call
 * per value (this.buf, this.pos) cost more than the bytes.
 */
export function putVarint32(b: Uint8Array, p: number, v: number): number {
  while (v > 0x7f) {
    b[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[p++] = v;
  return p;
}

/** Like putVarint32, for any non-negative integer below 2^64 (exact for any integral double). */
export function putVarint(b: Uint8Array, p: number, v: number): number {
  if (v < TWO_32) return putVarint32(b, p, v);
  // Above 2^32 bit operations truncate; division by 128 is exact for integral doubles.
  while (v >= TWO_32) {
    b[p++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  return putVarint32(b, p, v);
}

export class ByteWriter {
  protected buf: Uint8Array;
  protected pos = 0;

  constructor(initial: number) {
    this.buf = new Uint8Array(initial);
  }

  /** Makes room for n more bytes. */
  protected ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }

  /** A varint of a non-negative integer below 2^64 (exact for any integral double); room must be ensured. */
  protected varint(v: number): void {
    this.pos = putVarint(this.buf, this.pos, v);
  }
}

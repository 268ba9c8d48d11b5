// A growable byte buffer with varint writing, shared by the protobuf writer
// of the symbols section (pbwire.ts) and the sample blobs (samples.ts).

const TWO_32 = 0x1_0000_0000;

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
    const b = this.buf;
    let p = this.pos;
    if (v < TWO_32) {
      v >>>= 0;
      while (v > 0x7f) {
        b[p++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      // Above 2^32 bit operations truncate; division by 128 is exact for integral doubles.
      while (v > 0x7f) {
        b[p++] = (v % 128) | 0x80;
        v = Math.floor(v / 128);
      }
    }
    b[p++] = v;
    this.pos = p;
  }
}

// Byte-level building blocks of the block format (docs/tsdb-format.md): a growable writer and a
// bounds-checked reader for big-endian fixed-width integers, Go-style varints and strings.
//
// Values that are 64-bit in Prometheus (timestamps, chunk references) are JavaScript numbers
// here: every one we write is below 2^53 (ms timestamps, seq·2^32 + offset), so the varint code
// uses arithmetic instead of 32-bit bit operations above 2^31.

const TWO_32 = 2 ** 32;

/** Thrown by ByteReader when a read runs past its end or a varint is malformed. */
export class ByteRangeError extends Error {}

export class ByteWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.len;
  }

  /** Forgets what was written, keeping the buffer for reuse. */
  reset(): void {
    this.len = 0;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  be32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }

  /** Big-endian unsigned 64-bit; v must be a safe non-negative integer. */
  be64(v: number): void {
    this.ensure(8);
    this.buf.writeUInt32BE(Math.floor(v / TWO_32), this.len);
    this.buf.writeUInt32BE(v % TWO_32, this.len + 4);
    this.len += 8;
  }

  /** Unsigned LEB128 (Go's binary.PutUvarint). */
  uvarint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`uvarint out of range: ${v}`);
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  /** Zig-zag signed varint (Go's binary.PutVarint). */
  varint(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`varint out of range: ${v}`);
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** uvarint byte length, then the UTF-8 bytes. */
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.uvarint(b.length);
    this.bytes(b);
  }

  /** Zero bytes until the length is a multiple of `align`. */
  pad(align: number): void {
    while (this.len % align !== 0) this.u8(0);
  }

  /** Overwrites 4 bytes at `at` (used to fill in a length once the section is written). */
  patchBe32(at: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, at);
  }

  /** A view of the bytes written in [from, to). */
  view(from = 0, to = this.len): Buffer {
    return this.buf.subarray(from, to);
  }

  /** The bytes written so far (a view; copy it before writing more if you keep it). */
  finish(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

export class ByteReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
    /** Reads past this offset fail (a section's end, not the buffer's). */
    readonly end = buf.length,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new ByteRangeError(`read of ${n} bytes at ${this.pos} past end ${this.end}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  be32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  be64(): number {
    this.need(8);
    const v = this.buf.readUInt32BE(this.pos) * TWO_32 + this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    if (!Number.isSafeInteger(v)) throw new ByteRangeError(`64-bit value above 2^53 at ${this.pos - 8}`);
    return v;
  }

  uvarint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) throw new ByteRangeError(`varint above 2^53 ending at ${this.pos}`);
        return v;
      }
      mul *= 0x80;
    }
    throw new ByteRangeError(`varint longer than 10 bytes ending at ${this.pos}`);
  }

  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  string(): string {
    return this.bytes(this.uvarint()).toString('utf8');
  }
}

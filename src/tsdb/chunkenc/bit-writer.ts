// A growable bit stream written most-significant bit first, the order Prometheus's chunk
// encoder uses: the first bit written is bit 7 of byte 0. Unused low bits of the last byte are
// zero. Values are passed as (value, bit count) with at most 32 bits per call so the hot path
// stays on 32-bit integer arithmetic; 64-bit fields are written as two calls.

export class BitWriter {
  /** Backing store; only the first `byteLength` bytes are meaningful. */
  bytes: Uint8Array;
  /** Bits written so far, counted from the start of `bytes`. */
  bitLength: number;

  constructor(initialBytes = 32, startBit = 0) {
    this.bytes = new Uint8Array(Math.max(initialBytes, (startBit >>> 3) + 1));
    this.bitLength = startBit;
  }

  /** Forgets what was written (zeroing it) and continues at `startBit`, keeping the buffer. */
  reset(startBit = 0): void {
    this.bytes.fill(0, 0, this.byteLength);
    this.bitLength = startBit;
  }

  get byteLength(): number {
    return (this.bitLength + 7) >>> 3;
  }

  /** Writes the low `n` bits of `value` (0 ≤ n ≤ 32), most significant first. */
  writeBits(value: number, n: number): void {
    if (((this.bitLength + n + 7) >>> 3) > this.bytes.length) this.grow((this.bitLength + n + 7) >>> 3);
    const bytes = this.bytes;
    let pos = this.bitLength;
    if (n === 0) return;
    if (n <= 24) {
      // Fast path (nearly every call): the bits and the used part of the current byte fit one
      // 32-bit window. Bytes past bitLength are still zero, so they are assigned, not or-ed.
      const off = pos & 7;
      const at = pos >>> 3;
      const end = off + n;
      const w = ((value & ((1 << n) - 1)) << (32 - end)) | 0;
      bytes[at]! |= w >>> 24;
      if (end > 8) bytes[at + 1] = (w >>> 16) & 0xff;
      if (end > 16) bytes[at + 2] = (w >>> 8) & 0xff;
      if (end > 24) bytes[at + 3] = w & 0xff;
      this.bitLength = pos + n;
      return;
    }
    while (n > 0) {
      const free = 8 - (pos & 7);
      const take = free < n ? free : n;
      const shift = n - take;
      const bits = (value >>> shift) & ((1 << take) - 1);
      bytes[pos >>> 3]! |= bits << (free - take);
      pos += take;
      n = shift;
    }
    this.bitLength = pos;
  }

  writeBit(bit: number): void {
    this.writeBits(bit, 1);
  }

  /** Writes `n` (≤ 64) low bits of the 64-bit word hi:lo. */
  write64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.writeBits(hi, n - 32);
      this.writeBits(lo, 32);
    } else {
      this.writeBits(lo, n);
    }
  }

  writeByte(b: number): void {
    this.writeBits(b & 0xff, 8);
  }

  /** Go's binary.PutUvarint: 7 bits per byte, low group first, high bit = more. For 0 ≤ v ≤ 2^53. */
  writeUvarint(v: number): void {
    while (v >= 0x80) {
      this.writeByte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.writeByte(v);
  }

  /** Go's binary.PutVarint: zig-zag then uvarint. Arithmetic, not bitwise: |v| may exceed 2^31. */
  writeVarint(v: number): void {
    this.writeUvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** A copy of the written bytes, exactly `byteLength` long. */
  toBytes(): Uint8Array {
    return this.bytes.slice(0, this.byteLength);
  }

  private grow(minBytes: number): void {
    let size = this.bytes.length * 2;
    while (size < minBytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes);
    this.bytes = next;
  }
}

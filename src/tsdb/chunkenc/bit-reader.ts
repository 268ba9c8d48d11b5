// Reads a bit stream written by BitWriter (most significant bit first). Reading past the end
// throws: a chunk that announces more samples than its bytes hold is corrupt, not short.

export class ChunkDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChunkDecodeError';
  }
}

export class BitReader {
  private readonly bytes: Uint8Array;
  private pos: number;
  private readonly endBit: number;

  constructor(bytes: Uint8Array, startBit = 0) {
    this.bytes = bytes;
    this.pos = startBit;
    this.endBit = bytes.length * 8;
  }

  /** Reads `n` bits (0 ≤ n ≤ 32) as an unsigned integer. */
  readBits(n: number): number {
    if (this.pos + n > this.endBit) throw new ChunkDecodeError(`chunk ends after ${this.endBit} bits; needed ${n} more at bit ${this.pos}`);
    const bytes = this.bytes;
    let pos = this.pos;
    let out = 0;
    while (n > 0) {
      const avail = 8 - (pos & 7);
      const take = avail < n ? avail : n;
      const bits = (bytes[pos >>> 3]! >>> (avail - take)) & ((1 << take) - 1);
      // Multiply, not shift: with n = 32 the intermediate exceeds int32.
      out = out * (1 << take) + bits;
      pos += take;
      n -= take;
    }
    this.pos = pos;
    return out;
  }

  readBit(): number {
    if (this.pos >= this.endBit) throw new ChunkDecodeError(`chunk ends after ${this.endBit} bits`);
    const b = (this.bytes[this.pos >>> 3]! >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }

  readByte(): number {
    return this.readBits(8);
  }

  /** Inverse of BitWriter.writeUvarint (values up to 2^53). */
  readUvarint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.readByte();
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    throw new ChunkDecodeError('uvarint longer than 10 bytes');
  }

  /** Inverse of BitWriter.writeVarint. */
  readVarint(): number {
    const u = this.readUvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }
}

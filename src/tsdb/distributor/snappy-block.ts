// A strict decoder of the snappy BLOCK format (spec/tsdb.md §1.1) for untrusted remote-write
// bodies. Kiln's exporter compresses with snappyjs (src/profiles/exporter/snappy.ts), but
// snappyjs's decompressor is not safe on hostile input: a literal whose 4-byte length has the
// top bit set turns negative and moves its read position backwards, so a 60-byte body can
// keep it busy for most of a second (or longer), and it never checks the output against the
// announced length. This one checks every element against both buffers, reads lengths as
// unsigned, and requires the output to be exactly the announced length.
//
//   preamble  uvarint: uncompressed length (capped by the caller before anything is allocated)
//   element   tag byte, low 2 bits:
//     00 literal   (tag>>2)+1 bytes follow; tag>>2 of 60..63 means the length−1 is in the next 1..4 bytes (LE)
//     01 copy      length 4 + ((tag>>2)&7), offset ((tag>>5)<<8) | next byte
//     10 copy      length (tag>>2)+1, offset = next 2 bytes (LE)
//     11 copy      length (tag>>2)+1, offset = next 4 bytes (LE)

export class SnappyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnappyError';
  }
}

/** The announced uncompressed length, and where the elements start; throws on a bad preamble. */
export function snappyDecodedLength(src: Uint8Array): { length: number; start: number } {
  let length = 0;
  let mul = 1;
  for (let i = 0; i < 5; i++) {
    if (i >= src.length) throw new SnappyError('snappy: corrupt input (truncated length preamble)');
    const b = src[i]!;
    length += (b & 0x7f) * mul;
    if (b < 0x80) {
      if (length > 0xffffffff) break;
      return { length, start: i + 1 };
    }
    mul *= 128;
  }
  throw new SnappyError('snappy: corrupt input (length preamble longer than 32 bits)');
}

/**
 * Decompresses a snappy block whose announced length must not exceed `maxLength`. With `into`
 * (long enough), the result is a view of its start instead of a new buffer.
 */
export function snappyDecode(src: Uint8Array, maxLength: number, into?: Buffer): Buffer {
  const { length, start } = snappyDecodedLength(src);
  if (length > maxLength) throw new SnappyError(`snappy: decoded length ${length} exceeds the limit of ${maxLength} bytes`);
  const out = into !== undefined && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  const input = Buffer.from(src.buffer, src.byteOffset, src.byteLength);
  let pos = start;
  let outPos = 0;
  const end = src.length;
  const corrupt = (why: string) => new SnappyError(`snappy: corrupt input (${why} at offset ${pos})`);
  while (pos < end) {
    const tag = src[pos++]!;
    const kind = tag & 3;
    let len: number;
    if (kind === 0) {
      len = (tag >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (pos + extra > end) throw corrupt('truncated literal length');
        len = 0;
        for (let i = extra - 1; i >= 0; i--) len = len * 256 + src[pos + i]!;
        len += 1;
        pos += extra;
      }
      if (len > end - pos) throw corrupt('literal runs past the input');
      if (len > length - outPos) throw corrupt('literal runs past the announced length');
      // Short literals (most of them in remote-write bodies) byte by byte: Buffer#copy makes a
      // view object per call.
      if (len < 64) for (let i = 0; i < len; i++) out[outPos + i] = src[pos + i]!;
      else input.copy(out, outPos, pos, pos + len);
      pos += len;
      outPos += len;
      continue;
    }
    let offset: number;
    if (kind === 1) {
      if (pos + 1 > end) throw corrupt('truncated copy');
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | src[pos]!;
      pos += 1;
    } else if (kind === 2) {
      if (pos + 2 > end) throw corrupt('truncated copy');
      len = (tag >>> 2) + 1;
      offset = src[pos]! | (src[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > end) throw corrupt('truncated copy');
      len = (tag >>> 2) + 1;
      offset = src[pos]! + src[pos + 1]! * 0x100 + src[pos + 2]! * 0x10000 + src[pos + 3]! * 0x1000000;
      pos += 4;
    }
    if (offset === 0 || offset > outPos) throw corrupt(`copy offset ${offset} outside the output so far`);
    if (len > length - outPos) throw corrupt('copy runs past the announced length');
    if (offset >= len) {
      out.copyWithin(outPos, outPos - offset, outPos - offset + len);
    } else {
      // Overlapping copy (a run): byte by byte, each byte may be one this copy just wrote.
      for (let i = 0; i < len; i++) out[outPos + i] = out[outPos - offset + i]!;
    }
    outPos += len;
  }
  if (outPos !== length) throw new SnappyError(`snappy: corrupt input (decoded ${outPos} bytes, announced ${length})`);
  return out;
}

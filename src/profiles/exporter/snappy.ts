// Snappy BLOCK format (not the framed/stream format), as remote write requires (spec/tsdb.md
// §1.1): a uvarint of the uncompressed length, then literal and copy elements. snappyjs is pure
// JS (DESIGN §5); at one request every few seconds its ~2.7 ms per MB does not matter.
import { compress, uncompress } from 'snappyjs';

export function snappyCompress(data: Uint8Array): Uint8Array {
  return compress(data);
}

/**
 * Decompresses a block. `maxLength` caps the announced uncompressed length, so a tiny input
 * cannot make us allocate gigabytes (a decompression bomb); a bigger announcement throws.
 */
export function snappyUncompress(data: Uint8Array, maxLength: number): Uint8Array {
  return uncompress(data, maxLength);
}

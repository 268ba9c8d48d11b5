// Builders shared by the block tests: temp dirs and hand-encoded XOR chunks (so these tests do
// not depend on the chunk encoder they are meant to be independent of).
import { ByteWriter } from '../../../src/tsdb/blocks/bytes.js';
import type { BlockChunk } from '../../../src/tsdb/blocks/block-writer.js';

export { tempDir, tempDirsRemovedAfterAll } from '../helpers.js';

/**
 * An XOR chunk of samples that all have the same value: count (2 bytes BE), first timestamp
 * (varint), the value's 64 bits, the second timestamp as a uvarint delta, then per later
 * sample a delta-of-delta of 0 ('0' bit) and for every sample after the first a repeated value
 * ('0' bit). With equal spacing that is what Prometheus's encoder writes too.
 */
export function constantXorChunk(t0: number, step: number, count: number, value: number): BlockChunk {
  const w = new ByteWriter(64);
  w.u8(count >> 8);
  w.u8(count & 0xff);
  w.varint(t0);
  const f = Buffer.alloc(8);
  f.writeDoubleBE(value);
  w.bytes(f);
  let bits = 0; // '0' bits after the byte-aligned part
  if (count >= 2) {
    w.uvarint(step);
    bits = 1 + 2 * (count - 2); // value '0' of sample 2, then dod '0' + value '0' per later sample
  }
  for (let i = 0; i < Math.ceil(bits / 8); i++) w.u8(0);
  return { encoding: 1, data: Uint8Array.from(w.finish()), minT: t0, maxT: t0 + step * (count - 1), samples: count };
}

export { prng } from '../../profiles/pprof/reference.js';

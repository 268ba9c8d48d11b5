// Deterministic ids of compacted blocks (DESIGN.md invariant 2): a retried
// job must write the same keys, so nothing random or time-of-day goes in.
//
//   time part (48 bits)    = the ULID time of the smallest source id
//   random part (80 bits)  = xxhash64 of (sorted source ids, output level, tenant),
//                            twice with different seeds for 128 bits, the first 80 used
//
// The tenant is hashed in because one level-0 job writes one block per tenant.

import { decodeTime, encodeTime } from 'ulid';
import xxhash from 'xxhash-wasm';

const hasher = await xxhash();
const encoder = new TextEncoder();
/** Crockford base32, as ULIDs use it. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The output block id of `tenant` for a job over `sourceIds` writing level `level`. */
export function compactedBlockId(sourceIds: readonly string[], level: number, tenant: string): string {
  if (sourceIds.length === 0) throw new Error('compactedBlockId: no source ids');
  const ids = sourceIds.slice().sort();
  // NUL separates the parts: ids are base32, a tenant cannot hold NUL in a key.
  const seed = encoder.encode(`${ids.join('\u0000')}\u0000L${level}\u0000${tenant}`);
  const a = hasher.h64Raw(seed, 0n);
  const b = hasher.h64Raw(seed, 1n);
  // 80 bits = 16 base32 digits: all 64 bits of a, then the top 16 of b.
  let bits = (a << 16n) | (b >> 48n);
  let random = '';
  for (let i = 0; i < 16; i++) {
    random = ALPHABET[Number(bits & 31n)]! + random;
    bits >>= 5n;
  }
  return encodeTime(decodeTime(ids[0]!), 10) + random;
}

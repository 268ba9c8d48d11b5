// Shard selection: (tenant, service_name) → shard id 1..n with jump consistent
// hashing (Lamping & Veach), so changing the shard count moves few datasets.

import xxhash from 'xxhash-wasm';

const hasher = await xxhash();
const encoder = new TextEncoder();

/** Jump consistent hash of a 64-bit key into [0, buckets). */
export function jumpHash(key: bigint, buckets: number): number {
  let b = -1n;
  let j = 0n;
  const n = BigInt(buckets);
  let k = BigInt.asUintN(64, key);
  while (j < n) {
    b = j;
    k = BigInt.asUintN(64, k * 2862933555777941757n + 1n);
    j = BigInt(Math.floor(((Number(b) + 1) * 2 ** 31) / Number((k >> 33n) + 1n)));
  }
  return Number(b);
}

/** 1-based shard of a dataset. */
export function shardFor(tenant: string, serviceName: string, numShards: number): number {
  const key = encoder.encode(`${tenant}\u0000${serviceName}`);
  return jumpHash(hasher.h64Raw(key), numShards) + 1;
}

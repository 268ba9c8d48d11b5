import { describe, expect, it } from 'vitest';
import { jumpHash, shardFor } from '../../../../src/profiles/ingest/shard.js';

/** 64-bit keys from xorshift64 (fixed seed): spread over the whole range, reproducible. */
function keys(count: number): bigint[] {
  const out: bigint[] = [];
  let x = 88172645463325252n;
  for (let i = 0; i < count; i++) {
    x = BigInt.asUintN(64, x ^ (x << 13n));
    x ^= x >> 7n;
    x = BigInt.asUintN(64, x ^ (x << 17n));
    out.push(x);
  }
  return out;
}

describe('jumpHash (Lamping & Veach)', () => {
  // Published values of the reference C++ function JumpConsistentHash(key, buckets):
  // ClickHouse tests/queries/0_stateless/00580_consistent_hashing_functions and the
  // jump_consistent_hash Rust crate's documentation.
  it.each([
    [1n, 1, 0],
    [42n, 57, 43],
    [256n, 1024, 520],
    [0xdead10ccn, 1, 0],
    [0xdead10ccn, 666, 361],
    [16045690984833335023n, 255, 237],
    [0n, 60, 0],
    [1n, 60, 55],
    [2n, 60, 46],
  ])('jumpHash(%d, %d) = %d', (key, buckets, expected) => {
    expect(jumpHash(key, buckets)).toBe(expected);
  });

  it('one bucket: always 0', () => {
    for (const k of keys(100)) expect(jumpHash(k, 1)).toBe(0);
  });

  it('stays in [0, n) and is stable', () => {
    for (const n of [2, 3, 7, 8, 100, 1000]) {
      for (const k of keys(200)) {
        const b = jumpHash(k, n);
        expect(Number.isInteger(b)).toBe(true);
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThan(n);
        expect(jumpHash(k, n)).toBe(b);
      }
    }
  });

  it('keys beyond 2^63 and negative bigints are taken as uint64', () => {
    expect(jumpHash(-1n, 1000)).toBe(jumpHash(2n ** 64n - 1n, 1000));
  });

  it('growing n → n+1 moves a key only into the new bucket, and moves about 1/(n+1) of them', () => {
    const ks = keys(20_000);
    for (let n = 1; n <= 16; n++) {
      let moved = 0;
      for (const k of ks) {
        const before = jumpHash(k, n);
        const after = jumpHash(k, n + 1);
        if (after !== before) {
          expect(after).toBe(n);
          moved++;
        }
      }
      const expected = ks.length / (n + 1);
      expect(moved, `n=${n}`).toBeGreaterThan(expected * 0.85);
      expect(moved, `n=${n}`).toBeLessThan(expected * 1.15);
    }
  });

  it('spreads keys evenly over the buckets', () => {
    const counts = new Array<number>(10).fill(0);
    for (const k of keys(20_000)) counts[jumpHash(k, 10)]!++;
    for (const c of counts) {
      expect(c).toBeGreaterThan(1700);
      expect(c).toBeLessThan(2300);
    }
  });
});

describe('shardFor', () => {
  it('one shard: always shard 1', () => {
    expect(shardFor('anonymous', 'a', 1)).toBe(1);
    expect(shardFor('t', 'b', 1)).toBe(1);
  });

  it('is 1-based, within 1..n, and stable', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const s = shardFor('anonymous', `svc-${i}`, 8);
      expect(s).toBeGreaterThanOrEqual(1);
      expect(s).toBeLessThanOrEqual(8);
      expect(shardFor('anonymous', `svc-${i}`, 8)).toBe(s);
      seen.add(s);
    }
    // 400 services over 8 shards reach every shard, including 1 and 8.
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('depends on the tenant too', () => {
    let differ = 0;
    for (let i = 0; i < 100; i++) if (shardFor('team-a', `svc-${i}`, 16) !== shardFor('team-b', `svc-${i}`, 16)) differ++;
    expect(differ).toBeGreaterThan(50);
  });

  it('tenant and service are separated: ("ab","c") and ("a","bc") are different keys', () => {
    let differ = 0;
    for (let i = 0; i < 50; i++) if (shardFor(`ab${i}`, 'c', 64) !== shardFor(`ab`, `${i}c`, 64)) differ++;
    expect(differ).toBeGreaterThan(25);
  });

  it('adding a shard moves a dataset only to the new shard', () => {
    for (let i = 0; i < 300; i++) {
      const before = shardFor('anonymous', `svc-${i}`, 4);
      const after = shardFor('anonymous', `svc-${i}`, 5);
      if (after !== before) expect(after).toBe(5);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { HashIndex, mix } from '../../../src/profiles/segment/hash-index.js';

const chain = (index: HashIndex, hash: number) => {
  const ids: number[] = [];
  for (let id = index.first(hash); id >= 0; id = index.following(id)) ids.push(id);
  return ids;
};

describe('HashIndex', () => {
  it('chains ids of one hash, newest first, and keeps other hashes apart', () => {
    const index = new HashIndex();
    index.add(7, 0);
    index.add(7 + 1024, 1); // same slot as 7 before growth, different hash
    index.add(7, 2);
    expect(chain(index, 7)).toEqual([2, 0]);
    expect(chain(index, 7 + 1024)).toEqual([1]);
    expect(chain(index, 8)).toEqual([]);
  });

  it('finds every id after growing far past its initial size', () => {
    const index = new HashIndex();
    const n = 50_000;
    // Hashes repeat every 3 ids, so chains and growth are both exercised.
    for (let id = 0; id < n; id++) index.add(Math.floor(id / 3) * 2654435761 | 0, id);
    for (const id of [0, 1, 2, 3, 29_999, 49_999]) {
      const h = Math.floor(id / 3) * 2654435761 | 0;
      const base = Math.floor(id / 3) * 3;
      expect(chain(index, h)).toEqual([base + 2, base + 1, base].filter((x) => x < n));
    }
  });

  it('mixes values above 2^32 differently from their low 32 bits', () => {
    expect(mix(1, 5)).not.toBe(mix(1, 5 + 2 ** 32));
    expect(mix(1, 5)).toBe(mix(1, 5));
  });
});

// A hash index over dense ids 0, 1, 2, … whose tuples live elsewhere (in the
// symbol columns). Callers hash a tuple, walk the candidates with the same
// hash and compare the tuple themselves. This avoids building a string key per
// location or stack trace, which dominated ingest time. Open addressing over
// typed arrays: no Map entry objects, no boxing.

export class HashIndex {
  /** Slot → first id + 1 of the chain whose hash lands there (0 = empty). */
  private slots = new Int32Array(1024);
  /** Slot → the full hash of that chain, so chains of different hashes never mix. */
  private hashes = new Int32Array(1024);
  /** Id → next id with the same hash, or -1. */
  private next = new Int32Array(1024);
  private used = 0;

  /** First id with this hash, or -1. */
  first(hash: number): number {
    const mask = this.slots.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const head = this.slots[i]!;
      if (head === 0) return -1;
      if (this.hashes[i] === hash) return head - 1;
    }
  }

  /** Next id with the same hash as `id`, or -1. */
  following(id: number): number {
    return this.next[id]!;
  }

  /** Adds `id`, which must be the next dense id. */
  add(hash: number, id: number): void {
    if (id >= this.next.length) {
      const grown = new Int32Array(this.next.length * 2);
      grown.set(this.next);
      this.next = grown;
    }
    if ((this.used + 1) * 2 > this.slots.length) this.rehash();
    const mask = this.slots.length - 1;
    let i = hash & mask;
    while (this.slots[i] !== 0 && this.hashes[i] !== hash) i = (i + 1) & mask;
    if (this.slots[i] === 0) this.used++;
    this.next[id] = this.slots[i]! - 1;
    this.slots[i] = id + 1;
    this.hashes[i] = hash;
  }

  private rehash(): void {
    const { slots, hashes } = this;
    this.slots = new Int32Array(slots.length * 2);
    this.hashes = new Int32Array(slots.length * 2);
    const mask = this.slots.length - 1;
    for (let j = 0; j < slots.length; j++) {
      if (slots[j] === 0) continue;
      let i = hashes[j]! & mask;
      while (this.slots[i] !== 0) i = (i + 1) & mask;
      this.slots[i] = slots[j]!;
      this.hashes[i] = hashes[j]!;
    }
  }
}

const PRIME = 0x01000193;

/** Mixes a number (any non-negative integer up to 2^64, or a float) into a 32-bit FNV-style hash. */
export function mix(h: number, v: number): number {
  h = Math.imul(h ^ (v >>> 0), PRIME);
  // Values below 2^32 (nearly all: ids, line numbers) need no second round.
  return v < 4294967296 && v >= 0 ? h : Math.imul(h ^ ((v / 4294967296) | 0), PRIME);
}

/** Mixes a uint32 into the hash (one multiply). */
export function mix32(h: number, v: number): number {
  return Math.imul(h ^ v, PRIME);
}

export const HASH_SEED = 0x811c9dc5 | 0;

// A hash index over dense ids 0, 1, 2, … whose tuples live elsewhere (in the
// symbol columns). Callers hash a tuple, walk the candidates with the same
// hash and compare the tuple themselves. This avoids building a string key per
// location or stack trace, which dominated ingest time.

export class HashIndex {
  private readonly heads = new Map<number, number>();
  private readonly next: number[] = [];

  /** First id with this hash, or -1. */
  first(hash: number): number {
    return this.heads.get(hash) ?? -1;
  }

  /** Next id with the same hash as `id`, or -1. */
  following(id: number): number {
    return this.next[id]!;
  }

  /** Adds `id`, which must be the next dense id. */
  add(hash: number, id: number): void {
    this.next[id] = this.heads.get(hash) ?? -1;
    this.heads.set(hash, id);
  }
}

const PRIME = 0x01000193;

/** Mixes a number (any non-negative integer up to 2^64, or a float) into a 32-bit FNV-style hash. */
export function mix(h: number, v: number): number {
  h = Math.imul(h ^ (v >>> 0), PRIME);
  return Math.imul(h ^ ((v / 4294967296) | 0), PRIME);
}

export const HASH_SEED = 0x811c9dc5 | 0;

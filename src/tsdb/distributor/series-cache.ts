// A per-tenant cache of the label sets a tenant keeps sending: the raw protobuf bytes of a 1.0
// TimeSeries' labels → the normalised, validated label set decoded from them earlier, and a
// memo for storage (SeriesMemo, storage.ts) where the head remembers that label set's series.
//
// A sender repeats the same series in every request, byte for byte. For a known series the
// decoder (remote-write-v1.ts) then costs a hash of the label bytes, one table probe and a byte
// comparison: no label strings are decoded, nothing is normalised or re-validated, and the head
// finds its series through the memo instead of looking the labels up.
//
// Why this keeps Mimir's semantics exactly:
//   * only label sets that decoded and passed validation are added; anything else (invalid
//     labels, invalid UTF-8, no labels left) takes the full path on every request, so every
//     rejection is computed and reported as before;
//   * label validation depends only on the label bytes and the limits; the cache is emptied when
//     the label limits change (limitsKey);
//   * a hit is a byte-identical label section, which decoded without error before, so decoding it
//     again could not fail either;
//   * the memo is storage's to check: the head trusts it only while it belongs to that head and
//     no truncation happened since (head.ts), so a series removed by head compaction is looked
//     up (or created) again, never returned stale.
// Bounded: at most maxEntries label sets (emptied and refilled when full), so a stream of new
// series (churn) cannot grow it without limit.

import type { Labels, SeriesMemo } from '../storage.js';

/** A known label set: what validation left of it, and storage's memo for it. */
export class CachedSeries implements SeriesMemo {
  owner: unknown = undefined;
  epoch = 0;
  series: unknown = undefined;
  /** The entry that followed this one in the last request that had it: the likely next one. */
  next: CachedSeries | undefined = undefined;

  constructor(
    /** Normalised (sorted, no empty values) and valid. */
    readonly labels: Labels,
    /** Where its key is: index into its cache's key arrays (while the cache holds it). */
    readonly index: number,
  ) {}
}

/** 32-bit hash of the bytes [start, end) of `v`: 4 bytes per step, then a final mix. */
export function hashBytes(v: DataView, start: number, end: number): number {
  let h = 0x9747b28c ^ (end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    h = Math.imul(h ^ v.getInt32(i, true), 0x5bd1e995);
    h ^= h >>> 15;
  }
  for (; i < end; i++) h = Math.imul(h ^ v.getUint8(i), 0x01000193);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Whether a[at, at + n) and b[start, start + n) hold the same bytes (DataViews read 4 at a time, unaligned). */
function sameBytes(a: DataView, at: number, b: DataView, start: number, n: number): boolean {
  let i = 0;
  for (; i + 4 <= n; i += 4) if (a.getInt32(at + i, true) !== b.getInt32(start + i, true)) return false;
  for (; i < n; i++) if (a.getUint8(at + i) !== b.getUint8(start + i)) return false;
  return true;
}

/** A DataView over exactly the bytes of `u`. */
export function viewOf(u: Uint8Array): DataView {
  return new DataView(u.buffer, u.byteOffset, u.byteLength);
}

const EMPTY_SLOT = -1;

export class SeriesCache {
  /** Open addressing: slot → entry index, or EMPTY_SLOT. Size a power of two, at most half full. */
  private slots = new Int32Array(1024).fill(EMPTY_SLOT);
  private hashes = new Int32Array(512);
  private keyAt = new Int32Array(512);
  private keyLen = new Int32Array(512);
  /** Every key's bytes, one after another. */
  private arena = new Uint8Array(16 * 1024);
  private arenaView = viewOf(this.arena);
  private arenaUsed = 0;
  private entries: CachedSeries[] = [];
  /** Label limits the entries were validated under. */
  private limitsKey = '';

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.entries.length;
  }

  /**
   * Empties the cache when the limits label validation depends on differ from those its
   * entries were validated under.
   */
  useLimits(limitsKey: string): void {
    if (limitsKey === this.limitsKey) return;
    this.limitsKey = limitsKey;
    this.clear();
  }

  /**
   * find(), trying first the entry that followed `prev` last time: senders repeat their series
   * in the same order, so that guess usually holds and costs one byte comparison, no hash.
   */
  findAfter(prev: CachedSeries | undefined, v: DataView, start: number, end: number): CachedSeries | undefined {
    const guess = prev?.next;
    // Only an entry this cache holds (not one of another tenant's cache, nor one from before a clear()).
    if (guess !== undefined && this.entries[guess.index] === guess) {
      const e = guess.index;
      if (this.keyLen[e] === end - start && sameBytes(this.arenaView, this.keyAt[e]!, v, start, end - start)) return guess;
    }
    const found = this.find(v, start, end);
    if (prev !== undefined && found !== undefined && this.entries[prev.index] === prev) prev.next = found;
    return found;
  }

  /** The entry whose key is exactly the bytes [start, end) of `v`, if any. */
  find(v: DataView, start: number, end: number): CachedSeries | undefined {
    const n = end - start;
    const h = hashBytes(v, start, end);
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = this.slots[s]!;
      if (e === EMPTY_SLOT) return undefined;
      if (this.hashes[e] === h && this.keyLen[e] === n && sameBytes(this.arenaView, this.keyAt[e]!, v, start, n)) return this.entries[e];
    }
  }

  /** Adds a label set decoded (and validated) from buf[start, end), unless known; the bytes are copied. */
  add(buf: Uint8Array, start: number, end: number, labels: Labels): CachedSeries {
    // The same label set twice in one request: both missed, the first added it.
    const known = this.find(viewOf(buf), start, end);
    if (known !== undefined) return known;
    if (this.entries.length >= this.maxEntries) this.clear();
    const n = end - start;
    const e = this.entries.length;
    if (e === this.hashes.length) this.growEntries();
    if ((e + 1) * 2 > this.slots.length) this.growSlots();
    if (this.arenaUsed + n > this.arena.length) {
      let size = this.arena.length * 2;
      while (this.arenaUsed + n > size) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = next;
      this.arenaView = viewOf(next);
    }
    this.arena.set(buf.subarray(start, end), this.arenaUsed);
    const h = hashBytes(this.arenaView, this.arenaUsed, this.arenaUsed + n);
    this.hashes[e] = h;
    this.keyAt[e] = this.arenaUsed;
    this.keyLen[e] = n;
    this.arenaUsed += n;
    const entry = new CachedSeries(labels, e);
    this.entries.push(entry);
    this.place(e, h);
    return entry;
  }

  clear(): void {
    // Unlink the successor guesses, so a dropped entry keeps none of the others alive.
    for (const e of this.entries) e.next = undefined;
    this.slots = new Int32Array(1024).fill(EMPTY_SLOT);
    this.hashes = new Int32Array(512);
    this.keyAt = new Int32Array(512);
    this.keyLen = new Int32Array(512);
    this.arena = new Uint8Array(16 * 1024);
    this.arenaView = viewOf(this.arena);
    this.arenaUsed = 0;
    this.entries = [];
  }

  private place(e: number, h: number): void {
    const mask = this.slots.length - 1;
    let s = h & mask;
    while (this.slots[s] !== EMPTY_SLOT) s = (s + 1) & mask;
    this.slots[s] = e;
  }

  private growEntries(): void {
    const size = this.hashes.length * 2;
    const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const next = new Int32Array(size);
      next.set(a);
      return next;
    };
    this.hashes = grow(this.hashes);
    this.keyAt = grow(this.keyAt);
    this.keyLen = grow(this.keyLen);
  }

  private growSlots(): void {
    this.slots = new Int32Array(this.slots.length * 2).fill(EMPTY_SLOT);
    for (let e = 0; e < this.entries.length; e++) this.place(e, this.hashes[e]!);
  }
}

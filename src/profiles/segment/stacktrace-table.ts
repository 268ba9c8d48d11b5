// Stack traces (lists of location ids, leaf first), deduplicated, in two
// growable typed columns: what a segment head and a compaction's symbol table
// intern every sample's stack into. A large profile holds millions of frames;
// as JS arrays they took twice the memory, grew by reallocation in the
// garbage-collected heap, and every major GC walked them.

import { HASH_SEED, HashIndex, mix32 } from './hash-index.js';

export class StacktraceTable {
  /** Stack trace k's locations are locations[k === 0 ? 0 : ends[k - 1] .. ends[k]). */
  private ends: Uint32Array = new Uint32Array(1024);
  private locations: Uint32Array = new Uint32Array(4096);
  private count = 0;
  private frames = 0;
  private readonly index = new HashIndex();

  /** Stack traces held. */
  get length(): number {
    return this.count;
  }

  /** The id of the stack trace frames[from..to); added if new. */
  intern(frames: Uint32Array, from: number, to: number): number {
    const n = to - from;
    // Location ids are below 2^32: one multiply per frame.
    let hash = HASH_SEED ^ n;
    for (let k = from; k < to; k++) hash = mix32(hash, frames[k]!);
    const { ends, locations } = this;
    for (let id = this.index.first(hash); id >= 0; id = this.index.following(id)) {
      const start = id === 0 ? 0 : ends[id - 1]!;
      if (ends[id]! - start !== n) continue;
      let k = 0;
      while (k < n && locations[start + k] === frames[from + k]) k++;
      if (k === n) return id;
    }
    if (this.frames + n > locations.length) this.locations = grow(locations, this.frames, this.frames + n);
    this.locations.set(frames.subarray(from, to), this.frames);
    this.frames += n;
    if (this.count === ends.length) this.ends = grow(ends, this.count, this.count + 1);
    this.ends[this.count] = this.frames;
    this.index.add(hash, this.count);
    return this.count++;
  }

  /** The columns as Symbols holds them: views, valid until the next intern. */
  columns(): { stacktraceEnd: Uint32Array; stacktraceLocations: Uint32Array } {
    return { stacktraceEnd: this.ends.subarray(0, this.count), stacktraceLocations: this.locations.subarray(0, this.frames) };
  }
}

/** A copy of a[0..used) with room for at least `need` elements (at least double). */
function grow(a: Uint32Array, used: number, need: number): Uint32Array {
  const b = new Uint32Array(Math.max(need, a.length * 2));
  b.set(a.subarray(0, used));
  return b;
}

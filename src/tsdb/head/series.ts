// One series in the head: its labels (symbol ids), its closed chunks, the open chunk samples
// are appended to, and an out-of-order buffer.
//
// In-order samples (newer than the series' newest) go to the open XOR chunk. It is cut (closed
// and a new one started) as Prometheus does (spec/tsdb.md §6):
//   - chunks never cross a 2 h boundary (t ≥ the end of the chunk range the chunk started in);
//   - at 30 samples (a quarter of the 120 target) the cut time is re-estimated so the range's
//     samples spread evenly over chunks of ~120 (computeChunkEndTime);
//   - at 240 samples or 1 KiB whatever the time.
// A closed chunk keeps a right-sized copy of its bytes (in a shared slab) and never changes again.
//
// Out-of-order samples accepted within the OOO window go to a small sorted buffer (timestamps
// + value words) that reads and block writing merge with the chunks. Prometheus keeps them in
// separate OOO chunks; a sorted buffer is simpler and, with OOO rare (Kiln's own exporter
// sends in order), small. It is emptied only by truncation.

import { HI, LO } from '../chunkenc/float-bits.js';
import { MAX_BYTES_PER_CHUNK, MAX_SAMPLES_PER_CHUNK, SAMPLES_PER_CHUNK, XorAppender, XorIterator } from '../chunkenc/xor-chunk.js';

/** Chunk range = block duration (2 h). */
export const CHUNK_RANGE_MS = 2 * 60 * 60 * 1000;

/** A closed head chunk. `bytes` are XOR chunk bytes (see xor-chunk.ts), immutable. */
export interface HeadChunk {
  minT: number;
  maxT: number;
  bytes: Uint8Array;
}

/** Growable (timestamp, value words) list: the shape every read path collects into. */
export class SampleBuffer {
  timestamps: Float64Array;
  values: Float64Array;
  words: Uint32Array;
  length = 0;

  constructor(capacity = 16) {
    this.timestamps = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.words = new Uint32Array(this.values.buffer);
  }

  push(t: number, hi: number, lo: number): void {
    if (this.length === this.timestamps.length) this.grow(this.length * 2);
    const i = this.length++;
    this.timestamps[i] = t;
    this.words[2 * i + HI] = hi;
    this.words[2 * i + LO] = lo;
  }

  /** Inserts at index i (shifting the rest right). */
  insert(i: number, t: number, hi: number, lo: number): void {
    if (this.length === this.timestamps.length) this.grow(this.length * 2);
    this.timestamps.copyWithin(i + 1, i, this.length);
    this.words.copyWithin(2 * i + 2, 2 * i, 2 * this.length);
    this.length++;
    this.timestamps[i] = t;
    this.words[2 * i + HI] = hi;
    this.words[2 * i + LO] = lo;
  }

  /** First index with timestamp ≥ t. */
  lowerBound(t: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops samples with timestamp < t. */
  dropBefore(t: number): void {
    const k = this.lowerBound(t);
    if (k === 0) return;
    this.timestamps.copyWithin(0, k, this.length);
    this.words.copyWithin(0, 2 * k, 2 * this.length);
    this.length -= k;
  }

  /** Right-sized copies. */
  toArrays(): { timestamps: Float64Array; values: Float64Array } {
    return { timestamps: this.timestamps.slice(0, this.length), values: this.values.slice(0, this.length) };
  }

  private grow(capacity: number): void {
    const ts = new Float64Array(Math.max(capacity, 4));
    ts.set(this.timestamps.subarray(0, this.length));
    const vals = new Float64Array(ts.length);
    vals.set(this.values.subarray(0, this.length));
    this.timestamps = ts;
    this.values = vals;
    this.words = new Uint32Array(vals.buffer);
  }
}

// Closed chunks' bytes are packed into shared slabs: one ArrayBuffer (and one malloc'd backing
// store) per 64 KiB instead of one per chunk, which cost more than the ~200 bytes of data of a
// typical chunk. Chunks closed at about the same time cover about the same time range and are
// truncated together, so a slab is released soon after its chunks are.
const SLAB_BYTES = 64 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/** A copy of `view` in the current slab (its own buffer if large). */
function closedCopy(view: Uint8Array): Uint8Array {
  const n = view.length;
  if (n > SLAB_BYTES / 16) return view.slice();
  if (slabUsed + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + n);
  out.set(view);
  slabUsed += n;
  return out;
}

/** Prometheus's computeChunkEndTime: spread the range's samples evenly over ~120-sample chunks. */
function computeChunkEndTime(start: number, cur: number, max: number): number {
  const n = (max - start) / ((cur - start + 1) * 4);
  if (n <= 1) return max;
  return Math.floor(start + (max - start) / Math.floor(n));
}

export class MemSeries {
  readonly ref: number;
  /** [name0, value0, name1, value1, …] symbol ids, names sorted. */
  labels: Uint32Array;
  /** Hash of `labels` for the head's label-set map. */
  hash: number;
  readonly chunks: HeadChunk[] = [];
  open: XorAppender | undefined;
  /** The open chunk is cut before a sample at or after this time. */
  private nextAt = -Infinity;
  private rangeEnd = -Infinity;
  ooo: SampleBuffer | undefined;

  constructor(ref: number, labels: Uint32Array, hash: number) {
    this.ref = ref;
    this.labels = labels;
    this.hash = hash;
  }

  /**
   * Newest in-order timestamp (−∞ when empty). Out-of-order samples are always older. A field
   * kept up to date (not a getter), so the append path reads it without boxing a number.
   */
  maxT = -Infinity;

  /** Oldest timestamp held (+∞ when empty). */
  get minT(): number {
    let m = this.chunks.length > 0 ? this.chunks[0]!.minT : this.open !== undefined ? this.open.minT : Infinity;
    if (this.ooo !== undefined && this.ooo.length > 0 && this.ooo.timestamps[0]! < m) m = this.ooo.timestamps[0]!;
    return m;
  }

  get empty(): boolean {
    return this.open === undefined && this.chunks.length === 0 && (this.ooo === undefined || this.ooo.length === 0);
  }

  /** Appends a sample newer than maxT. */
  appendInOrder(t: number, hi: number, lo: number): void {
    let app = this.open;
    if (app === undefined || t >= this.nextAt || app.numSamples >= MAX_SAMPLES_PER_CHUNK || app.byteLength >= MAX_BYTES_PER_CHUNK) {
      if (app !== undefined) {
        this.chunks.push({ minT: app.minT, maxT: app.maxT, bytes: closedCopy(app.view()) });
        // The next chunk reuses the appender and its grown buffer: no new objects per chunk,
        // which would live for a chunk's time and die in the old generation.
        app.reset();
      } else {
        app = new XorAppender();
        this.open = app;
      }
      this.rangeEnd = (Math.floor(t / CHUNK_RANGE_MS) + 1) * CHUNK_RANGE_MS;
      this.nextAt = this.rangeEnd;
    }
    app.appendBits(t, hi, lo);
    this.maxT = t;
    if (app.numSamples === SAMPLES_PER_CHUNK / 4) this.nextAt = computeChunkEndTime(app.minT, t, this.rangeEnd);
  }

  /** Inserts an out-of-order sample (the caller checked there is none at t). */
  insertOutOfOrder(t: number, hi: number, lo: number): void {
    this.ooo ??= new SampleBuffer(4);
    this.ooo.insert(this.ooo.lowerBound(t), t, hi, lo);
  }

  /**
   * Looks for a sample at exactly t (slow path: out-of-order duplicates only). Returns
   * undefined, or [hi, lo] of its value.
   */
  valueAt(t: number): [number, number] | undefined {
    if (this.ooo !== undefined) {
      const i = this.ooo.lowerBound(t);
      if (i < this.ooo.length && this.ooo.timestamps[i] === t) return [this.ooo.words[2 * i + HI]!, this.ooo.words[2 * i + LO]!];
    }
    const probe = (bytes: Uint8Array): [number, number] | undefined => {
      const it = new XorIterator(bytes);
      while (it.next()) {
        if (it.t === t) return [it.hi, it.lo];
        if (it.t > t) return undefined;
      }
      return undefined;
    };
    for (const c of this.chunks) if (c.minT <= t && t <= c.maxT) return probe(c.bytes);
    if (this.open !== undefined && this.open.minT <= t && t <= this.open.maxT) return probe(this.open.view());
    return undefined;
  }

  /** Appends the samples in [minT, maxT] (inclusive), ascending, to `out`. */
  collect(minT: number, maxT: number, out: SampleBuffer): void {
    const start = out.length;
    const take = (bytes: Uint8Array): void => {
      const it = new XorIterator(bytes);
      while (it.next()) {
        if (it.t < minT) continue;
        if (it.t > maxT) break;
        out.push(it.t, it.hi, it.lo);
      }
    };
    for (const c of this.chunks) if (c.maxT >= minT && c.minT <= maxT) take(c.bytes);
    if (this.open !== undefined && this.open.maxT >= minT && this.open.minT <= maxT) take(this.open.view());
    const ooo = this.ooo;
    if (ooo === undefined || ooo.length === 0) return;
    const from = ooo.lowerBound(minT);
    const to = ooo.lowerBound(maxT + 1);
    if (from >= to) return;
    // Merge the (few) out-of-order samples into what was collected.
    const inOrder = new SampleBuffer(out.length - start);
    for (let i = start; i < out.length; i++) inOrder.push(out.timestamps[i]!, out.words[2 * i + HI]!, out.words[2 * i + LO]!);
    out.length = start;
    let i = 0;
    let j = from;
    while (i < inOrder.length || j < to) {
      if (j >= to || (i < inOrder.length && inOrder.timestamps[i]! < ooo.timestamps[j]!)) {
        out.push(inOrder.timestamps[i]!, inOrder.words[2 * i + HI]!, inOrder.words[2 * i + LO]!);
        i++;
      } else {
        out.push(ooo.timestamps[j]!, ooo.words[2 * j + HI]!, ooo.words[2 * j + LO]!);
        j++;
      }
    }
  }

  /** True if an out-of-order sample lies in [minT, maxT]. */
  hasOutOfOrderIn(minT: number, maxT: number): boolean {
    if (this.ooo === undefined) return false;
    const i = this.ooo.lowerBound(minT);
    return i < this.ooo.length && this.ooo.timestamps[i]! <= maxT;
  }

  /** Drops chunks that end before t and out-of-order samples before t. */
  truncateBefore(t: number): void {
    let k = 0;
    while (k < this.chunks.length && this.chunks[k]!.maxT < t) k++;
    if (k > 0) this.chunks.splice(0, k);
    if (this.open !== undefined && this.open.maxT < t) {
      this.open = undefined;
      this.nextAt = -Infinity;
    }
    const last = this.chunks[this.chunks.length - 1];
    this.maxT = this.open !== undefined ? this.open.maxT : last === undefined ? -Infinity : last.maxT;
    this.ooo?.dropBefore(t);
    if (this.ooo !== undefined && this.ooo.length === 0) this.ooo = undefined;
  }
}

// A dataset's profile rows in columns: how a segment head keeps them while
// its segment is open, and how they travel to the worker that merges a
// segment (WireHead). A row per object lived as long as its segment (half a
// second and more), so a build worker's scavenges copied and promoted every
// one of them; typed columns hold the same numbers in a few buffers.

import type { RowColumns } from '../block/model.js';

function grown<T extends Uint8Array | Uint32Array | Float64Array | BigInt64Array>(a: T, need: number, make: (n: number) => T): T {
  if (need <= a.length) return a;
  const out = make(Math.max(need, a.length * 2));
  out.set(a as never);
  return out;
}

/**
 * Released builders, kept for the next heads of this thread (each worker has
 * its own): a segment's rows fill megabytes of columns, and growing fresh ones
 * every segment cost page faults, zeroing and copies each time (a fifth of
 * merging a worker's share of a segment).
 */
const spare: RowBuilder[] = [];
let spareBytes = 0;
/** What spare builders may hold in all, per thread: a few segments' worth of a busy shard. */
const MAX_SPARE_BYTES = 64 * 1024 * 1024;

/**
 * Appends rows to growing columns. A row's samples are written first, into
 * `stacks` and `values` from the offset `reserve` returns, then `push` closes
 * the row.
 */
export class RowBuilder {
  /** An empty builder, with the buffers of a released one when there is one. */
  static take(): RowBuilder {
    const b = spare.pop();
    if (!b) return new RowBuilder();
    spareBytes -= b.capacityBytes();
    b.released = false;
    return b;
  }

  length = 0;
  private released = false;
  private samples = 0;
  private idBytes = 0;
  private series = new Uint32Array(64);
  private idStart = new Uint32Array(65);
  private ids = new Uint8Array(64 * 16);
  private time = new BigInt64Array(64);
  private duration = new BigInt64Array(64);
  private period = new BigInt64Array(64);
  private total = new Float64Array(64);
  private stackStart = new Uint32Array(65);
  /** Sample columns; valid to write from `reserve`'s offset until the next reserve. */
  stacks = new Uint32Array(1024);
  values = new Float64Array(1024);

  /** Makes room for the next row's n samples; returns where they start in `stacks` and `values`. */
  reserve(n: number): number {
    const need = this.samples + n;
    this.stacks = grown(this.stacks, need, (k) => new Uint32Array(k));
    this.values = grown(this.values, need, (k) => new Float64Array(k));
    return this.samples;
  }

  /** Closes a row over the n samples written at the last reserved offset. */
  push(series: number, profileId: Uint8Array, time: bigint, duration: bigint, period: bigint, total: number, n: number): void {
    const i = this.length;
    if (i === this.series.length) {
      const k = i + 1;
      this.series = grown(this.series, k, (m) => new Uint32Array(m));
      this.time = grown(this.time, k, (m) => new BigInt64Array(m));
      this.duration = grown(this.duration, k, (m) => new BigInt64Array(m));
      this.period = grown(this.period, k, (m) => new BigInt64Array(m));
      this.total = grown(this.total, k, (m) => new Float64Array(m));
      // One more start than rows, whatever room the row columns grew to.
      this.idStart = grown(this.idStart, this.series.length + 1, (m) => new Uint32Array(m));
      this.stackStart = grown(this.stackStart, this.series.length + 1, (m) => new Uint32Array(m));
    }
    this.ids = grown(this.ids, this.idBytes + profileId.length, (m) => new Uint8Array(m));
    this.ids.set(profileId, this.idBytes);
    this.idBytes += profileId.length;
    this.samples += n;
    this.series[i] = series;
    this.time[i] = time;
    this.duration[i] = duration;
    this.period[i] = period;
    this.total[i] = total;
    this.idStart[i + 1] = this.idBytes;
    this.stackStart[i + 1] = this.samples;
    this.length = i + 1;
  }

  /**
   * Empties the builder and offers its buffers to the next take(). Nothing
   * may read the views columns() gave out afterwards.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.length = this.samples = this.idBytes = 0;
    const bytes = this.capacityBytes();
    if (spareBytes + bytes > MAX_SPARE_BYTES) return;
    spare.push(this);
    spareBytes += bytes;
  }

  private capacityBytes(): number {
    return this.stacks.byteLength + this.values.byteLength + this.ids.byteLength +
      this.series.length * 44; // series, time, duration, period, total, idStart, stackStart
  }

  /** The rows so far, as views into the builder's buffers (valid until the next push). */
  columns(): RowColumns {
    const n = this.length;
    return {
      rowSeries: this.series.subarray(0, n),
      rowIdStart: this.idStart.subarray(0, n + 1),
      rowIds: this.ids.subarray(0, this.idBytes),
      rowTime: this.time.subarray(0, n),
      rowDuration: this.duration.subarray(0, n),
      rowPeriod: this.period.subarray(0, n),
      rowTotal: this.total.subarray(0, n),
      rowStackStart: this.stackStart.subarray(0, n + 1),
      rowStacks: this.stacks.subarray(0, this.samples),
      rowValues: this.values.subarray(0, this.samples),
    };
  }
}

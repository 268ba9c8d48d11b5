// Selecting samples over the evaluation grid: instant selectors (newest sample in the lookback
// window) and range windows (samples in a left-open interval), both with two pointers that only move
// forward across steps, so a series is scanned once however many steps the query has.

import type { Labels } from '../storage.js';
import type { Grid } from './values.js';

/** Prometheus' StaleNaN: the NaN with bit pattern 0x7ff0000000000002 (a plain NaN is a real value). */
export const STALE_NAN_HIGH = 0x7ff00000;
export const STALE_NAN_LOW = 0x00000002;

/** True when values[i] is the stale marker; the bits are read from the array itself (NaN payloads do not survive every JS operation). */
export function isStaleAt(values: Float64Array, i: number): boolean {
  const v = values[i]!;
  if (v === v) return false; // not NaN
  const words = new Uint32Array(values.buffer, values.byteOffset + i * 8, 2);
  // Little-endian hosts (all Node targets): low word first.
  return words[1] === STALE_NAN_HIGH && words[0] === STALE_NAN_LOW;
}

/** A float array with the stale marker written at the given indexes (for tests and fixtures). */
export function writeStaleMarker(values: Float64Array, i: number): void {
  const words = new Uint32Array(values.buffer, values.byteOffset + i * 8, 2);
  words[0] = STALE_NAN_LOW;
  words[1] = STALE_NAN_HIGH;
}

/** One series' samples usable in range windows: ascending timestamps (ms), no stale markers. */
export interface RangeSeries {
  labels: Labels;
  timestamps: Float64Array;
  values: Float64Array;
  /** The name is to be removed at the end (series from a subquery over a name-dropping expression). */
  dropName: boolean;
}

/** Samples without stale markers; the input arrays are returned as they are when there is none. */
export function withoutStaleMarkers(timestamps: Float64Array, values: Float64Array): { timestamps: Float64Array; values: Float64Array } {
  let stale = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== values[i] && isStaleAt(values, i)) stale++;
  if (stale === 0) return { timestamps, values };
  const ts = new Float64Array(values.length - stale);
  const vs = new Float64Array(values.length - stale);
  let j = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== values[i] && isStaleAt(values, i)) continue;
    ts[j] = timestamps[i]!;
    vs[j] = values[i]!;
    j++;
  }
  return { timestamps: ts, values: vs };
}

/**
 * Instant selection of one series at every step: the newest sample with timestamp in
 * (ref − lookback, ref], ref = (atMs ?? step time) − offset; absent when that sample is a stale marker.
 * Writes `values`/`present`; when `sampleTimes` is given it receives the chosen samples' timestamps
 * (timestamp()). Returns how many steps have a value.
 */
export function selectInstant(
  timestamps: Float64Array,
  sampleValues: Float64Array,
  grid: Grid,
  offsetMs: number,
  atMs: number | undefined,
  lookbackMs: number,
  values: Float64Array,
  present: Uint8Array,
  sampleTimes?: Float64Array,
): number {
  const n = timestamps.length;
  if (n === 0) return 0;
  if (atMs !== undefined) {
    // Pinned: one lookup, the same value at every step.
    const ref = atMs - offsetMs;
    const j = lastAtOrBefore(timestamps, ref);
    if (j < 0 || timestamps[j]! <= ref - lookbackMs || isStaleAt(sampleValues, j)) return 0;
    values.fill(sampleValues[j]!, 0, grid.steps);
    present.fill(1, 0, grid.steps);
    sampleTimes?.fill(timestamps[j]!, 0, grid.steps);
    return grid.steps;
  }
  let count = 0;
  let j = -1; // index of the newest sample at or before ref
  let ref = grid.startMs - offsetMs;
  // Jump close to the first step instead of walking from the start of the data.
  j = lastAtOrBefore(timestamps, ref);
  for (let i = 0; i < grid.steps; i++, ref += grid.intervalMs) {
    while (j + 1 < n && timestamps[j + 1]! <= ref) j++;
    if (j < 0 || timestamps[j]! <= ref - lookbackMs) continue;
    const v = sampleValues[j]!;
    if (v !== v && isStaleAt(sampleValues, j)) continue;
    values[i] = v;
    present[i] = 1;
    if (sampleTimes) sampleTimes[i] = timestamps[j]!;
    count++;
  }
  return count;
}

/** Index of the last timestamp ≤ t, or −1 (binary search). */
export function lastAtOrBefore(timestamps: Float64Array, t: number): number {
  let lo = 0;
  let hi = timestamps.length; // first index with ts > t
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timestamps[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Index of the first timestamp > t (binary search). */
export function firstAfter(timestamps: Float64Array, t: number): number {
  return lastAtOrBefore(timestamps, t) + 1;
}

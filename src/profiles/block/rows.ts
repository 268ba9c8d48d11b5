// A dataset's profile rows as the block writer takes them: checked, in
// columns (RowColumns, what a segment head builds), and put in block order.
// Rows given as ProfileRow objects (tests, tools) are checked one by one and
// copied into columns first, so encoding has one path.

import { type ProfileRow, type RowColumns, allocRowColumns } from './model.js';
import { canonicalSamples } from './profiles.js';

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

function isInt64(v: unknown): v is bigint {
  return typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX;
}

export function isRowColumns(rows: unknown): rows is RowColumns {
  return typeof rows === 'object' && rows !== null && (rows as RowColumns).rowSeries instanceof Uint32Array;
}

export function rowCount(rows: ProfileRow[] | RowColumns): number {
  return Array.isArray(rows) ? rows.length : rows.rowSeries.length;
}

/** A problem and the row it is in. (The caller names the row: building that text for every row cost more than the checks.) */
export type RowProblem = [row: number, problem: string];

/** What is wrong with samples [from, to) of ids and values (a stack trace id out of range, a value not finite), or undefined. */
function samplesProblem(ids: Uint32Array, values: Float64Array, from: number, to: number, stacktraces: number): string | undefined {
  // One pass over every sample of the block: the checks folded into two
  // conditions, which hold for nearly every row.
  let maxId = -1;
  let sum = 0;
  for (let k = from; k < to; k++) {
    if (ids[k]! > maxId) maxId = ids[k]!;
    sum += values[k]! * 0;
  }
  if (maxId >= stacktraces) return `stack trace id ${maxId} out of range (${stacktraces} stack traces)`;
  // x * 0 is 0 for a finite x and NaN for ±Infinity and NaN, and NaN stays NaN.
  if (sum !== 0) return `value ${values.subarray(from, to).find((v) => !Number.isFinite(v))} is not finite`;
  return undefined;
}

function rowObjectProblem(r: ProfileRow, seriesCount: number, stacktraces: number): string | undefined {
  if (r === null || typeof r !== 'object') return 'not an object';
  if (!Number.isInteger(r.seriesIndex) || r.seriesIndex < 0 || r.seriesIndex >= seriesCount) {
    return `seriesIndex ${r.seriesIndex} out of range (${seriesCount} series)`;
  }
  if (!(r.profileId instanceof Uint8Array) || r.profileId.length !== 16) return 'profileId must be 16 bytes';
  if (!isInt64(r.timeNanos) || !isInt64(r.durationNanos) || !isInt64(r.period)) {
    return 'timeNanos, durationNanos and period must be int64 bigints';
  }
  if (typeof r.totalValue !== 'number' || !Number.isFinite(r.totalValue)) return `totalValue ${r.totalValue} is not finite`;
  if (!(r.stacktraceIds instanceof Uint32Array) || !(r.values instanceof Float64Array)) {
    return 'stacktraceIds must be a Uint32Array and values a Float64Array';
  }
  if (r.stacktraceIds.length !== r.values.length) return 'stacktraceIds and values differ in length';
  return samplesProblem(r.stacktraceIds, r.values, 0, r.values.length, stacktraces);
}

/** The rows in columns, checked: row objects are checked and copied, columns checked as they are. Returns the first problem instead, if any. */
export function checkedColumns(rows: readonly ProfileRow[] | RowColumns, seriesCount: number, stacktraces: number): RowColumns | RowProblem {
  if (Array.isArray(rows)) return columnsOf(rows, seriesCount, stacktraces);
  return columnsProblem(rows as RowColumns, seriesCount, stacktraces) ?? (rows as RowColumns);
}

/** Checks row objects and copies them into columns; returns the columns or the first problem. */
function columnsOf(rows: readonly ProfileRow[], seriesCount: number, stacktraces: number): RowColumns | RowProblem {
  let samples = 0;
  for (let i = 0; i < rows.length; i++) {
    const problem = rowObjectProblem(rows[i]!, seriesCount, stacktraces);
    if (problem !== undefined) return [i, problem];
    samples += rows[i]!.values.length;
  }
  const n = rows.length;
  const c = allocRowColumns(n, 16 * n, samples);
  let at = 0;
  rows.forEach((r, i) => {
    c.rowSeries[i] = r.seriesIndex;
    c.rowIds.set(r.profileId, 16 * i);
    c.rowIdStart[i + 1] = 16 * (i + 1);
    c.rowTime[i] = r.timeNanos;
    c.rowDuration[i] = r.durationNanos;
    c.rowPeriod[i] = r.period;
    c.rowTotal[i] = r.totalValue;
    c.rowStacks.set(r.stacktraceIds, at);
    c.rowValues.set(r.values, at);
    at += r.values.length;
    c.rowStackStart[i + 1] = at;
  });
  return c;
}

/** What is wrong with rows in columns, or undefined. */
function columnsProblem(c: RowColumns, seriesCount: number, stacktraces: number): RowProblem | undefined {
  const n = c.rowSeries.length;
  const typed = c.rowIdStart instanceof Uint32Array && c.rowIds instanceof Uint8Array && c.rowTime instanceof BigInt64Array &&
    c.rowDuration instanceof BigInt64Array && c.rowPeriod instanceof BigInt64Array && c.rowTotal instanceof Float64Array &&
    c.rowStackStart instanceof Uint32Array && c.rowStacks instanceof Uint32Array && c.rowValues instanceof Float64Array;
  if (!typed) return [0, 'row columns must be typed arrays of the RowColumns types'];
  if (c.rowIdStart.length !== n + 1 || c.rowStackStart.length !== n + 1 || c.rowTime.length !== n ||
    c.rowDuration.length !== n || c.rowPeriod.length !== n || c.rowTotal.length !== n) {
    return [0, `row columns differ in length (${n} rows)`];
  }
  if (c.rowIdStart[0] !== 0 || c.rowIdStart[n] !== c.rowIds.length) return [0, 'rowIdStart does not cover rowIds'];
  if (c.rowStackStart[0] !== 0 || c.rowStackStart[n] !== c.rowStacks.length || c.rowStacks.length !== c.rowValues.length) {
    return [0, 'rowStackStart does not cover rowStacks and rowValues'];
  }
  for (let i = 0; i < n; i++) {
    if (c.rowSeries[i]! >= seriesCount) return [i, `seriesIndex ${c.rowSeries[i]} out of range (${seriesCount} series)`];
    if (c.rowIdStart[i + 1]! - c.rowIdStart[i]! !== 16) return [i, 'profileId must be 16 bytes'];
    if (!Number.isFinite(c.rowTotal[i]!)) return [i, `totalValue ${c.rowTotal[i]} is not finite`];
    const from = c.rowStackStart[i]!;
    const to = c.rowStackStart[i + 1]!;
    if (to < from) return [i, 'rowStackStart decreases'];
    const problem = samplesProblem(c.rowStacks, c.rowValues, from, to, stacktraces);
    if (problem !== undefined) return [i, problem];
  }
  return undefined;
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpNums(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

/** Row i's samples, in canonical form (see canonicalSamples). */
function rowSamples(c: RowColumns, i: number): [Uint32Array, Float64Array] {
  const from = c.rowStackStart[i]!;
  const to = c.rowStackStart[i + 1]!;
  return canonicalSamples(c.rowStacks.subarray(from, to), c.rowValues.subarray(from, to));
}

/** Full order of rows x and y; the sample tie-break is reached only by rows equal in every scalar. */
function cmpRows(c: RowColumns, x: number, y: number): number {
  let d = cmpBig(c.rowTime[x]!, c.rowTime[y]!);
  const ix = c.rowIdStart[x]!;
  const iy = c.rowIdStart[y]!;
  for (let k = 0; d === 0 && k < 16; k++) d = c.rowIds[ix + k]! - c.rowIds[iy + k]!;
  d ||= cmpBig(c.rowDuration[x]!, c.rowDuration[y]!) || cmpBig(c.rowPeriod[x]!, c.rowPeriod[y]!);
  const tx = c.rowTotal[x]!;
  const ty = c.rowTotal[y]!;
  d ||= tx === ty ? 0 : tx < ty ? -1 : 1;
  if (d !== 0) return d;
  const [xi, xv] = rowSamples(c, x);
  const [yi, yv] = rowSamples(c, y);
  return cmpNums(xi, yi) || cmpNums(xv, yv);
}

/** Where an int64's high and low 32-bit halves sit in memory, in 32-bit words. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/**
 * Row indexes in block order: by series (mapped through seriesMap), then
 * cmpRows. The leading keys (series, time as two 32-bit halves, the profile
 * id's first four bytes) are read into typed arrays first, so most
 * comparisons are a few subtractions; cmpRows settles only ties on all of
 * them. Rows must have passed columnsProblem (16-byte ids).
 */
export function rowOrder(c: RowColumns, seriesMap: Uint32Array): Uint32Array {
  const n = c.rowSeries.length;
  const series = new Uint32Array(n);
  // Times read as 32-bit halves: no BigInt arithmetic, which allocates.
  const time = c.rowTime;
  const lo = new Uint32Array(time.buffer, time.byteOffset, 2 * n);
  const hi = new Int32Array(time.buffer, time.byteOffset, 2 * n);
  const id0 = new Uint32Array(n);
  const ids = c.rowIds;
  for (let i = 0; i < n; i++) {
    series[i] = seriesMap[c.rowSeries[i]!]!;
    const at = c.rowIdStart[i]!;
    id0[i] = ((ids[at]! << 24) | (ids[at + 1]! << 16) | (ids[at + 2]! << 8) | ids[at + 3]!) >>> 0;
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort(
    (a, b) =>
      series[a]! - series[b]! ||
      hi[2 * a + HI]! - hi[2 * b + HI]! ||
      lo[2 * a + LO]! - lo[2 * b + LO]! ||
      id0[a]! - id0[b]! ||
      cmpRows(c, a, b),
  );
}

// Expected vs actual query results, with the promqltest harness' rules (test.go compareResult):
// values equal within a relative epsilon of 1e-6, NaN equals NaN, the stale marker only equals
// itself; label sets exact; instant vectors unordered unless the eval is ordered; matrices must be
// sorted by labels and match point by point (`_` = no point at that step).

import type { Labels } from '../../../../src/tsdb/storage.js';
import { isStaleNaN, isOrdered, type EvalCommand, type TimeRange } from './script.js';
import { compareLabels } from '../../../../src/tsdb/head/labels.js';

const EPSILON = 1e-6;
const MIN_NORMAL = 2.2250738585072014e-308;

/** A query result with stale markers' identity kept (values stay in Float64Arrays). */
export type ActualValue =
  | { resultType: 'scalar'; value: Float64Array }
  | { resultType: 'string'; value: string }
  | { resultType: 'vector'; series: Array<{ labels: Labels; value: Float64Array }> }
  | { resultType: 'matrix'; series: Array<{ labels: Labels; timestamps: Float64Array; values: Float64Array }> };

/** Prometheus' almost.Equal on element i of two arrays (arrays so stale-marker bits survive). */
export function almostEqualAt(a: Float64Array, i: number, b: Float64Array, j: number): boolean {
  const sa = isStaleNaN(a, i);
  const sb = isStaleNaN(b, j);
  if (sa || sb) return sa && sb;
  const x = a[i]!;
  const y = b[j]!;
  if (Number.isNaN(x) && Number.isNaN(y)) return true;
  if (x === y) return true;
  const absSum = Math.abs(x) + Math.abs(y);
  const diff = Math.abs(x - y);
  if (x === 0 || y === 0 || absSum < MIN_NORMAL) return diff < EPSILON * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < EPSILON;
}

/** `foo{a="b"}` as Prometheus prints a label set. */
export function formatLabels(labels: Labels): string {
  const name = labels.find(([n]) => n === '__name__')?.[1];
  const rest = labels.filter(([n]) => n !== '__name__' || name === undefined || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name));
  const body = rest.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(', ');
  if (name !== undefined && rest.length !== labels.length) return rest.length === 0 ? name : `${name}{${body}}`;
  return `{${body}}`;
}

export function formatValue(a: Float64Array, i: number): string {
  if (isStaleNaN(a, i)) return 'stale';
  const v = a[i]!;
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export const labelsKey = (labels: Labels): string => JSON.stringify(labels);


function matrixUnsorted(series: ReadonlyArray<{ labels: Labels }>): string | undefined {
  for (let i = 0; i + 1 < series.length; i++) {
    if (compareLabels(series[i]!.labels, series[i + 1]!.labels) > 0) {
      return `matrix results should always be sorted by labels, but ${formatLabels(series[i + 1]!.labels)} (index ${i + 1}) sorts before ${formatLabels(series[i]!.labels)} (index ${i})`;
    }
  }
  return undefined;
}

const SINGLE = new Float64Array(1);
function one(v: number): Float64Array {
  SINGLE[0] = v;
  return SINGLE;
}

/**
 * Compares a result with the eval's expectation; returns a one-line description of the first
 * difference, or undefined when they match. `range` gives the steps of a matrix result.
 */
export function compareResult(cmd: EvalCommand, actual: ActualValue, range: TimeRange | undefined): string | undefined {
  const expectScalar = cmd.expectedScalar !== undefined;
  const expected = new Map(cmd.expectedSeries.map((s) => [labelsKey(s.labels), s]));
  switch (actual.resultType) {
    case 'string':
      if (cmd.expectedString === undefined) return `expected ${expectScalar ? 'a scalar' : 'a vector or matrix'}, but got string ${JSON.stringify(actual.value)}`;
      return actual.value === cmd.expectedString ? undefined : `expected string ${JSON.stringify(cmd.expectedString)} but got ${JSON.stringify(actual.value)}`;
    case 'scalar':
      if (!expectScalar) return `expected ${cmd.expectedString !== undefined ? 'a string' : 'a vector or matrix'} result, but got scalar ${formatValue(actual.value, 0)}`;
      return almostEqualAt(one(cmd.expectedScalar!), 0, actual.value, 0) ? undefined : `expected scalar ${cmd.expectedScalar} but got ${formatValue(actual.value, 0)}`;
    case 'vector': {
      if (expectScalar) return `expected scalar result, but got a vector of ${actual.series.length} series`;
      if (cmd.expectedString !== undefined) return `expected string result, but got a vector of ${actual.series.length} series`;
      const seen = new Set<string>();
      for (let pos = 0; pos < actual.series.length; pos++) {
        const s = actual.series[pos]!;
        const key = labelsKey(s.labels);
        const exp = expected.get(key);
        if (exp === undefined) return `unexpected metric ${formatLabels(s.labels)} in result, has value ${formatValue(s.value, 0)}`;
        if (seen.has(key)) return `metric ${formatLabels(s.labels)} appears twice in the result`;
        if (isOrdered(cmd) && exp.pos !== pos + 1) return `expected metric ${formatLabels(s.labels)} at position ${exp.pos} but was at ${pos + 1}`;
        if (exp.values.length === 0 || exp.present[0] === 0) return `expected line for ${formatLabels(s.labels)} has no value`;
        if (!almostEqualAt(exp.values, 0, s.value, 0)) return `expected ${formatValue(exp.values, 0)} for ${formatLabels(s.labels)} but got ${formatValue(s.value, 0)}`;
        seen.add(key);
      }
      for (const [key, exp] of expected) if (!seen.has(key)) return `expected metric ${formatLabels(exp.labels)} with ${formatValue(exp.values, 0)} not found`;
      return undefined;
    }
    case 'matrix': {
      if (isOrdered(cmd)) return 'expected ordered result, but query returned a matrix';
      if (expectScalar) return `expected scalar result, but got a matrix of ${actual.series.length} series`;
      if (cmd.expectedString !== undefined) return `expected string result, but got a matrix of ${actual.series.length} series`;
      const unsorted = matrixUnsorted(actual.series);
      if (unsorted !== undefined) return unsorted;
      const seen = new Set<string>();
      for (const s of actual.series) {
        const key = labelsKey(s.labels);
        const exp = expected.get(key);
        if (exp === undefined) return `unexpected metric ${formatLabels(s.labels)} in result, has ${formatPoints(s.timestamps, s.values)}`;
        seen.add(key);
        const expT: number[] = [];
        const expI: number[] = [];
        for (let i = 0; i < exp.values.length; i++) {
          const t = range === undefined ? NaN : range.startMs + i * range.stepMs;
          if (range === undefined || t > range.endMs) return `expected ${exp.values.length} points for ${formatLabels(exp.labels)}, but the query time range cannot return this many points`;
          if (exp.present[i] === 1) {
            expT.push(t);
            expI.push(i);
          }
        }
        if (expT.length !== s.timestamps.length) {
          return `expected ${expT.length} points for ${formatLabels(exp.labels)} but got ${s.timestamps.length}: ${formatPoints(s.timestamps, s.values)}`;
        }
        for (let k = 0; k < expT.length; k++) {
          if (expT[k] !== s.timestamps[k]) return `expected point ${k} of ${formatLabels(exp.labels)} at t=${expT[k]} but it is at t=${s.timestamps[k]} (result has ${formatPoints(s.timestamps, s.values)})`;
          if (!almostEqualAt(exp.values, expI[k]!, s.values, k)) {
            return `expected ${formatValue(exp.values, expI[k]!)} at t=${expT[k]} for ${formatLabels(exp.labels)} but got ${formatValue(s.values, k)} (result has ${formatPoints(s.timestamps, s.values)})`;
          }
        }
      }
      for (const [key, exp] of expected) if (!seen.has(key)) return `expected metric ${formatLabels(exp.labels)} not found`;
      return undefined;
    }
  }
}

const MAX_POINTS_SHOWN = 12;

export function formatPoints(timestamps: Float64Array, values: Float64Array): string {
  const parts: string[] = [];
  for (let i = 0; i < timestamps.length && i < MAX_POINTS_SHOWN; i++) parts.push(`${formatValue(values, i)}@${timestamps[i]}`);
  if (timestamps.length > MAX_POINTS_SHOWN) parts.push(`… ${timestamps.length - MAX_POINTS_SHOWN} more`);
  return `[${parts.join(' ')}]`;
}

/** The result at one step of a range query's matrix, as an instant vector (the harness' range-mode check). */
export function vectorAt(matrix: Extract<ActualValue, { resultType: 'matrix' }>, timeMs: number): Extract<ActualValue, { resultType: 'vector' }> {
  const series: Array<{ labels: Labels; value: Float64Array }> = [];
  for (const s of matrix.series) {
    const i = s.timestamps.indexOf(timeMs);
    if (i >= 0) series.push({ labels: s.labels, value: s.values.subarray(i, i + 1) });
  }
  return { resultType: 'vector', series };
}

const MAX_SERIES_SHOWN = 8;

/** A compact rendering of a result for failure reports. */
export function formatActual(v: ActualValue): string {
  switch (v.resultType) {
    case 'scalar':
      return `scalar ${formatValue(v.value, 0)}`;
    case 'string':
      return `string ${JSON.stringify(v.value)}`;
    case 'vector':
      return listed(v.series.map((s) => `${formatLabels(s.labels)} ${formatValue(s.value, 0)}`));
    case 'matrix':
      return listed(v.series.map((s) => `${formatLabels(s.labels)} ${formatPoints(s.timestamps, s.values)}`));
  }
}

/** A compact rendering of the eval's expectation. */
export function formatExpected(cmd: EvalCommand): string {
  if (cmd.expectedScalar !== undefined) return `scalar ${cmd.expectedScalar}`;
  if (cmd.expectedString !== undefined) return `string ${JSON.stringify(cmd.expectedString)}`;
  return listed(
    cmd.expectedSeries.map((s) => {
      const vals: string[] = [];
      for (let i = 0; i < s.values.length && i < MAX_POINTS_SHOWN; i++) vals.push(s.present[i] === 1 ? formatValue(s.values, i) : '_');
      if (s.values.length > MAX_POINTS_SHOWN) vals.push(`… ${s.values.length - MAX_POINTS_SHOWN} more`);
      return `${formatLabels(s.labels)} ${vals.join(' ')}`;
    }),
  );
}

function listed(items: string[]): string {
  if (items.length === 0) return '(empty)';
  const shown = items.slice(0, MAX_SERIES_SHOWN);
  if (items.length > MAX_SERIES_SHOWN) shown.push(`… ${items.length - MAX_SERIES_SHOWN} more`);
  return shown.join(' | ');
}

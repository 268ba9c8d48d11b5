// Builders for calling PromQL function implementations directly, without the engine.

import type { Labels } from '../../../../src/tsdb/storage.js';
import type { Annotations, Grid, StepSeries } from '../../../../src/tsdb/promql/values.js';
import type { CallContext, RangeWindow } from '../../../../src/tsdb/promql/functions/types.js';
import type { Expr } from '../../../../src/tsdb/promql/ast.js';

export class CollectedAnnotations implements Annotations {
  readonly warnings: string[] = [];
  readonly infos: string[] = [];
  warn(message: string): void {
    this.warnings.push(message);
  }
  info(message: string): void {
    this.infos.push(message);
  }
}

/**
 * A window over samples given as [seconds, value] pairs, for the range (startS, endS]; padding
 * samples outside the window make sure functions honour from/to rather than the array bounds.
 */
export function windowOf(samples: Array<[number, number]>, startS: number, endS: number, labels: Labels = [], evalTimeS = endS): RangeWindow {
  const timestamps = new Float64Array(samples.length + 2);
  const values = new Float64Array(samples.length + 2);
  timestamps[0] = -1e12;
  values[0] = 12345;
  samples.forEach(([t, v], i) => {
    timestamps[i + 1] = t * 1000;
    values[i + 1] = v;
  });
  timestamps[samples.length + 1] = 1e12;
  values[samples.length + 1] = -54321;
  return { timestamps, values, from: 1, to: samples.length + 1, rangeStartMs: startS * 1000, rangeEndMs: endS * 1000, evalTimeMs: evalTimeS * 1000, labels };
}

/** A series over `values.length` steps; `undefined` marks a step without a point. */
export function seriesOf(labels: Labels, values: Array<number | undefined>): StepSeries {
  return {
    labels,
    values: Float64Array.from(values, (v) => v ?? 0),
    present: Uint8Array.from(values, (v) => (v === undefined ? 0 : 1)),
  };
}

/** The step values of a series, `undefined` where absent. */
export function pointsOf(s: StepSeries): Array<number | undefined> {
  return Array.from(s.values, (v, i) => (s.present[i] === 1 ? v : undefined));
}

export function contextOf(steps: number, argExprs: Expr[] = [], startMs = 0, intervalMs = 60_000): CallContext & { annotations: CollectedAnnotations } {
  const grid: Grid = { startMs, intervalMs, steps };
  return { grid, annotations: new CollectedAnnotations(), argExprs };
}

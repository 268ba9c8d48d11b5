// The values the engine computes with. Every query, instant or range, is evaluated over a grid of
// steps (an instant query is a grid of one step), one series at a time on typed arrays: an instant
// vector is a list of series each holding one value per step plus a presence flag, a scalar is one
// number per step. This keeps the hot loops (selectors, rate, sum by) free of per-sample objects.

import type { Labels } from '../storage.js';

/** Evaluation steps at `startMs + i * intervalMs` for i in [0, steps). */
export interface Grid {
  startMs: number;
  intervalMs: number;
  steps: number;
}

/** One series of an instant vector over the grid. */
export interface StepSeries {
  /** Sorted by name, no empty values; includes `__name__` unless dropped. */
  labels: Labels;
  /** Value at each step (meaningful only where `present[i]` is 1). */
  values: Float64Array;
  /** 1 where the series has a sample at step i. */
  present: Uint8Array;
  /**
   * Delayed `__name__` removal (Prometheus' EnableDelayedNameRemoval, which promqltest enables):
   * an operation that would drop the name sets this instead; the engine removes it at the end.
   */
  dropName?: boolean;
}

/** An instant vector over the grid. */
export type StepVector = StepSeries[];

/** A scalar over the grid: one value per step (always present). */
export type StepScalar = Float64Array;

/** Annotations collected while a query runs; the API returns them as `warnings` and `infos` (deduplicated). */
export interface Annotations {
  warn(message: string): void;
  info(message: string): void;
}

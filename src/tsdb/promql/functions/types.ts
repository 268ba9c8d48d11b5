// The contract between the engine (engine.ts) and the PromQL function implementations in this folder.
// The engine evaluates arguments, computes range windows and calls these; functions never touch storage.

import type { Expr } from '../ast.js';
import type { Labels } from '../../storage.js';
import type { Annotations, Grid, StepScalar, StepVector } from '../values.js';

/**
 * The samples of one series that fall in one step's range window.
 * Samples are `timestamps[from..to)` / `values[from..to)`, ascending, stale markers already removed.
 * The window is the left-open interval (rangeStartMs, rangeEndMs] (after offset and @).
 */
export interface RangeWindow {
  timestamps: Float64Array;
  values: Float64Array;
  from: number;
  to: number;
  rangeStartMs: number;
  rangeEndMs: number;
  /** The step's evaluation time (before offset/@), which predict_linear and friends use. */
  evalTimeMs: number;
  /** Labels of the input series (for annotations such as "metric might not be a counter"). */
  labels: Labels;
}

/** A function over a range vector argument, applied per series per step: rate, *_over_time, deriv, ... */
export interface RangeFunction {
  kind: 'range';
  /** Index of the matrix argument in the call (0 for most, 1 for quantile_over_time). */
  matrixArg: number;
  /** true for last_over_time/first_over_time, which keep `__name__`; all others drop it. */
  keepsName?: boolean;
  /**
   * One step's value or undefined for no output. `params` holds the call's other (scalar) arguments
   * evaluated at this step, in call order without the matrix argument.
   */
  apply(w: RangeWindow, params: readonly number[], annotations: Annotations): number | undefined;
}

/** A function applied to each value of an instant vector independently: abs, ceil, clamp, hour, ... */
export interface ElementwiseFunction {
  kind: 'elementwise';
  /**
   * `params` holds the call's scalar arguments after the vector one, at this step; `stepMs` is the step's time.
   * Returns the new value, or undefined to drop the element (never used by current functions but kept for clamp-like filters).
   */
  apply(v: number, params: readonly number[], stepMs: number): number | undefined;
  /**
   * Value used when the call has no vector argument (hour(), minute(), ... default to vector(time())):
   * engine passes `time()` as the element. Always true for the date functions.
   */
  defaultsToTime?: boolean;
}

/** An argument as the engine evaluated it over the grid. Matrix arguments are never passed to custom functions. */
export type EvaluatedArg = StepVector | StepScalar | string;

export interface CallContext {
  grid: Grid;
  annotations: Annotations;
  /** The call's argument expressions, unevaluated (absent() builds its labels from the selector's matchers). */
  argExprs: readonly Expr[];
}

/** Anything else: label_replace, label_join, histogram_quantile, sort*, absent, scalar, vector, time, pi, ... */
export interface CustomFunction {
  kind: 'custom';
  call(args: readonly EvaluatedArg[], ctx: CallContext): StepVector | StepScalar;
}

export type FunctionImpl = RangeFunction | ElementwiseFunction | CustomFunction;

// Walks over the PromQL syntax tree for the harness: the step-invariance rewrite (`@ T` on every
// selector), the functions that rule a check out, and which selectors an expression reads.

import { compileMatcher, matchesAll } from '../../../../src/tsdb/blocks/matchers.js';
import type { AtModifier, Expr } from '../../../../src/tsdb/promql/ast.js';
import type { LabelMatcher, Labels } from '../../../../src/tsdb/storage.js';

/** Functions whose value depends on the evaluation time even with pinned arguments (Prometheus' AtModifierUnsafeFunctions). */
export const AT_MODIFIER_UNSAFE_FUNCTIONS = new Set(['days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'hour', 'minute', 'month', 'year', 'predict_linear', 'time', 'timestamp']);
/** Functions that read the query's own range; a range-mode rerun would change their value. */
export const RANGE_CONTEXT_FUNCTIONS = new Set(['start', 'end', 'range', 'step']);

function children(e: Expr): Expr[] {
  switch (e.type) {
    case 'NumberLiteral':
    case 'StringLiteral':
    case 'VectorSelector':
      return [];
    case 'MatrixSelector':
      return [e.vector];
    case 'SubqueryExpr':
    case 'ParenExpr':
    case 'UnaryExpr':
      return [e.expr];
    case 'BinaryExpr':
      return [e.lhs, e.rhs];
    case 'AggregateExpr':
      return e.param === undefined ? [e.expr] : [e.param, e.expr];
    case 'Call':
      return e.args;
  }
}

export function callsAnyOf(e: Expr, names: ReadonlySet<string>): boolean {
  if (e.type === 'Call' && names.has(e.func)) return true;
  return children(e).some((c) => callsAnyOf(c, names));
}

/** Every vector selector in the expression (including those under matrix selectors and subqueries). */
export function selectorsOf(e: Expr): LabelMatcher[][] {
  if (e.type === 'VectorSelector') return [e.matchers];
  return children(e).flatMap(selectorsOf);
}

/** The data a selector reads relative to an evaluation time t: samples in [t − back, t + forward], or any time (an `@`). */
export interface SelectorWindow {
  matchers: LabelMatcher[];
  backMs: number;
  forwardMs: number;
  anyTime: boolean;
}

/** Every selector with the window of samples it can read (offsets, ranges, lookback and subqueries accounted). */
export function selectorWindows(e: Expr, lookbackMs: number): SelectorWindow[] {
  const out: SelectorWindow[] = [];
  const walk = (n: Expr, back: number, forward: number, anyTime: boolean): void => {
    if (n.type === 'VectorSelector' || n.type === 'MatrixSelector') {
      const v = n.type === 'VectorSelector' ? n : n.vector;
      const reach = n.type === 'VectorSelector' ? lookbackMs : n.rangeMs;
      out.push({ matchers: v.matchers, backMs: back + v.offsetMs + reach, forwardMs: forward - v.offsetMs, anyTime: anyTime || v.at !== undefined });
      return;
    }
    if (n.type === 'SubqueryExpr') {
      walk(n.expr, back + n.offsetMs + n.rangeMs, forward - n.offsetMs, anyTime || n.at !== undefined);
      return;
    }
    for (const c of children(n)) walk(c, back, forward, anyTime);
  };
  walk(e, 0, 0, false);
  return out;
}

/**
 * A copy of `e` with `@ timeMs` on every selector and subquery outside a subquery that has no
 * numeric `@` (Prometheus' harness overwrites `@ start()`/`@ end()` too, because its parser leaves
 * their timestamp unset). Selectors inside a subquery are left alone: the subquery is pinned.
 */
export function pinAt(e: Expr, timeMs: number): Expr {
  const pinned = (at: AtModifier | undefined): AtModifier => (at?.kind === 'time' ? at : { kind: 'time', ms: timeMs });
  switch (e.type) {
    case 'NumberLiteral':
    case 'StringLiteral':
      return e;
    case 'VectorSelector':
      return { ...e, at: pinned(e.at) };
    case 'MatrixSelector':
      return { ...e, vector: { ...e.vector, at: pinned(e.vector.at) } };
    case 'SubqueryExpr':
      return { ...e, at: pinned(e.at) };
    case 'ParenExpr':
    case 'UnaryExpr':
      return { ...e, expr: pinAt(e.expr, timeMs) };
    case 'BinaryExpr':
      return { ...e, lhs: pinAt(e.lhs, timeMs), rhs: pinAt(e.rhs, timeMs) };
    case 'AggregateExpr':
      return { ...e, expr: pinAt(e.expr, timeMs), ...(e.param === undefined ? {} : { param: pinAt(e.param, timeMs) }) };
    case 'Call':
      return { ...e, args: e.args.map((a) => pinAt(a, timeMs)) };
  }
}

/** The extra evaluation times of the step-invariance check for an eval at `t` (Prometheus' choice). */
export function stepInvarianceTimes(t: number): number[] {
  return t === 0 ? [-1000, 0, 1000] : [-10 * t, 0, Math.trunc(t / 5), t, 10 * t];
}

export function seriesMatches(labels: Labels, matchers: readonly LabelMatcher[]): boolean {
  return matchesAll(labels, matchers.map(compileMatcher));
}

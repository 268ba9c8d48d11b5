// absent, scalar, vector, time and pi: functions that convert between scalars and vectors or
// build a series from nothing.

import type { Expr } from '../ast.js';
import type { Labels } from '../../storage.js';
import type { StepScalar, StepVector } from '../values.js';
import type { CustomFunction } from './types.js';

function unwrapParens(e: Expr): Expr {
  while (e.type === 'ParenExpr') e = e.expr;
  return e;
}

/**
 * The labels absent()/absent_over_time() give their result: the equality matchers of the selector
 * argument, except the metric name. A label matched more than once, or also by a non-equality
 * matcher, is left out (Prometheus' historic behaviour). No labels for any other argument.
 */
export function absentLabels(arg: Expr): Labels {
  const e = unwrapParens(arg);
  const selector = e.type === 'VectorSelector' ? e : e.type === 'MatrixSelector' ? e.vector : undefined;
  if (selector === undefined) return [];
  const values = new Map<string, string>();
  const seen = new Set<string>();
  for (const m of selector.matchers) {
    if (m.name === '__name__') continue;
    if (m.type === '=' && !seen.has(m.name)) {
      values.set(m.name, m.value);
      seen.add(m.name);
    } else {
      values.delete(m.name);
    }
  }
  return [...values].filter(([, v]) => v !== '').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** absent(v): 1, labelled from v's selector, at the steps where v has no element. */
export const absent: CustomFunction = {
  kind: 'custom',
  call(args, ctx) {
    const input = args[0] as StepVector;
    const steps = ctx.grid.steps;
    const values = new Float64Array(steps);
    const present = new Uint8Array(steps);
    let any = false;
    for (let step = 0; step < steps; step++) {
      let found = false;
      for (const s of input) {
        if (s.present[step] === 1) {
          found = true;
          break;
        }
      }
      if (!found) {
        values[step] = 1;
        present[step] = 1;
        any = true;
      }
    }
    return any ? [{ labels: absentLabels(ctx.argExprs[0]!), values, present }] : [];
  },
};

/** scalar(v): the value of v's single element, NaN when v has none or several. */
export const scalar: CustomFunction = {
  kind: 'custom',
  call(args, ctx) {
    const input = args[0] as StepVector;
    const out: StepScalar = new Float64Array(ctx.grid.steps);
    for (let step = 0; step < out.length; step++) {
      let value = NaN;
      let found = 0;
      for (const s of input) {
        if (s.present[step] === 1) {
          value = s.values[step]!;
          if (++found > 1) break;
        }
      }
      out[step] = found === 1 ? value : NaN;
    }
    return out;
  },
};

/** vector(s): one series without labels holding s. */
export const vector: CustomFunction = {
  kind: 'custom',
  call(args, ctx) {
    const s = args[0] as StepScalar;
    const steps = ctx.grid.steps;
    return [{ labels: [], values: Float64Array.from(s.subarray(0, steps)), present: new Uint8Array(steps).fill(1) }];
  },
};

/** time(): the evaluation time in seconds. */
export const time: CustomFunction = {
  kind: 'custom',
  call(_args, ctx) {
    const { startMs, intervalMs, steps } = ctx.grid;
    const out = new Float64Array(steps);
    for (let step = 0; step < steps; step++) out[step] = (startMs + step * intervalMs) / 1000;
    return out;
  },
};

export const pi: CustomFunction = {
  kind: 'custom',
  call(_args, ctx) {
    return new Float64Array(ctx.grid.steps).fill(Math.PI);
  },
};

// Elementwise arithmetic functions. The engine drops __name__ from their results.

import type { ElementwiseFunction } from './types.js';

function unary(f: (v: number) => number): ElementwiseFunction {
  return { kind: 'elementwise', apply: (v) => f(v) };
}

// Go's math.Max/Min: an infinity on the side being selected wins even over NaN; otherwise NaN wins.
function goMax(a: number, b: number): number {
  if (a === Infinity || b === Infinity) return Infinity;
  if (a !== a || b !== b) return NaN;
  return Math.max(a, b);
}

function goMin(a: number, b: number): number {
  if (a === -Infinity || b === -Infinity) return -Infinity;
  if (a !== a || b !== b) return NaN;
  return Math.min(a, b);
}

export const MATH_FUNCTIONS: Readonly<Record<string, ElementwiseFunction>> = {
  abs: unary(Math.abs),
  ceil: unary(Math.ceil),
  floor: unary(Math.floor),
  exp: unary(Math.exp),
  sqrt: unary(Math.sqrt),
  ln: unary(Math.log),
  log2: unary(Math.log2),
  log10: unary(Math.log10),
  sin: unary(Math.sin),
  cos: unary(Math.cos),
  tan: unary(Math.tan),
  asin: unary(Math.asin),
  acos: unary(Math.acos),
  atan: unary(Math.atan),
  sinh: unary(Math.sinh),
  cosh: unary(Math.cosh),
  tanh: unary(Math.tanh),
  asinh: unary(Math.asinh),
  acosh: unary(Math.acosh),
  atanh: unary(Math.atanh),
  rad: unary((v) => (v * Math.PI) / 180),
  deg: unary((v) => (v * 180) / Math.PI),
  // -1, +1, or the value itself for ±0 and NaN.
  sgn: unary((v) => (v < 0 ? -1 : v > 0 ? 1 : v)),
  /** round(v, toNearest = 1): ties round up; dividing by the inverse is what Prometheus does (fewer float artefacts). */
  round: {
    kind: 'elementwise',
    apply(v, params) {
      const toNearest = params.length > 0 ? params[0]! : 1;
      const inverse = 1 / toNearest;
      return Math.floor(v * inverse + 0.5) / inverse;
    },
  },
  /** clamp(v, min, max): no output at all when max < min. */
  clamp: {
    kind: 'elementwise',
    apply(v, params) {
      const min = params[0]!;
      const max = params[1]!;
      if (max < min) return undefined;
      return goMax(min, goMin(max, v));
    },
  },
  clamp_min: {
    kind: 'elementwise',
    apply(v, params) {
      return goMax(params[0]!, goMin(Infinity, v));
    },
  },
  clamp_max: {
    kind: 'elementwise',
    apply(v, params) {
      return goMax(-Infinity, goMin(params[0]!, v));
    },
  },
};

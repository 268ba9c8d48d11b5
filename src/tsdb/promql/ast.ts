// The PromQL syntax tree Kiln evaluates. parser.ts builds it from @prometheus-io/lezer-promql's
// concrete tree and type-checks it as Prometheus does; engine.ts evaluates it. Node names follow
// Prometheus' parser package (promql/parser/ast.go) so its documentation carries over.
//
// Times and durations are milliseconds. Offsets may be negative.

import type { LabelMatcher } from '../storage.js';

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | ParenExpr
  | UnaryExpr
  | BinaryExpr
  | AggregateExpr
  | Call;

/** `@ <time>`, `@ start()`, `@ end()`. */
export type AtModifier = { kind: 'time'; ms: number } | { kind: 'start' } | { kind: 'end' };

export interface NumberLiteral {
  type: 'NumberLiteral';
  value: number;
}

export interface StringLiteral {
  type: 'StringLiteral';
  value: string;
}

/** `foo{a="b"} offset 5m @ 100`. `matchers` includes `__name__="foo"` when a name is written. */
export interface VectorSelector {
  type: 'VectorSelector';
  /** The metric name as written before the braces (or as the quoted name inside them), if any. */
  name?: string;
  matchers: LabelMatcher[];
  offsetMs: number;
  at?: AtModifier;
}

/** `foo[5m]`; offset and @ live on the inner selector. */
export interface MatrixSelector {
  type: 'MatrixSelector';
  vector: VectorSelector;
  rangeMs: number;
}

/** `expr[range:step]`; `stepMs` 0 means the engine's default evaluation interval. */
export interface SubqueryExpr {
  type: 'SubqueryExpr';
  expr: Expr;
  rangeMs: number;
  stepMs: number;
  offsetMs: number;
  at?: AtModifier;
}

export interface ParenExpr {
  type: 'ParenExpr';
  expr: Expr;
}

export interface UnaryExpr {
  type: 'UnaryExpr';
  op: '-' | '+';
  expr: Expr;
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

/** How the two sides of a vector/vector operation are matched (Prometheus' VectorMatching). */
export interface VectorMatching {
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** true: match on `labels` only (`on(...)`); false: on all labels except `labels` (`ignoring(...)`, or none written). */
  on: boolean;
  labels: string[];
  /** Extra labels copied from the "one" side (`group_left(x, y)`). */
  include: string[];
}

export interface BinaryExpr {
  type: 'BinaryExpr';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  /** The `bool` modifier on a comparison. */
  returnBool: boolean;
  /** Set only when both sides are instant vectors (set operators get many-to-many). */
  matching?: VectorMatching;
}

export type AggregateOp =
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'quantile'
  | 'count_values'
  | 'limitk'
  | 'limit_ratio';

export interface AggregateExpr {
  type: 'AggregateExpr';
  op: AggregateOp;
  expr: Expr;
  /** k, φ, ratio or the count_values label name. */
  param?: Expr;
  grouping: string[];
  /** `without (...)` rather than `by (...)`. */
  without: boolean;
}

export interface Call {
  type: 'Call';
  func: string;
  args: Expr[];
}

/** The type an expression evaluates to (Prometheus' Expr.Type()). */
export function typeOf(e: Expr): ValueType {
  switch (e.type) {
    case 'NumberLiteral':
      return 'scalar';
    case 'StringLiteral':
      return 'string';
    case 'VectorSelector':
    case 'AggregateExpr':
      return 'vector';
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return 'matrix';
    case 'ParenExpr':
    case 'UnaryExpr':
      return typeOf(e.expr);
    case 'BinaryExpr':
      return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'Call':
      return functionReturnType(e.func);
  }
}

// Return types of the functions that do not return an instant vector; parser.ts owns the full signatures.
function functionReturnType(name: string): ValueType {
  return name === 'time' || name === 'pi' || name === 'scalar' ? 'scalar' : 'vector';
}

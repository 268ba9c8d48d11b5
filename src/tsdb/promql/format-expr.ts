// PromQL syntax tree → text, as Prometheus prints expressions (promql/parser/printer.go String()):
// `sum by (job) (rate(foo{a="b"}[5m]))`. parseExpr(formatExpr(e)) gives back e (label matchers
// come out sorted, as Prometheus prints them).

import type { AtModifier, Expr, VectorMatching, VectorSelector } from './ast.js';
import { formatDuration } from './duration.js';
import { formatGoFloatPlain, goQuote } from './go-format.js';

const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LEGACY_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Prometheus' one-line String() form of an expression. */
export function formatExpr(e: Expr): string {
  switch (e.type) {
    case 'NumberLiteral':
      return Number.isNaN(e.value) ? 'NaN' : formatGoFloatPlain(e.value);
    case 'StringLiteral':
      return goQuote(e.value);
    case 'VectorSelector':
      return formatSelector(e) + modifiers(e.at, e.offsetMs);
    case 'MatrixSelector':
      return `${formatSelector(e.vector)}[${formatDuration(e.rangeMs)}]${modifiers(e.vector.at, e.vector.offsetMs)}`;
    case 'SubqueryExpr':
      return `${formatExpr(e.expr)}[${formatDuration(e.rangeMs)}:${e.stepMs !== 0 ? formatDuration(e.stepMs) : ''}]${modifiers(e.at, e.offsetMs)}`;
    case 'ParenExpr':
      return `(${formatExpr(e.expr)})`;
    case 'UnaryExpr':
      return `${e.op}${formatExpr(e.expr)}`;
    case 'BinaryExpr':
      return `${formatExpr(e.lhs)} ${e.op}${e.returnBool ? ' bool' : ''}${formatMatching(e.matching)} ${formatExpr(e.rhs)}`;
    case 'AggregateExpr':
      return `${aggregateHead(e)}(${e.param ? formatExpr(e.param) + ', ' : ''}${formatExpr(e.expr)})`;
    case 'Call':
      return `${e.func}(${e.args.map(formatExpr).join(', ')})`;
  }
}

/** `sum`, `sum by (job) `, `sum without (a, b) ` (the trailing space is Prometheus'). */
export function aggregateHead(e: Expr & { type: 'AggregateExpr' }): string {
  if (e.without) return `${e.op} without (${joinLabels(e.grouping)}) `;
  if (e.grouping.length > 0) return `${e.op} by (${joinLabels(e.grouping)}) `;
  return e.op;
}

function joinLabels(labels: readonly string[]): string {
  return labels.map((l) => (LEGACY_METRIC_NAME.test(l) ? l : goQuote(l))).join(', ');
}

/** ` on (a) group_left (b)`, ` ignoring (a)`, or nothing. */
export function formatMatching(m: VectorMatching | undefined): string {
  if (!m || (m.labels.length === 0 && !m.on)) return '';
  let s = ` ${m.on ? 'on' : 'ignoring'} (${m.labels.join(', ')})`;
  if (m.card === 'many-to-one' || m.card === 'one-to-many') {
    s += ` group_${m.card === 'many-to-one' ? 'left' : 'right'} (${m.include.join(', ')})`;
  }
  return s;
}

/** The selector without its modifiers: `foo{a="b"}`, `{"my.metric",a="b"}`. */
function formatSelector(vs: VectorSelector): string {
  const name = vs.name;
  const bareName = name !== undefined && name !== '' && LEGACY_METRIC_NAME.test(name);
  const quotedName = name !== undefined && name !== '' && !bareName;
  let skipped = false;
  const labels: string[] = [];
  for (const m of vs.matchers) {
    // The name matcher is printed as the name, once.
    if (!skipped && (bareName || quotedName) && m.name === '__name__' && m.type === '=' && m.value === name) {
      skipped = true;
      continue;
    }
    labels.push(`${LEGACY_LABEL_NAME.test(m.name) ? m.name : goQuote(m.name)}${m.type}${goQuote(m.value)}`);
  }
  labels.sort();
  if (quotedName) labels.unshift(goQuote(name));
  const prefix = bareName ? name : '';
  return labels.length === 0 ? prefix : `${prefix}{${labels.join(',')}}`;
}

function modifiers(at: AtModifier | undefined, offsetMs: number): string {
  let s = '';
  if (at) s += at.kind === 'time' ? ` @ ${(at.ms / 1000).toFixed(3)}` : ` @ ${at.kind}()`;
  if (offsetMs > 0) s += ` offset ${formatDuration(offsetMs)}`;
  else if (offsetMs < 0) s += ` offset -${formatDuration(-offsetMs)}`;
  return s;
}

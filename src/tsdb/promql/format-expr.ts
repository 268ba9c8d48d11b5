// PromQL syntax tree → text, as Prometheus prints expressions (promql/parser/printer.go String()):
// `sum by (job) (rate(foo{a="b"}[5m]))`. parseExpr(formatExpr(e)) gives back e (label matchers
// come out sorted, as Prometheus prints them). prettyExpr is the multi-line form of
// promql/parser/prettier.go (Pretty(0)), which /api/v1/format_query answers.

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
      return formatExpr(e.expr) + subquerySuffix(e);
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

/** `[5m:1m] @ 100.000 offset 1m`: what a subquery adds to its expression. */
function subquerySuffix(e: Expr & { type: 'SubqueryExpr' }): string {
  return `[${formatDuration(e.rangeMs)}:${e.stepMs !== 0 ? formatDuration(e.stepMs) : ''}]${modifiers(e.at, e.offsetMs)}`;
}

/** Prometheus' limit (maxCharactersPerLine) above which Pretty splits an expression. */
export const PRETTY_LINE_LIMIT = 100;

/**
 * Prometheus' multi-line Pretty(0) form. An expression whose one-line form is at most `lineLimit`
 * bytes (UTF-8, as Go's len) is written as formatExpr writes it; a longer one is split: its
 * operands go on lines of their own, indented two spaces per level, and are split in turn.
 * `lineLimit` is there for tests (Prometheus' own tests use 10).
 */
export function prettyExpr(e: Expr, lineLimit = PRETTY_LINE_LIMIT): string {
  return pretty(e, 0, lineLimit);
}

/** `e` at nesting `level`: every line, the first included, starts with its indentation. */
function pretty(e: Expr, level: number, limit: number): string {
  const pad = '  '.repeat(level);
  switch (e.type) {
    case 'NumberLiteral':
    case 'StringLiteral':
    case 'VectorSelector':
    case 'MatrixSelector':
      return pad + formatExpr(e);
    case 'UnaryExpr':
      // The operator takes the operand's place: its first line loses its indentation.
      // Unary expressions are never split themselves, only their operands.
      return pad + e.op + pretty(e.expr, level, limit).trim();
    default:
      break;
  }
  const flat = formatExpr(e);
  if (Buffer.byteLength(flat, 'utf8') <= limit) {
    // As Prometheus does, a subquery that fits is not indented (SubqueryExpr.Pretty).
    return e.type === 'SubqueryExpr' ? flat : pad + flat;
  }
  const inner = level + 1;
  switch (e.type) {
    case 'SubqueryExpr':
      return pretty(e.expr, level, limit) + subquerySuffix(e);
    case 'ParenExpr':
      return `${pad}(\n${pretty(e.expr, inner, limit)}\n${pad})`;
    case 'BinaryExpr':
      // The operator sits at this level, between its operands one level deeper.
      return `${pretty(e.lhs, inner, limit)}\n${pad}${e.op}${e.returnBool ? ' bool' : ''}${formatMatching(e.matching)}\n${pretty(e.rhs, inner, limit)}`;
    case 'AggregateExpr': {
      const param = e.param ? `${pretty(e.param, inner, limit)},\n` : '';
      return `${pad}${aggregateHead(e)}(\n${param}${pretty(e.expr, inner, limit)}\n${pad})`;
    }
    case 'Call':
      return `${pad}${e.func}(\n${e.args.map((a) => pretty(a, inner, limit)).join(',\n')}\n${pad})`;
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

/** ` on (a) group_left (b)`, ` ignoring (a)`, ` ignoring () group_left ()`, or nothing. */
export function formatMatching(m: VectorMatching | undefined): string {
  if (!m) return '';
  const grouped = m.card === 'many-to-one' || m.card === 'one-to-many';
  if (m.labels.length === 0 && !m.on && !grouped) return '';
  let s = ` ${m.on ? 'on' : 'ignoring'} (${joinLabels(m.labels)})`;
  if (grouped) s += ` group_${m.card === 'many-to-one' ? 'left' : 'right'} (${joinLabels(m.include)})`;
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

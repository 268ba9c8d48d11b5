// PromQL metric selectors, the language of a recording rule's `matchers`.
//
// A rule selects profile series with strings such as `{__profile_type__="...", service_name=~"api-.*"}`,
// `foo` or `foo{a="b"}`. We parse them with @prometheus-io/lezer-promql, the PromQL grammar of the
// Prometheus UI, so that what we accept is exactly PromQL syntax rather than a regex approximation.
// The grammar gives a syntax tree; this file then checks that the tree is a single plain vector
// selector (no operators, functions, ranges or modifiers), decodes its string literals with PromQL's
// escape rules and compiles its regexes.
//
// Regex semantics follow Prometheus: a regex matcher must match the WHOLE value (it is anchored as
// `^(?:re)$`) and `.` also matches a newline. JavaScript's engine is not RE2: regexes are compiled
// by the PromQL engine's translation (tsdb/promql/regex.ts: `(?i)`, `(?i:…)`, `(?P<name>`, POSIX
// classes), which rejects the JavaScript-only constructs RE2 lacks (backreferences, lookaround), so
// a rule that works here also works in Prometheus/Pyroscope and vice versa — and in Kiln's TSDB.

import { parser } from '@prometheus-io/lezer-promql';
import { compilePromRegex } from '../../tsdb/promql/regex.js';

export interface LabelMatcher {
  name: string;
  type: '=' | '!=' | '=~' | '!~';
  value: string;
}

/** A selector string that is not a plain PromQL metric selector. */
export class SelectorSyntaxError extends Error {
  override name = 'SelectorSyntaxError';
}

/** The label that carries the metric name in PromQL (`foo` is `{__name__="foo"}`). */
const METRIC_NAME_LABEL = '__name__';

/** Longest regex accepted, in characters: regexes run against every series of a compaction. */
export const MAX_REGEX_LENGTH = 4096;

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * Parses one PromQL metric selector into its label matchers (ANDed).
 * `foo` → [__name__="foo"]; `foo{a="b"}` → [__name__="foo", a="b"]; `{}` → [] (matches everything).
 * Throws SelectorSyntaxError for anything else, including empty input.
 */
export function parseSelector(text: string): LabelMatcher[] {
  if (text.trim() === '') {
    throw new SelectorSyntaxError('empty selector: expected a metric selector such as foo or {name="value"}');
  }
  const fail = (pos: number, what: string): never => {
    throw new SelectorSyntaxError(`parse error at ${lineCol(text, pos)} in ${quoteForMessage(text)}: ${what}`);
  };

  // JavaScript strings can hold lone UTF-16 surrogates, which have no UTF-8 encoding.
  const surrogate = /\p{Surrogate}/u.exec(text);
  if (surrogate) fail(surrogate.index, 'selector is not valid UTF-8 (lone surrogate)');
  const tree = parser.parse(text);

  // 1. Any syntax error anywhere. The grammar recovers from errors by inserting error nodes, so we
  //    report the first one together with what the parser was in the middle of.
  let firstError: { from: number; to: number; insideMatchers: boolean } | undefined;
  tree.iterate({
    enter(node) {
      if (firstError) return false;
      if (!node.type.isError) return undefined;
      let insideMatchers = false;
      for (let p = node.node.parent; p; p = p.parent) if (p.name === 'LabelMatchers') insideMatchers = true;
      firstError = { from: node.from, to: node.to, insideMatchers };
      return false;
    },
  });
  if (firstError) {
    const { from, to, insideMatchers } = firstError;
    const found = from >= text.length ? 'end of input' : quoteForMessage(text.slice(from, Math.max(to, from + 1)));
    const expected = insideMatchers
      ? 'expected a label matcher such as name="value", "," or "}"'
      : text.slice(0, from).trim() === ''
        ? 'expected a metric selector such as foo or {name="value"}'
        : 'expected end of input after the selector';
    fail(from, `unexpected ${found}, ${expected}`);
  }

  // 2. The whole input must be one vector selector (comments aside).
  const top = tree.topNode;
  const exprs: Array<{ name: string; from: number }> = [];
  for (let c = top.firstChild; c; c = c.nextSibling) if (c.name !== 'LineComment') exprs.push(c);
  const expr = top.getChild('VectorSelector');
  if (exprs.length !== 1 || !expr) {
    const what = exprs[0] ? describeNode(exprs[0].name) : 'nothing';
    return fail(exprs[0]?.from ?? 0, `expected a metric selector such as foo or {name="value"}, got ${what}`);
  }

  // 3. Its parts: an optional metric name, then `{...}` with matchers or a quoted metric name.
  const matchers: LabelMatcher[] = [];
  let metricNameAt: number | undefined;
  const setMetricName = (name: string, pos: number): void => {
    if (metricNameAt !== undefined) fail(pos, 'metric name must not be set twice');
    metricNameAt = pos;
    matchers.push({ name: METRIC_NAME_LABEL, type: '=', value: name });
  };
  const identifier = expr.getChild('Identifier');
  if (identifier) setMetricName(text.slice(identifier.from, identifier.to), identifier.from);

  const braces = expr.getChild('LabelMatchers');
  for (let m = braces?.firstChild; m; m = m.nextSibling) {
    const pos = m.from;
    switch (m.name) {
      case 'UnquotedLabelMatcher':
      case 'QuotedLabelMatcher': {
        const nameNode = m.getChild('LabelName') ?? m.getChild('QuotedLabelName')?.getChild('StringLiteral');
        const opNode = m.getChild('MatchOp');
        const valueNode = m.getChild('StringLiteral');
        if (!nameNode || !opNode || !valueNode) return fail(pos, 'incomplete label matcher');
        const name =
          nameNode.name === 'LabelName'
            ? text.slice(nameNode.from, nameNode.to)
            : decodeStringLiteral(text, nameNode.from, nameNode.to, fail);
        const type = text.slice(opNode.from, opNode.to) as LabelMatcher['type'];
        const value = decodeStringLiteral(text, valueNode.from, valueNode.to, fail);
        if (name === '') fail(pos, 'label name must not be empty');
        const matcher = { name, type, value };
        if (type === '=~' || type === '!~') {
          try {
            compiledRegex(value);
          } catch (err) {
            fail(valueNode.from, (err as Error).message);
          }
        }
        matchers.push(matcher);
        break;
      }
      case 'QuotedLabelName': {
        // `{"foo"}` is PromQL's spelling of a metric name that is not a valid identifier.
        const lit = m.getChild('StringLiteral');
        if (!lit) return fail(pos, 'incomplete quoted metric name');
        setMetricName(decodeStringLiteral(text, lit.from, lit.to, fail), pos);
        break;
      }
      default:
        return fail(pos, `unexpected ${describeNode(m.name)} inside {}`);
    }
  }
  return matchers;
}

/** A human name for a grammar node, used in "got a binary expression"-style messages. */
function describeNode(name: string): string {
  const names: Record<string, string> = {
    BinaryExpr: 'a binary expression',
    FunctionCall: 'a function call',
    MatrixSelector: 'a range selector',
    SubqueryExpr: 'a subquery',
    AggregateExpr: 'an aggregation',
    OffsetExpr: 'an offset modifier',
    StepInvariantExpr: 'an @ modifier',
    ParenExpr: 'a parenthesized expression',
    UnaryExpr: 'a unary expression',
    NumberDurationLiteral: 'a number',
    StringLiteral: 'a string',
  };
  return names[name] ?? name;
}

/** `line:column`, both 1-based, like Prometheus parse errors. */
function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - (before.lastIndexOf('\n') + 1) + 1;
  return `${line}:${col}`;
}

/** Quotes user text for an error message, shortened so a 1 MB input does not make a 1 MB message. */
function quoteForMessage(s: string): string {
  const max = 80;
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

// ---------------------------------------------------------------------------------------------
// String literals
//
// PromQL strings are "double-quoted" or 'single-quoted' with Go escapes (\a \b \f \n \r \t \v \\,
// the string's own quote, \ooo octal and \xHH bytes, \uHHHH and \UHHHHHHHH code points), or
// `backquoted` raw strings without escapes. Octal and \x escapes are bytes, so a string is decoded
// to bytes first and must then be valid UTF-8.

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };

function decodeStringLiteral(text: string, from: number, to: number, fail: (pos: number, what: string) => never): string {
  const quote = text[from];
  const body = text.slice(from + 1, to - 1);
  if (to - from < 2 || text[to - 1] !== quote) fail(from, 'unterminated string');
  // Raw strings, and the usual strings without escapes, are their own value (the whole selector
  // was already checked for lone surrogates).
  if (quote === '`' || !body.includes('\\')) return body;

  const bytes: number[] = [];
  const utf8 = new TextEncoder();
  const pushCodePoint = (cp: number): void => {
    for (const b of utf8.encode(String.fromCodePoint(cp))) bytes.push(b);
  };
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== '\\') {
      const cp = body.codePointAt(i)!;
      if (cp > 0xffff) i++; // the second half of a surrogate pair
      pushCodePoint(cp);
      continue;
    }
    const pos = from + 1 + i;
    const e = body[++i];
    if (e === undefined) return fail(pos, 'escape sequence not terminated');
    if (e in SIMPLE_ESCAPES) bytes.push(SIMPLE_ESCAPES[e]!);
    else if (e === quote) bytes.push(e.charCodeAt(0));
    else if (e >= '0' && e <= '7') {
      const digits = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(digits)) fail(pos, 'octal escape needs 3 digits');
      const v = parseInt(digits, 8);
      if (v > 255) fail(pos, `octal escape \\${digits} is larger than 255`);
      bytes.push(v);
      i += 2;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const digits = body.slice(i + 1, i + 1 + n);
      if (digits.length !== n || !/^[0-9a-fA-F]+$/.test(digits)) fail(pos, `\\${e} escape needs ${n} hex digits`);
      const v = parseInt(digits, 16);
      if (e === 'x') bytes.push(v);
      else if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) fail(pos, `\\${e}${digits} is not a valid Unicode code point`);
      else pushCodePoint(v);
      i += n;
    } else {
      fail(pos, `unknown escape sequence \\${e}`);
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return fail(from, 'string is not valid UTF-8');
  }
}

// ---------------------------------------------------------------------------------------------
// Matching

const regexCache = new Map<string, RegExp>();
const REGEX_CACHE_MAX = 10_000;

/**
 * The anchored JavaScript RegExp for a PromQL regex, compiled once and cached.
 * Throws an Error with a readable message if the regex is invalid or uses syntax RE2 does not have.
 */
function compiledRegex(source: string): RegExp {
  const cached = regexCache.get(source);
  if (cached) return cached;
  if (source.length > MAX_REGEX_LENGTH) throw new Error(`regex longer than ${MAX_REGEX_LENGTH} characters`);

  let re: RegExp;
  try {
    re = compilePromRegex(source);
  } catch (err) {
    throw new Error(`invalid regex ${quoteForMessage(source)}: ${(err as Error).message}`);
  }
  if (regexCache.size >= REGEX_CACHE_MAX) regexCache.clear(); // rules change rarely; a reset is cheap
  regexCache.set(source, re);
  return re;
}

/** Whether one label value satisfies a matcher. A missing label is passed as "". */
export function matcherMatches(m: LabelMatcher, value: string): boolean {
  switch (m.type) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return compiledRegex(m.value).test(value);
    case '!~':
      return !compiledRegex(m.value).test(value);
  }
}

/** Whether a series satisfies every matcher; `get` returns a label's value, "" when it is missing. */
export function matchesAll(ms: readonly LabelMatcher[], get: (name: string) => string): boolean {
  for (const m of ms) if (!matcherMatches(m, get(m.name))) return false;
  return true;
}

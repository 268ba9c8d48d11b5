// Parser for Prometheus' promqltest script format (promql/promqltest/README.md, test.go): the
// commands `load`, `load_with_nhcb`, `clear`, `eval instant|range` with their `_fail`, `_warn`,
// `_info`, `_ordered` variants and the newer `expect ...` lines, and the promtool series notation.
//
// Native histogram literals `{{...}}` are recognised but not decoded: their slots are recorded
// (`histogramSlots`) so the loader can leave them out and the runner can tell which evals read them.

import type { Labels } from '../../../../src/tsdb/storage.js';

/** The bits of Prometheus' staleness marker (model/value.StaleNaN). */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

export function isStaleNaN(values: Float64Array, i: number): boolean {
  return new DataView(values.buffer, values.byteOffset).getBigUint64(i * 8, true) === STALE_NAN_BITS;
}

/** Writes the staleness marker with its exact bits (a signalling NaN may be quieted if passed as a number). */
export function setStaleNaN(values: Float64Array, i: number): void {
  new DataView(values.buffer, values.byteOffset).setBigUint64(i * 8, STALE_NAN_BITS, true);
}

/** A value sequence in promtool notation: one slot per interval, `present[i]` 0 for `_`. */
export interface Sequence {
  values: Float64Array;
  present: Uint8Array;
  /** Holds a native histogram literal (not decoded; values there are NaN and present 0). */
  histogram: boolean;
  /** The slots holding native histogram literals, ascending. */
  histogramSlots: number[];
}

export interface SeriesLine extends Sequence {
  labels: Labels;
  /** 1-based line in the script. */
  line: number;
}

export interface LoadCommand {
  kind: 'load';
  line: number;
  intervalMs: number;
  /** `load_with_nhcb`: Prometheus also stores classic histograms as custom-bucket native histograms. */
  withNhcb: boolean;
  series: SeriesLine[];
}

export interface ClearCommand {
  kind: 'clear';
  line: number;
}

/** An `expect fail|warn|info|...` line: exact message, regex, or anything. */
export type MessageMatcher = { kind: 'any' } | { kind: 'msg'; message: string } | { kind: 'regex'; regex: RegExp; source: string };

export interface ExpectedSeries extends SeriesLine {
  /** 1-based position among the expected lines (for ordered results). */
  pos: number;
}

export interface TimeRange {
  startMs: number;
  endMs: number;
  stepMs: number;
}

export interface EvalCommand {
  kind: 'eval';
  line: number;
  expr: string;
  /** Instant evaluation time, or the range of a range query. */
  atMs: number;
  range?: TimeRange;
  /** `expect range vector from .. to .. step ..`: an instant query whose result is a matrix. */
  expectRange?: TimeRange;
  ordered: boolean;
  fail: boolean;
  /** `eval_warn` / `eval_info`: at least one annotation of that kind. */
  warn: boolean;
  info: boolean;
  failMessage?: string;
  failRegexp?: RegExp;
  expectFail: MessageMatcher[];
  expectWarn: MessageMatcher[];
  expectInfo: MessageMatcher[];
  expectNoWarn: boolean;
  expectNoInfo: boolean;
  expectOrdered: boolean;
  /** A bare number line: the query returns a scalar. */
  expectedScalar?: number;
  /** `expect string "..."`. */
  expectedString?: string;
  expectedSeries: ExpectedSeries[];
  /** An expected line holds a native histogram literal. */
  expectsHistogram: boolean;
}

export type Command = LoadCommand | ClearCommand | EvalCommand;

export class ScriptError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'ScriptError';
  }
}

// ---------------------------------------------------------------------------------------------
// Durations (Prometheus model.ParseDuration: units y w d h m s ms in that order, each at most once).

const DURATION_UNITS: ReadonlyArray<[string, number]> = [
  ['y', 365 * 24 * 3_600_000],
  ['w', 7 * 24 * 3_600_000],
  ['d', 24 * 3_600_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
];
const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** A test-script duration in ms; `0` alone is allowed. Throws on anything else. */
export function parseScriptDuration(s: string): number {
  if (s === '0') return 0;
  const m = DURATION_RE.exec(s);
  if (m === null || s === '') throw new Error(`not a valid duration string: ${JSON.stringify(s)}`);
  let ms = 0;
  DURATION_UNITS.forEach(([, unitMs], i) => {
    if (m[i + 1] !== undefined) ms += Number(m[i + 1]) * unitMs;
  });
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Strings and numbers.

/** Unquotes a Go/PromQL string literal ("..." or '...' with escapes, `...` raw). */
export function unquoteString(lit: string): string {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q || (q !== '"' && q !== "'" && q !== '`')) throw new Error(`invalid string literal ${lit}`);
  const body = lit.slice(1, -1);
  if (q === '`') return body;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  const pushText = (s: string): void => {
    for (const b of enc.encode(s)) bytes.push(b);
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      if (c === q) throw new Error(`unescaped quote in ${lit}`);
      pushText(c);
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
    if (e !== undefined && simple[e] !== undefined) {
      pushText(simple[e]);
    } else if (e === 'x') {
      bytes.push(parseInt(hexDigits(body, i + 1, 2, lit), 16));
      i += 2;
    } else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      pushText(String.fromCodePoint(parseInt(hexDigits(body, i + 1, n, lit), 16)));
      i += n;
    } else if (e !== undefined && e >= '0' && e <= '7') {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) throw new Error(`invalid octal escape in ${lit}`);
      bytes.push(parseInt(oct, 8));
      i += 2;
    } else {
      throw new Error(`unknown escape sequence in ${lit}`);
    }
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

function hexDigits(s: string, at: number, n: number, lit: string): string {
  const h = s.slice(at, at + n);
  if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) throw new Error(`invalid hex escape in ${lit}`);
  return h;
}

const DECIMAL = String.raw`(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|[iI][nN][fF]|[nN][aA][nN])`;

/** A series-notation number (decimal, Inf, NaN; no hex, which is ambiguous with `x`). */
function seriesNumber(s: string): number {
  const lower = s.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan' || lower === '+nan' || lower === '-nan') return NaN;
  return Number(s);
}

const SCALAR_LINE_RE = new RegExp(String.raw`^[+-]?(?:${DECIMAL}|0[xX][0-9a-fA-F]+|infinity)$`, 'i');

/** The whole line as a number (Go's strconv.ParseInt base 0, then ParseFloat), or undefined. */
export function parseScalarLine(s: string): number | undefined {
  if (!SCALAR_LINE_RE.test(s)) return undefined;
  const neg = s.startsWith('-');
  const body = s.replace(/^[+-]/, '');
  if (/^0[xX]/.test(body)) return (neg ? -1 : 1) * parseInt(body.slice(2), 16);
  if (/^infinity$/i.test(body)) return neg ? -Infinity : Infinity;
  const v = seriesNumber(body);
  return neg ? -v : v;
}

// ---------------------------------------------------------------------------------------------
// Series descriptions: `metric{a="b"} 1 2+3x4 _ stale {{...}}`.

const IDENT_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function readQuoted(s: string, at: number): [string, number] {
  const q = s[at]!;
  let i = at + 1;
  while (i < s.length && s[i] !== q) i += q !== '`' && s[i] === '\\' ? 2 : 1;
  if (i >= s.length) throw new Error('unterminated string');
  return [unquoteString(s.slice(at, i + 1)), i + 1];
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  return i;
}

/** Sorts by name; drops empty values (empty-valued labels are absent labels in Prometheus). */
export function normaliseLabels(pairs: Array<[string, string]>): Labels {
  const seen = new Set<string>();
  for (const [n] of pairs) {
    if (seen.has(n)) throw new Error(`duplicate label name ${JSON.stringify(n)}`);
    seen.add(n);
  }
  return pairs.filter(([, v]) => v !== '').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Parses the metric part of a series description; returns the labels and where the values start. */
export function parseSeriesLabels(s: string): [Labels, number] {
  const pairs: Array<[string, string]> = [];
  let i = 0;
  const ident = IDENT_RE.exec(s);
  if (ident !== null) {
    pairs.push(['__name__', ident[0]]);
    i = ident[0].length;
  }
  if (s[i] === '{') {
    i = skipSpace(s, i + 1);
    while (s[i] !== '}') {
      if (i >= s.length) throw new Error('unclosed label set');
      let name: string;
      if (s[i] === '"' || s[i] === "'" || s[i] === '`') [name, i] = readQuoted(s, i);
      else {
        const m = LABEL_NAME_RE.exec(s.slice(i));
        if (m === null) throw new Error(`unexpected ${JSON.stringify(s[i])} in label set`);
        name = m[0];
        i += name.length;
      }
      i = skipSpace(s, i);
      if (s[i] === '=') {
        i = skipSpace(s, i + 1);
        if (s[i] !== '"' && s[i] !== "'" && s[i] !== '`') throw new Error(`expected a quoted label value for ${name}`);
        let value: string;
        [value, i] = readQuoted(s, i);
        pairs.push([name, value]);
      } else if (s[i] === ',' || s[i] === '}') {
        // A bare quoted string is the metric name (UTF-8 selector syntax).
        if (pairs.some(([n]) => n === '__name__')) throw new Error('metric name given twice');
        pairs.push(['__name__', name]);
      } else {
        throw new Error(`unexpected ${JSON.stringify(s[i] ?? 'end of line')} after label name ${name}`);
      }
      i = skipSpace(s, i);
      if (s[i] === ',') i = skipSpace(s, i + 1);
      else if (s[i] !== '}') throw new Error('expected , or } in label set');
    }
    i++;
  } else if (ident === null) {
    throw new Error('series description must start with a metric name or {');
  }
  if (i < s.length && s[i] !== ' ' && s[i] !== '\t') throw new Error(`unexpected ${JSON.stringify(s[i])} after labels`);
  return [normaliseLabels(pairs), i];
}

/** Splits the value part into items; a `{{...}}` literal (which holds spaces) stays one item. */
function splitItems(s: string): string[] {
  const items: string[] = [];
  let i = skipSpace(s, 0);
  while (i < s.length) {
    let j = i;
    while (j < s.length && s[j] !== ' ' && s[j] !== '\t') {
      if (s.startsWith('{{', j)) {
        const close = s.indexOf('}}', j);
        if (close < 0) throw new Error('unclosed histogram literal {{');
        j = close + 2;
      } else j++;
    }
    items.push(s.slice(i, j));
    i = skipSpace(s, j);
  }
  return items;
}

const ITEM_RE = new RegExp(String.raw`^(?:([+-]?${DECIMAL})|(stale))(?:([+-])(${DECIMAL}))?(?:x(\d+))?$`);

/** Expands promtool value notation: `a`, `axn` (n+1 copies), `a+bxn`/`a-bxn` (n+1 values), `_`, `_xn` (n gaps), `stale`. */
export function parseSequence(s: string): Sequence {
  const values: number[] = [];
  const present: number[] = [];
  const staleAt: number[] = [];
  const histogramSlots: number[] = [];
  for (const item of splitItems(s)) {
    if (item === '_') {
      values.push(NaN);
      present.push(0);
      continue;
    }
    const blanks = /^_x(\d+)$/.exec(item);
    if (blanks !== null) {
      for (let k = 0; k < Number(blanks[1]); k++) {
        values.push(NaN);
        present.push(0);
      }
      continue;
    }
    if (item.startsWith('{{')) {
      // `{{h}}`, `{{h}}xn`, `{{h}}+{{d}}xn`, `{{h}}-{{d}}xn`: n+1 values when repeated.
      const rep = /}}x(\d+)$/.exec(item);
      const n = rep === null ? 1 : Number(rep[1]) + 1;
      for (let k = 0; k < n; k++) {
        histogramSlots.push(values.length);
        values.push(NaN);
        present.push(0);
      }
      continue;
    }
    const m = ITEM_RE.exec(item);
    if (m === null) throw new Error(`invalid series value ${JSON.stringify(item)}`);
    const [, num, stale, sign, step, times] = m;
    if (step !== undefined && times === undefined) throw new Error(`series value ${JSON.stringify(item)} has an increment but no repetition`);
    if (stale !== undefined && step !== undefined) throw new Error(`cannot increment a stale marker: ${JSON.stringify(item)}`);
    let v = stale !== undefined ? NaN : seriesNumber(num!);
    const inc = step === undefined ? 0 : (sign === '-' ? -1 : 1) * seriesNumber(step);
    const count = times === undefined ? 1 : Number(times) + 1;
    for (let k = 0; k < count; k++) {
      if (stale !== undefined) staleAt.push(values.length);
      values.push(v);
      present.push(1);
      v += inc; // incremental, as Prometheus' parser does (matters for non-integral steps)
    }
  }
  const out = Float64Array.from(values);
  for (const i of staleAt) setStaleNaN(out, i);
  return { values: out, present: Uint8Array.from(present), histogram: histogramSlots.length > 0, histogramSlots };
}

/** Parses a whole series description line. */
export function parseSeriesLine(s: string, line: number): SeriesLine {
  try {
    const [labels, at] = parseSeriesLabels(s);
    return { labels, ...parseSequence(s.slice(at)), line };
  } catch (err) {
    throw new ScriptError(line, `${(err as Error).message} in series ${JSON.stringify(s)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Commands.

const LOAD_RE = /^load(?:_(with_nhcb))?\s+(.+?)$/;
const EVAL_INSTANT_RE = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/;
const EVAL_RANGE_RE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/;
const EXPECT_RE = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$/;
const EXPECT_RANGE_RE = /^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$/;

/** Compiles a Go RE2 pattern as a JS regex (unanchored, as Go's MatchString). */
export function goRegex(pattern: string): RegExp {
  let flags = 'u';
  let src = pattern;
  const inline = /^\(\?([imsU]+)\)/.exec(src);
  if (inline !== null) {
    for (const f of inline[1]!) if (f !== 'U' && !flags.includes(f)) flags += f;
    src = src.slice(inline[0].length);
  }
  return new RegExp(src, flags);
}

function duration(s: string, line: number, what: string): number {
  try {
    return parseScriptDuration(s.trim());
  } catch {
    throw new ScriptError(line, `invalid ${what} ${JSON.stringify(s)}`);
  }
}

/** Lines trimmed, comments blanked (Prometheus' getLines). */
function scriptLines(input: string): string[] {
  return input.split('\n').map((l) => {
    const t = l.trim();
    return t.startsWith('#') ? '' : t;
  });
}

function parseLoad(lines: string[], i: number): [number, LoadCommand] {
  const m = LOAD_RE.exec(lines[i]!);
  if (m === null) throw new ScriptError(i + 1, 'invalid load command (load[_with_nhcb] <step:duration>)');
  const cmd: LoadCommand = { kind: 'load', line: i + 1, intervalMs: duration(m[2]!, i + 1, 'load step'), withNhcb: m[1] === 'with_nhcb', series: [] };
  while (i + 1 < lines.length && lines[i + 1] !== '') {
    i++;
    cmd.series.push(parseSeriesLine(lines[i]!, i + 1));
  }
  return [i, cmd];
}

function parseExpectLine(l: string, cmd: EvalCommand, line: number): void {
  const m = EXPECT_RE.exec(l);
  if (m === null) throw new ScriptError(line, 'invalid expect statement, must match `expect <type> <match_type>: <string>` format');
  const [, mode, kind, text] = m;
  let matcher: MessageMatcher = { kind: 'any' };
  if (kind === 'msg') matcher = { kind: 'msg', message: text!.trim() };
  else if (kind === 'regex') matcher = { kind: 'regex', regex: goRegex(text!.trim()), source: text!.trim() };
  switch (mode) {
    case 'fail':
      if (cmd.expectFail.length > 0) throw new ScriptError(line, 'invalid expect lines, multiple expect fail lines are not allowed');
      cmd.expectFail.push(matcher);
      break;
    case 'warn':
      cmd.expectWarn.push(matcher);
      break;
    case 'info':
      cmd.expectInfo.push(matcher);
      break;
    case 'no_warn':
      cmd.expectNoWarn = true;
      break;
    case 'no_info':
      cmd.expectNoInfo = true;
      break;
    case 'ordered':
      cmd.expectOrdered = true;
      break;
  }
  if (cmd.expectWarn.length > 0 && cmd.expectNoWarn) throw new ScriptError(line, 'invalid expect lines, warn and no_warn cannot be used together');
  if (cmd.expectInfo.length > 0 && cmd.expectNoInfo) throw new ScriptError(line, 'invalid expect lines, info and no_info cannot be used together');
}

function parseEval(lines: string[], i: number): [number, EvalCommand] {
  const l = lines[i]!;
  const line = i + 1;
  const inst = EVAL_INSTANT_RE.exec(l);
  const rng = inst === null ? EVAL_RANGE_RE.exec(l) : null;
  if (inst === null && rng === null) {
    throw new ScriptError(line, "invalid evaluation command: must be 'eval[_fail|_warn|_info|_ordered] instant [at <time>] <query>' or 'eval[_fail|_warn|_info] range from <t> to <t> step <d> <query>'");
  }
  const mod = inst !== null ? inst[1] : rng![1];
  const cmd: EvalCommand = {
    kind: 'eval',
    line,
    expr: inst !== null ? inst[3]! : rng![5]!,
    atMs: 0,
    ordered: mod === 'ordered',
    fail: mod === 'fail',
    warn: mod === 'warn',
    info: mod === 'info',
    expectFail: [],
    expectWarn: [],
    expectInfo: [],
    expectNoWarn: false,
    expectNoInfo: false,
    expectOrdered: false,
    expectedSeries: [],
    expectsHistogram: false,
  };
  if (inst !== null) {
    cmd.atMs = duration(inst[2] ?? '0', line, 'timestamp');
  } else {
    const range = { startMs: duration(rng![2]!, line, 'start'), endMs: duration(rng![3]!, line, 'end'), stepMs: duration(rng![4]!, line, 'step') };
    if (range.endMs < range.startMs) throw new ScriptError(line, 'invalid test definition, end timestamp is before start timestamp');
    cmd.range = range;
    cmd.atMs = range.startMs;
  }
  let pos = 1;
  while (i + 1 < lines.length && lines[i + 1] !== '') {
    i++;
    const d = lines[i]!;
    if (cmd.fail && d.startsWith('expected_fail_message')) {
      cmd.failMessage = d.slice('expected_fail_message'.length).trim();
      break;
    }
    if (cmd.fail && d.startsWith('expected_fail_regexp')) {
      cmd.failRegexp = goRegex(d.slice('expected_fail_regexp'.length).trim());
      break;
    }
    if (d.startsWith('expect range vector')) {
      const m = EXPECT_RANGE_RE.exec(d);
      if (m === null) throw new ScriptError(i + 1, `invalid range vector definition ${JSON.stringify(d)}`);
      cmd.expectRange = { startMs: duration(m[1]!, i + 1, 'start'), endMs: duration(m[2]!, i + 1, 'end'), stepMs: duration(m[3]!, i + 1, 'step') };
      cmd.atMs = cmd.expectRange.endMs;
      continue;
    }
    if (d.startsWith('expect string')) {
      const lit = d.slice('expect string'.length).trim();
      if (lit === '') throw new ScriptError(i + 1, 'expected string literal not valid - a quoted string literal is required');
      try {
        cmd.expectedString = unquoteString(lit);
      } catch {
        throw new ScriptError(i + 1, 'expected string literal not valid - check that the string is correctly quoted');
      }
      continue;
    }
    // A metric named `expect` can still be written as `expect{}`.
    if (d.split(' ')[0] === 'expect') {
      parseExpectLine(d, cmd, i + 1);
      continue;
    }
    const scalar = parseScalarLine(d);
    if (scalar !== undefined) {
      cmd.expectedScalar = scalar;
      break;
    }
    const s = parseSeriesLine(d, i + 1);
    if (s.values.length > 1 && cmd.range === undefined && cmd.expectRange === undefined) {
      throw new ScriptError(i + 1, 'expecting multiple values in instant evaluation not allowed');
    }
    if (s.histogram) cmd.expectsHistogram = true;
    cmd.expectedSeries.push({ ...s, pos: pos++ });
  }
  return [i, cmd];
}

/** Parses a whole script into commands. */
export function parseScript(input: string): Command[] {
  const lines = scriptLines(input);
  const cmds: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === '') continue;
    const word = l.split(/[\t ]+/, 1)[0]!.toLowerCase();
    if (word === 'clear') {
      cmds.push({ kind: 'clear', line: i + 1 });
    } else if (word.startsWith('load')) {
      const [next, cmd] = parseLoad(lines, i);
      cmds.push(cmd);
      i = next;
    } else if (word.startsWith('eval')) {
      const [next, cmd] = parseEval(lines, i);
      cmds.push(cmd);
      i = next;
    } else {
      throw new ScriptError(i + 1, `invalid command ${JSON.stringify(l)}`);
    }
  }
  return cmds;
}

/** The eval is ordered (`eval_ordered` or `expect ordered`). */
export function isOrdered(e: EvalCommand): boolean {
  return e.ordered || e.expectOrdered;
}

/** The eval expects an error (`eval_fail` or `expect fail`). */
export function isFail(e: EvalCommand): boolean {
  return e.fail || e.expectFail.length > 0;
}

// A PromQL token scanner that follows the states of Prometheus' lexer (promql/parser/lex.go).
//
// parser.ts builds the syntax tree with @prometheus-io/lezer-promql, whose error recovery says
// *where* a query went wrong but not in Prometheus' words. This scanner supplies the words: it
// finds the lexical errors Prometheus reports (`unclosed left parenthesis`, `unterminated quoted
// string`, `unexpected character inside braces: '$'`, ...) and describes the token at a syntax error
// the way Prometheus' `unexpected <token>` messages do (`identifier "foo"`, `"}"`, `<op:+>`).
// It also decodes string literals with Go's escape rules, which Prometheus' strings use.

import { goQuote, isGoPrintable } from './go-format.js';

export type TokenKind =
  | 'identifier'
  | 'metric identifier'
  | 'number'
  | 'duration'
  | 'string'
  | 'keyword'
  | 'operator'
  | 'aggregator'
  | 'punct'
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** UTF-16 offset in the query. */
  from: number;
  to: number;
  text: string;
}

export interface LexError {
  /** UTF-16 offset Prometheus reports the error at (the start of the token being scanned). */
  pos: number;
  message: string;
}

const OPERATOR_WORDS = new Set(['and', 'or', 'unless', 'atan2']);
const AGGREGATOR_WORDS = new Set([
  'sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'count_values', 'quantile', 'limitk', 'limit_ratio',
]);
const KEYWORD_WORDS = new Set(['offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool']);
/** Words Prometheus' lexer turns into their own tokens; all other words are identifiers. */
const PREPROCESSOR_WORDS = new Set(['start', 'end']);

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined): boolean =>
  c !== undefined && (c === '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlphaNumeric = (c: string | undefined): boolean => isAlpha(c) || isDigit(c);

/** Go's %q of one character, as in `unexpected character: '$'`. */
function quoteRune(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '\\') return "'\\\\'";
  const q = goQuote(c);
  return `'${q.slice(1, -1).replace(/\\"/g, '"')}'`;
}

/**
 * Scans the whole query. Returns the tokens up to the first lexical error and that error, if any.
 * Linear time, no recursion.
 */
export function scan(input: string): { tokens: Token[]; error?: LexError } {
  const tokens: Token[] = [];
  let pos = 0;
  let parenDepth = 0;
  let braceOpen = false;
  let bracketOpen = false;
  let gotColon = false;
  let gotDuration = false;
  const n = input.length;
  const push = (kind: TokenKind, from: number, to: number): void => {
    tokens.push({ kind, from, to, text: input.slice(from, to) });
  };
  const fail = (at: number, message: string): { tokens: Token[]; error: LexError } => {
    tokens.push({ kind: 'eof', from: at, to: at, text: '' }); // so that every position has a token
    return { tokens, error: { pos: at, message } };
  };

  while (true) {
    if (pos >= n) {
      if (braceOpen) return fail(pos, 'unexpected end of input inside braces');
      if (bracketOpen) return fail(pos, 'unexpected end of input in duration expression');
      if (parenDepth !== 0) return fail(pos, 'unclosed left parenthesis');
      push('eof', pos, pos);
      return { tokens };
    }
    const start = pos;
    const c = input[pos]!;
    if (c === '#') {
      while (pos < n && input[pos] !== '\n') pos++;
      continue;
    }
    if (isSpace(c)) {
      pos++;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const end = scanString(input, pos);
      if (typeof end !== 'number') return fail(start, end.message);
      push('string', start, end);
      pos = end;
      continue;
    }

    if (braceOpen) {
      // Inside `{...}`: label names, match operators, strings and commas only.
      if (isAlpha(c)) {
        pos++;
        while (isAlphaNumeric(input[pos])) pos++;
        push('identifier', start, pos);
        continue;
      }
      pos++;
      switch (c) {
        case ',':
          push('punct', start, pos);
          continue;
        case '=':
          if (input[pos] === '~') pos++;
          push(pos - start === 2 ? 'operator' : 'punct', start, pos);
          continue;
        case '!': {
          const d = input[pos];
          if (d === '~' || d === '=') {
            pos++;
            push('operator', start, pos);
            continue;
          }
          return fail(start, `unexpected character after '!' inside braces: ${d === undefined ? "'\\x00'" : quoteRune(d)}`);
        }
        case '{':
          return fail(start, "unexpected left brace '{'");
        case '}':
          push('punct', start, pos);
          braceOpen = false;
          continue;
        default:
          return fail(start, `unexpected character inside braces: ${quoteRune(charAt(input, start))}`);
      }
    }

    if (bracketOpen) {
      // Inside `[...]`: durations, numbers, duration arithmetic and one colon.
      if (isDigit(c) || (c === '.' && isDigit(input[pos + 1]))) {
        const end = scanNumberOrDuration(input, pos);
        if (typeof end !== 'number') return fail(start, end.message);
        push(numberKind(input, start, end), start, end);
        gotDuration = true;
        pos = end;
        continue;
      }
      if (isAlpha(c)) {
        // `step()`, `range()`, `min_of(`, `max_of(` (experimental duration expressions).
        pos++;
        while (isAlphaNumeric(input[pos])) pos++;
        const word = input.slice(start, pos);
        if (word === 'step' || word === 'range' || word === 'min_of' || word === 'max_of') {
          push('identifier', start, pos);
          continue;
        }
        return fail(start, `unexpected character in duration expression: ${quoteRune(c)}`);
      }
      pos++;
      switch (c) {
        case ']':
          push('punct', start, pos);
          bracketOpen = false;
          gotColon = false;
          continue;
        case ':':
          push('punct', start, pos);
          if (!gotDuration) return fail(start, 'unexpected colon before duration in duration expression');
          if (gotColon) return fail(start, 'unexpected repeated colon in duration expression');
          gotColon = true;
          continue;
        case '(':
          parenDepth++;
          push('punct', start, pos);
          continue;
        case ')':
          parenDepth--;
          push('punct', start, pos);
          if (parenDepth < 0) return fail(start, "unexpected right parenthesis ')'");
          continue;
        case '+':
        case '-':
        case '*':
        case '/':
        case '%':
        case '^':
          push('operator', start, pos);
          continue;
        case ',':
          push('punct', start, pos);
          continue;
        default:
          return fail(start, `unexpected character in duration expression: ${quoteRune(charAt(input, start))}`);
      }
    }

    if (isDigit(c) || (c === '.' && isDigit(input[pos + 1]))) {
      const end = scanNumberOrDuration(input, pos);
      if (typeof end !== 'number') return fail(start, end.message);
      push(numberKind(input, start, end), start, end);
      pos = end;
      continue;
    }
    if (isAlpha(c) || c === ':') {
      pos++;
      while (isAlphaNumeric(input[pos]) || input[pos] === ':') pos++;
      const word = input.slice(start, pos);
      const lower = word.toLowerCase();
      const kind: TokenKind =
        lower === 'inf' || lower === 'nan'
          ? 'number'
          : OPERATOR_WORDS.has(lower)
            ? 'operator'
            : AGGREGATOR_WORDS.has(lower)
              ? 'aggregator'
              : KEYWORD_WORDS.has(lower)
                ? 'keyword'
                : PREPROCESSOR_WORDS.has(lower)
                  ? 'punct'
                  : word.includes(':')
                    ? 'metric identifier'
                    : 'identifier';
      push(kind, start, pos);
      continue;
    }
    pos++;
    switch (c) {
      case ',':
      case '@':
        push(c === '@' ? 'operator' : 'punct', start, pos);
        continue;
      case '*':
      case '/':
      case '%':
      case '+':
      case '-':
      case '^':
        push('operator', start, pos);
        continue;
      case '=':
        if (input[pos] === '=') pos++;
        else if (input[pos] === '~') return fail(start, "unexpected character after '=': '~'");
        push(pos - start === 2 ? 'operator' : 'punct', start, pos);
        continue;
      case '!': {
        const d = input[pos];
        if (d !== '=') return fail(start, `unexpected character after '!': ${d === undefined ? "'\\x00'" : quoteRune(d)}`);
        pos++;
        push('operator', start, pos);
        continue;
      }
      case '<':
      case '>':
        if (input[pos] === '=') pos++;
        push('operator', start, pos);
        continue;
      case '(':
        parenDepth++;
        push('punct', start, pos);
        continue;
      case ')':
        parenDepth--;
        push('punct', start, pos);
        if (parenDepth < 0) return fail(start, "unexpected right parenthesis ')'");
        continue;
      case '{':
        push('punct', start, pos);
        braceOpen = true;
        continue;
      case '[':
        push('punct', start, pos);
        bracketOpen = true;
        gotColon = false;
        gotDuration = false;
        continue;
      case ']':
        return fail(start, "unexpected right bracket ']'");
      case '}':
        return fail(start, "unexpected character: '}'");
      default:
        return fail(start, `unexpected character: ${quoteRune(charAt(input, start))}`);
    }
  }
}

/** The whole code point at `i` (a surrogate pair is one character). */
function charAt(s: string, i: number): string {
  return String.fromCodePoint(s.codePointAt(i)!);
}

function numberKind(input: string, from: number, to: number): TokenKind {
  return /[smhdwy]$/.test(input.slice(from, to)) && !/^0[xX]/.test(input.slice(from, to)) ? 'duration' : 'number';
}

/**
 * Prometheus' number scan (lex.go scanNumber) and, where that fails, its duration scan continuing
 * from where the number scan stopped. Returns the end offset, or `bad number or duration syntax`
 * quoting the text consumed so far, as Prometheus does.
 */
function scanNumberOrDuration(input: string, start: number): number | { message: string } {
  let pos = start;
  const peek = (): string | undefined => input[pos];
  const accept = (set: string): boolean => {
    const c = input[pos];
    if (c !== undefined && set.includes(c)) {
      pos++;
      return true;
    }
    return false;
  };
  const isNumber = ((): boolean => {
    let digits = '0123456789';
    if (accept('0') && accept('xX')) {
      accept('_');
      digits = '0123456789abcdefABCDEF';
    }
    accept('.');
    accept(digits);
    let dot = false;
    let exp = false;
    while (peek() !== undefined && (digits + '._eE').includes(peek()!)) {
      const c = peek()!;
      if (c === '.' && dot) {
        accept('.');
        return false;
      }
      if ((c === 'e' || c === 'E') && exp) {
        accept('eE');
        return false;
      }
      if (accept('.')) {
        dot = true;
        if (accept('_.')) return false;
        if (digits.length > 10) return false;
        continue;
      }
      if (accept('eE')) {
        exp = true;
        accept('+-');
        if (accept('._eE') || peek() === undefined) return false;
        continue;
      }
      if (accept('_')) {
        if (accept('._eE') || peek() === undefined) return false;
        continue;
      }
      while (accept(digits));
    }
    if (pos === start) return false;
    return !isAlphaNumeric(peek());
  })();
  if (isNumber) return pos;

  const bad = (): { message: string } => ({ message: `bad number or duration syntax: ${goQuote(input.slice(start, pos))}` });
  // acceptRemainingDuration: a unit, then more number+unit pairs, then no alphanumeric.
  if (!accept('smhdwy')) return bad();
  accept('s');
  while (accept('0123456789')) {
    while (accept('0123456789'));
    if (!accept('smhdw')) return bad();
    accept('s');
  }
  if (isAlphaNumeric(peek())) {
    pos++;
    return bad();
  }
  return pos;
}

/** Scans a quoted string starting at `start`; returns its end offset or Prometheus' error. */
function scanString(input: string, start: number): number | { message: string } {
  const quote = input[start]!;
  let pos = start + 1;
  if (quote === '`') {
    const end = input.indexOf('`', pos);
    return end < 0 ? { message: 'unterminated raw string' } : end + 1;
  }
  let firstError: string | undefined;
  while (true) {
    const c = input[pos];
    if (c === undefined || c === '\n') return { message: firstError ?? 'unterminated quoted string' };
    pos++;
    if (c === quote) return firstError ? { message: firstError } : pos;
    if (c !== '\\') continue;
    const e = input[pos];
    if (e === undefined) return { message: firstError ?? 'escape sequence not terminated' };
    pos++;
    if ('abfnrtv\\'.includes(e) || e === quote) continue;
    let digits: number;
    let base: number;
    let max: number;
    if (e >= '0' && e <= '7') {
      [digits, base, max] = [3, 8, 255];
      pos--;
    } else if (e === 'x') [digits, base, max] = [2, 16, 255];
    else if (e === 'u') [digits, base, max] = [4, 16, 0x10ffff];
    else if (e === 'U') [digits, base, max] = [8, 16, 0x10ffff];
    else {
      firstError ??= `unknown escape sequence ${goRuneName(e)}`;
      continue;
    }
    let value = 0;
    for (; digits > 0; digits--) {
      const d = input[pos];
      const v = d === undefined ? NaN : parseInt(d, base);
      if (Number.isNaN(v) || !/[0-9a-fA-F]/.test(d ?? '')) {
        if (d === undefined) return { message: firstError ?? 'escape sequence not terminated' };
        firstError ??= `illegal character ${goRuneName(d)} in escape sequence`;
        break;
      }
      value = value * base + v;
      pos++;
    }
    if (digits === 0 && (value > max || (value >= 0xd800 && value < 0xe000))) {
      firstError ??= 'escape sequence is an invalid Unicode code point';
    }
  }
}

/** Go's %#U: `U+0071 'q'`. */
function goRuneName(c: string): string {
  const cp = c.codePointAt(0)!;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  return isGoPrintable(c) ? `U+${hex} '${c}'` : `U+${hex}`;
}

// ---------------------------------------------------------------------------------------------
// String literals

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, "'": 39, '"': 34 };

/**
 * The value of a string literal token (quotes included) per Go's strconv.Unquote, which
 * Prometheus uses. Assumes the token passed `scan` (escapes are valid). \x and octal escapes are
 * bytes. A JavaScript string cannot hold bytes that are not UTF-8, so each such byte b becomes the
 * lone surrogate U+DC00+b ("surrogateescape"): it matches no real label, fails label-name
 * validation, and goQuote prints it back as \xNN the way Go prints the invalid byte.
 */
export function unquoteString(literal: string): string {
  const quote = literal[0];
  const body = literal.slice(1, -1);
  if (quote === '`' || !body.includes('\\')) return body;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  const pushText = (s: string): void => {
    for (const b of encoder.encode(s)) bytes.push(b);
  };
  let plainFrom = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== '\\') continue;
    pushText(body.slice(plainFrom, i));
    const e = body[++i]!;
    if (e in SIMPLE_ESCAPES) {
      bytes.push(SIMPLE_ESCAPES[e]!);
    } else if (e >= '0' && e <= '7') {
      bytes.push(parseInt(body.slice(i, i + 3), 8) & 0xff);
      i += 2;
    } else {
      const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const v = parseInt(body.slice(i + 1, i + 1 + len), 16);
      if (e === 'x') bytes.push(v);
      else pushText(String.fromCodePoint(v));
      i += len;
    }
    plainFrom = i + 1;
  }
  pushText(body.slice(plainFrom));
  return decodeUtf8Escaping(new Uint8Array(bytes));
}

/** Length of the valid UTF-8 sequence starting at bytes[i], or 0 if there is none. */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  if (b < 0x80) return 1;
  const [len, min, max] = b >= 0xc2 && b <= 0xdf ? [2, 0x80, 0xbf] : b === 0xe0 ? [3, 0xa0, 0xbf] : b === 0xed ? [3, 0x80, 0x9f] : b >= 0xe1 && b <= 0xef ? [3, 0x80, 0xbf] : b === 0xf0 ? [4, 0x90, 0xbf] : b === 0xf4 ? [4, 0x80, 0x8f] : b >= 0xf1 && b <= 0xf3 ? [4, 0x80, 0xbf] : [0, 0, 0];
  if (len === 0 || i + len > bytes.length) return 0;
  if (bytes[i + 1]! < min || bytes[i + 1]! > max) return 0;
  for (let k = 2; k < len; k++) if (bytes[i + k]! < 0x80 || bytes[i + k]! > 0xbf) return 0;
  return len;
}

function decodeUtf8Escaping(bytes: Uint8Array): string {
  const decoder = new TextDecoder('utf-8');
  let out = '';
  let validFrom = 0;
  for (let i = 0; i < bytes.length; ) {
    const len = utf8SequenceLength(bytes, i);
    if (len > 0) {
      i += len;
      continue;
    }
    out += decoder.decode(bytes.subarray(validFrom, i)) + String.fromCharCode(0xdc00 + bytes[i]!);
    validFrom = ++i;
  }
  return out + decoder.decode(bytes.subarray(validFrom));
}

/**
 * How Prometheus names a token in `unexpected ...` messages (lex.go Item.desc): `identifier "foo"`,
 * `number "5"`, `"("`, `<op:+>`, `<aggr:sum>`, `<by>`, `end of input`.
 */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of input';
    case 'identifier':
    case 'metric identifier':
      return `${t.kind} ${goQuote(t.text)}`;
    case 'number':
    case 'duration':
      return `${t.kind} ${goQuote(t.text)}`;
    case 'string':
      return `string ${[...t.text].length > 10 ? goQuote([...t.text].slice(0, 10).join('')) + '...' : goQuote(t.text)}`;
    case 'keyword':
      return `<${t.text}>`;
    case 'operator':
      return `<op:${t.text}>`;
    case 'aggregator':
      return `<aggr:${t.text}>`;
    case 'punct':
      return goQuote(t.text);
  }
}

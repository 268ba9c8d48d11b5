// Request parameters of the Prometheus HTTP API, parsed as Prometheus' web/api/v1 does
// (spec/tsdb.md §3.2), with its error texts:
//
// - the form: URL query plus, for a POST with Content-Type application/x-www-form-urlencoded,
//   the body (whose values come first, as in Go's Request.Form), within a size limit;
// - times: float Unix seconds (fraction rounded to the millisecond), RFC3339Nano, or the two
//   strings Prometheus' clients send for "min time" and "max time";
// - durations: float seconds or a Prometheus duration (`1h30m`, `5m`, `100ms`);
// - `limit`: a non-negative integer (0: none);
// - `match[]`: series selectors, parsed by the PromQL parser.

import type http from 'node:http';
import type http2 from 'node:http2';
import { IngestError } from '../../profiles/ingest/errors.js';
import { readBody } from '../../profiles/ingest/http-ingest.js';
import { compileMatcher } from '../head/matchers.js';
import { typeOf } from '../promql/ast.js';
import { parseDuration } from '../promql/duration.js';
import { parseExpr } from '../promql/parser.js';
import type { LabelMatcher } from '../storage.js';
import { goQuote } from '../promql/go-format.js';
import { ApiError, invalidParam } from './api-error.js';

type Req = http.IncomingMessage | http2.Http2ServerRequest;

/** Go's net/http limit on a form body (maxFormSize). */
export const MAX_FORM_BYTES = 10 * 1024 * 1024;

/** Prometheus' MinTime and MaxTime (web/api/v1), in ms: the defaults of optional ranges. */
export const MIN_TIME_MS = -9223309901257974000;
export const MAX_TIME_MS = Number(9223309901257974999n); // the nearest double
/** How Go formats them (RFC3339Nano); clients send these strings for "no bound". */
export const MIN_TIME_TEXT = '-292273086-05-16T16:47:06Z';
export const MAX_TIME_TEXT = '292277025-08-18T07:12:54.999999999Z';

/** Request parameters: name → values in order (body first, then URL query). */
export class Form {
  constructor(
    private readonly values: ReadonlyMap<string, readonly string[]>,
    /** The first decoding error (bad escape, `;` separator, body too large), as Go's ParseForm returns it. */
    readonly parseError?: string,
  ) {}

  /** The first value, or '' (Go's FormValue). */
  get(name: string): string {
    return this.values.get(name)?.[0] ?? '';
  }

  all(name: string): readonly string[] {
    return this.values.get(name) ?? [];
  }
}

/**
 * Decodes `a=1&b=2` as Go's url.ParseQuery: `+` is a space, pairs with a bad %-escape or a `;`
 * are skipped and the first such error is returned. Bytes are decoded as UTF-8 (invalid bytes
 * become U+FFFD).
 */
export function parseUrlEncoded(text: string, into: Map<string, string[]>): string | undefined {
  let firstError: string | undefined;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    if (pair.includes(';')) {
      firstError ??= 'invalid semicolon separator in query';
      continue;
    }
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    const key = unescapeQuery(rawKey);
    const value = key === undefined ? undefined : unescapeQuery(rawValue);
    if (key === undefined || value === undefined) {
      firstError ??= `invalid URL escape ${goQuote(badEscape(key === undefined ? rawKey : rawValue))}`;
      continue;
    }
    const list = into.get(key);
    if (list) list.push(value);
    else into.set(key, [value]);
  }
  return firstError;
}

const HEX = /^[0-9a-fA-F]{2}$/;

function unescapeQuery(s: string): string | undefined {
  if (!s.includes('%')) return s.includes('+') ? s.replaceAll('+', ' ') : s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (ch === '+') {
      bytes.push(0x20);
    } else {
      for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The first bad escape of s, as Go's error names it (`%` and up to two characters). */
function badEscape(s: string): string {
  for (let i = 0; i < s.length; i++) if (s[i] === '%' && !HEX.test(s.slice(i + 1, i + 3))) return s.slice(i, i + 3);
  return s;
}

function isFormBody(req: Req): boolean {
  const method = req.method ?? 'GET';
  if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') return false;
  const type = req.headers['content-type'];
  return type !== undefined && type.split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/**
 * Reads the request's parameters (URL query, plus the body of a form POST up to `maxBodyBytes`).
 * A body too large (Go's `http: POST too large`) or unreadable is a bad_data ApiError: its
 * parameters are unknown, so no endpoint can answer.
 */
export async function readForm(req: Req, url: URL, maxBodyBytes = MAX_FORM_BYTES): Promise<Form> {
  const values = new Map<string, string[]>();
  let error: string | undefined;
  if (isFormBody(req)) {
    let body: Uint8Array;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (e) {
      const why = e instanceof IngestError && e.status === 413 ? 'http: POST too large' : (e as Error).message;
      throw new ApiError('bad_data', `error parsing form values: ${why}`);
    }
    error = parseUrlEncoded(Buffer.from(body).toString('latin1'), values);
  }
  const queryError = parseUrlEncoded(url.search.slice(1), values);
  return new Form(values, error ?? queryError);
}

// Go's strconv.ParseFloat syntax (decimal only; hex floats are not accepted here).
const GO_FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;
const GO_SPECIAL = /^[+-]?(?:inf|infinity|nan)$/i;

/** Go's ParseFloat: a number, or undefined when the text is not a float or is out of range. */
function goFloat(s: string): number | undefined {
  if (!GO_FLOAT.test(s)) return undefined;
  if (GO_SPECIAL.test(s)) {
    const neg = s.startsWith('-');
    return /nan/i.test(s) ? NaN : neg ? -Infinity : Infinity;
  }
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined; // 1e400: ParseFloat's range error
}

/** Go's math.Round: halves away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

// RFC3339Nano as Go's time.Parse accepts it.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** Days since 1970-01-01 of a proleptic Gregorian date. */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}

function parseRfc3339(s: string): number | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) return undefined;
  let offsetMin = 0;
  if (m[8] !== undefined) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[8] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // Milliseconds are the fraction's first three digits: Prometheus truncates nanoseconds to ms.
  const fracMs = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  return daysFromCivil(y, mo, d) * 86_400_000 + ((h * 60 + mi - offsetMin) * 60 + sec) * 1000 + fracMs;
}

/** Prometheus' parseTime → Unix ms. Throws an Error with its text for anything else. */
export function parseTime(s: string): number {
  const t = goFloat(s);
  if (t !== undefined && Number.isFinite(t) && t >= MIN_TIME_MS / 1000 && t <= MAX_TIME_MS / 1000) {
    // As Prometheus: seconds and a fraction rounded to ms, through time.Unix and back.
    const whole = Math.trunc(t);
    const nanos = Math.trunc((roundHalfAway((t - whole) * 1000) / 1000) * 1e9);
    const sec = nanos < 0 ? whole - 1 : whole;
    const ns = nanos < 0 ? nanos + 1e9 : nanos;
    return sec * 1000 + Math.trunc(ns / 1e6);
  }
  const rfc = parseRfc3339(s);
  if (rfc !== undefined) return rfc;
  if (s === MIN_TIME_TEXT) return MIN_TIME_MS;
  if (s === MAX_TIME_TEXT) return MAX_TIME_MS;
  throw new Error(`cannot parse ${goQuote(s)} to a valid timestamp`);
}

/**
 * An optional time parameter (Prometheus' parseTimeParam): the default when absent, else the
 * parsed time or `invalid parameter "<name>": invalid time value for '<name>': …`.
 */
export function timeParam(form: Form, name: string, defaultMs: number): number {
  const value = form.get(name);
  if (value === '') return defaultMs;
  try {
    return parseTime(value);
  } catch (e) {
    throw invalidParam(name, `invalid time value for '${name}': ${(e as Error).message}`);
  }
}

/** A required time parameter (query_range's start and end): `invalid parameter "<name>": cannot parse …`. */
export function requiredTimeParam(form: Form, name: string): number {
  try {
    return parseTime(form.get(name));
  } catch (e) {
    throw invalidParam(name, (e as Error).message);
  }
}

const INT64_NS = Number(2n ** 63n - 1n);

/**
 * Prometheus' parseDuration → ms (fractional below a ms: a step of 0.0001 is 0.1 ms). Float
 * seconds are truncated to whole nanoseconds as Go's time.Duration.
 */
export function parseDurationParam(s: string): number {
  const d = goFloat(s);
  if (d !== undefined && !Number.isNaN(d)) {
    const ns = d * 1e9;
    if (ns > INT64_NS || ns < -INT64_NS - 1) throw new Error(`cannot parse ${goQuote(s)} to a valid duration. It overflows int64`);
    return Math.trunc(ns) / 1e6;
  }
  try {
    return parseDuration(s);
  } catch {
    throw new Error(`cannot parse ${goQuote(s)} to a valid duration`);
  }
}

const GO_INT = /^[+-]?\d+$/;

/** Go's strconv.Atoi on a 64-bit platform, with its error texts. */
export function goAtoi(s: string): number {
  if (!GO_INT.test(s)) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`);
  const big = BigInt(s);
  if (big > 9223372036854775807n || big < -9223372036854775808n) throw new Error(`strconv.Atoi: parsing ${goQuote(s)}: value out of range`);
  return Number(big);
}

/** The `limit` parameter of query, query_range, series, labels and label values: 0 = none. */
export function limitParam(form: Form): number {
  const s = form.get('limit');
  if (s === '') return 0;
  let limit: number;
  try {
    limit = goAtoi(s);
  } catch (e) {
    throw invalidParam('limit', (e as Error).message);
  }
  if (limit < 0) throw invalidParam('limit', 'limit must be non-negative');
  return limit;
}

const TYPE_NAMES = { scalar: 'scalar', vector: 'instant vector', matrix: 'range vector', string: 'string' } as const;

/** One series selector (`up{job="x"}`), as Prometheus' ParseMetricSelector accepts it. */
export function parseSeriesSelector(text: string): LabelMatcher[] {
  const expr = parseExpr(text); // throws ParseError with the parser's position and text
  if (expr.type !== 'VectorSelector' || expr.offsetMs !== 0 || expr.at !== undefined) {
    const what = expr.type === 'VectorSelector' ? 'a selector with offset or @' : `an expression of type ${TYPE_NAMES[typeOf(expr)]}`;
    throw new Error(`1:1: parse error: expected a series selector such as up{job="x"}, got ${what}`);
  }
  return expr.matchers;
}

/**
 * The `match[]` values as matcher sets (Prometheus' parseMatchersParam): each must parse as a
 * series selector with at least one matcher that does not match the empty string. Throws an
 * Error with the message; callers wrap it as their endpoint does.
 */
export function parseMatchSets(values: readonly string[]): LabelMatcher[][] {
  const sets = values.map(parseSeriesSelector);
  for (const set of sets) {
    if (!set.some((m) => !compileMatcher(m).matchesEmpty)) throw new Error('match[] must contain at least one non-empty matcher');
  }
  return sets;
}

// Parameters of the Prometheus HTTP API: times, durations, limits, forms and match[] selectors,
// with Prometheus' error texts (web/api/v1/api.go).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/tsdb/api/api-error.js';
import { goQuote } from '../../../src/tsdb/promql/go-format.js';
import {
  Form,
  MAX_TIME_MS,
  MIN_TIME_MS,
  goAtoi,
  limitParam,
  parseDurationParam,
  parseMatchSets,
  parseTime,
  parseUrlEncoded,
  readForm,
  requiredTimeParam,
  timeParam,
} from '../../../src/tsdb/api/params.js';

const form = (entries: Record<string, string | string[]>) => new Form(new Map(Object.entries(entries).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])));

function apiErrorOf(f: () => unknown): { type: string; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof ApiError) return { type: e.errorType, message: e.message };
    throw e;
  }
  throw new Error('no error thrown');
}

describe('parseTime', () => {
  it('reads float Unix seconds, rounding the fraction to ms', () => {
    expect(parseTime('123')).toBe(123_000);
    expect(parseTime('123.123')).toBe(123_123);
    expect(parseTime('1543578564.705')).toBe(1_543_578_564_705);
    expect(parseTime('4')).toBe(4000);
    expect(parseTime('1435781430.7814')).toBe(1_435_781_430_781);
    expect(parseTime('1435781430.7816')).toBe(1_435_781_430_782);
    expect(parseTime('-1.5')).toBe(-1500);
    expect(parseTime('1e3')).toBe(1_000_000);
    expect(parseTime('.5')).toBe(500);
    expect(parseTime('+7')).toBe(7000);
  });

  it('reads RFC3339 with any offset, truncating below the ms', () => {
    expect(parseTime('2015-06-03T13:21:58.555Z')).toBe(1_433_337_718_555);
    expect(parseTime('2015-06-03T14:21:58.555+01:00')).toBe(1_433_337_718_555);
    expect(parseTime('2015-06-03T13:21:58.555999999Z')).toBe(1_433_337_718_555);
    expect(parseTime('1969-12-31T23:59:59.5Z')).toBe(-500);
    expect(parseTime('2024-02-29T00:00:00Z')).toBe(1_709_164_800_000);
  });

  it("reads Prometheus' min and max time strings", () => {
    expect(parseTime('-292273086-05-16T16:47:06Z')).toBe(MIN_TIME_MS);
    expect(parseTime('292277025-08-18T07:12:54.999999999Z')).toBe(MAX_TIME_MS);
  });

  it('refuses anything else with Prometheus\' text', () => {
    for (const bad of ['', 'abc', '30s', '2023-02-29T00:00:00Z', '2015-06-03 13:21:58Z', 'NaN', 'Inf', '1e400', '1e300', '0x10']) {
      expect(() => parseTime(bad), bad).toThrow(`cannot parse ${goQuote(bad)} to a valid timestamp`);
    }
    expect(() => parseTime('abc')).toThrow('cannot parse "abc" to a valid timestamp');
  });
});

describe('time parameters', () => {
  it('optional times default, and name the parameter twice as Prometheus does', () => {
    expect(timeParam(form({}), 'start', 42)).toBe(42);
    expect(timeParam(form({ start: '10' }), 'start', 42)).toBe(10_000);
    expect(apiErrorOf(() => timeParam(form({ time: 'x' }), 'time', 0))).toEqual({
      type: 'bad_data',
      message: `invalid parameter "time": invalid time value for 'time': cannot parse "x" to a valid timestamp`,
    });
  });

  it('required times (query_range) name it once', () => {
    expect(apiErrorOf(() => requiredTimeParam(form({}), 'start'))).toEqual({ type: 'bad_data', message: 'invalid parameter "start": cannot parse "" to a valid timestamp' });
  });
});

describe('parseDurationParam', () => {
  it('reads float seconds and Prometheus durations as ms', () => {
    expect(parseDurationParam('15')).toBe(15_000);
    expect(parseDurationParam('0.001')).toBe(1);
    expect(parseDurationParam('0.0001')).toBe(0.1);
    expect(parseDurationParam('-5')).toBe(-5000);
    expect(parseDurationParam('1h30m')).toBe(5_400_000);
    expect(parseDurationParam('100ms')).toBe(100);
    expect(parseDurationParam('2d')).toBe(172_800_000);
    expect(parseDurationParam('0')).toBe(0);
  });

  it('refuses other text and overflowing numbers', () => {
    expect(() => parseDurationParam('abc')).toThrow('cannot parse "abc" to a valid duration');
    expect(() => parseDurationParam('')).toThrow('cannot parse "" to a valid duration');
    expect(() => parseDurationParam('5m1h')).toThrow('cannot parse "5m1h" to a valid duration');
    expect(() => parseDurationParam('1e10')).toThrow('cannot parse "1e10" to a valid duration. It overflows int64');
    expect(() => parseDurationParam('Inf')).toThrow('It overflows int64');
  });
});

describe('limit', () => {
  it('is a non-negative integer, 0 when absent', () => {
    expect(limitParam(form({}))).toBe(0);
    expect(limitParam(form({ limit: '40000' }))).toBe(40_000);
    expect(apiErrorOf(() => limitParam(form({ limit: '-1' })))).toEqual({ type: 'bad_data', message: 'invalid parameter "limit": limit must be non-negative' });
    expect(apiErrorOf(() => limitParam(form({ limit: '1.5' })))).toEqual({ type: 'bad_data', message: 'invalid parameter "limit": strconv.Atoi: parsing "1.5": invalid syntax' });
  });

  it("goAtoi has Go's range", () => {
    expect(goAtoi('+12')).toBe(12);
    expect(() => goAtoi('99999999999999999999')).toThrow('strconv.Atoi: parsing "99999999999999999999": value out of range');
    expect(() => goAtoi(' 1')).toThrow('invalid syntax');
  });
});

describe('form decoding', () => {
  it("decodes as Go's ParseQuery: + is a space, repeated names keep their order", () => {
    const values = new Map<string, string[]>();
    expect(parseUrlEncoded('query=1%2B1&time=4&a+b=c+d&m[]=x&m%5B%5D=y&flag&=', values)).toBeUndefined();
    expect(Object.fromEntries(values)).toEqual({ query: ['1+1'], time: ['4'], 'a b': ['c d'], 'm[]': ['x', 'y'], flag: [''], '': [''] });
  });

  it('skips pairs with bad escapes or semicolons and reports the first error', () => {
    const values = new Map<string, string[]>();
    expect(parseUrlEncoded('a=%zz&b=1&c=%4', values)).toBe('invalid URL escape "%zz"');
    expect(Object.fromEntries(values)).toEqual({ b: ['1'] });
    expect(parseUrlEncoded('a=1;b=2', new Map())).toBe('invalid semicolon separator in query');
  });

  it('decodes UTF-8 and keeps invalid bytes as U+FFFD', () => {
    const values = new Map<string, string[]>();
    parseUrlEncoded('v=%C3%A9&w=%FF', values);
    expect(values.get('v')).toEqual(['é']);
    expect(values.get('w')).toEqual(['\ufffd']);
  });

  describe('readForm over HTTP', () => {
    let server: http.Server;
    let base = '';
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        void readForm(req, url, 1000).then(
          (f) => res.end(JSON.stringify({ query: f.get('query'), match: f.all('match[]'), error: f.parseError ?? null })),
          (e: Error) => res.end(JSON.stringify({ thrown: e instanceof ApiError ? `${e.errorType}: ${e.message}` : e.message })),
        );
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    const call = async (path: string, init?: RequestInit) => (await (await fetch(`${base}${path}`, init)).json()) as { query?: string; match?: string[]; error?: string | null; thrown?: string };

    it('a form POST: body values first, then the URL query', async () => {
      const got = await call('/?query=fromurl&match[]=b', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: 'query=up&match%5B%5D=a' });
      expect(got).toEqual({ query: 'up', match: ['a', 'b'], error: null });
    });

    it('ignores the body of other content types and of GET', async () => {
      expect(await call('/?query=q', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'query=up' })).toEqual({ query: 'q', match: [], error: null });
      expect(await call('/?query=q')).toEqual({ query: 'q', match: [], error: null });
    });

    it('a body over the limit is a bad_data error, not a crash', async () => {
      const got = await call('/', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `query=${'x'.repeat(2000)}` });
      expect(got).toEqual({ thrown: 'bad_data: error parsing form values: http: POST too large' });
    });

    it('a bad escape in the URL is kept as the form error, the other pairs still read', async () => {
      expect(await call('/?query=up&x=%zz')).toEqual({ query: 'up', match: [], error: 'invalid URL escape "%zz"' });
    });
  });
});

describe('match[]', () => {
  it('parses series selectors into matcher sets', () => {
    expect(parseMatchSets(['{__name__!=""}', 'up{job="a"}'])).toEqual([
      [{ name: '__name__', type: '!=', value: '' }],
      [
        { name: '__name__', type: '=', value: 'up' },
        { name: 'job', type: '=', value: 'a' },
      ],
    ]);
  });

  it('needs one matcher per set that does not match the empty string (the parser says so first)', () => {
    expect(() => parseMatchSets(['{a=~".*"}'])).toThrow('1:1: parse error: vector selector must contain at least one non-empty matcher');
    expect(() => parseMatchSets(['{a=""}'])).toThrow('vector selector must contain at least one non-empty matcher');
    expect(parseMatchSets(['{a=~".+"}'])).toHaveLength(1);
  });

  it('refuses what is not a plain series selector, with the parser\'s errors for bad syntax', () => {
    expect(() => parseMatchSets(['up + 1'])).toThrow(/parse error: expected a series selector.*instant vector/);
    expect(() => parseMatchSets(['up[5m]'])).toThrow(/parse error: expected a series selector.*range vector/);
    expect(() => parseMatchSets(['up offset 5m'])).toThrow(/parse error: expected a series selector.*offset/);
    expect(() => parseMatchSets(['up{'])).toThrow(/^1:\d+: parse error/);
  });
});

// The JSON Prometheus' API writes: timestamps, Go float strings, result shapes, the envelope,
// error statuses and compression. Expected strings are written out by hand from Prometheus'
// observed answers (spec/tsdb.md §3.3).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, ERROR_STATUS, invalidParam } from '../../../src/tsdb/api/api-error.js';
import { goQuote } from '../../../src/tsdb/promql/go-format.js';
import { TRUNCATED_WARNING, checkRange, truncateResult } from '../../../src/tsdb/api/query-limits.js';
import { errorBody, formatTimestamp, labelsJson, pickEncoding, queryDataJson, sendSuccess, successBody } from '../../../src/tsdb/api/response.js';

describe('formatTimestamp', () => {
  it('seconds with up to three decimals, trailing zeros dropped', () => {
    expect(formatTimestamp(1_435_781_430_781)).toBe('1435781430.781');
    expect(formatTimestamp(1_435_781_430_000)).toBe('1435781430');
    expect(formatTimestamp(1_435_781_430_100)).toBe('1435781430.1');
    expect(formatTimestamp(1_435_781_430_010)).toBe('1435781430.01');
    expect(formatTimestamp(4000)).toBe('4');
    expect(formatTimestamp(5)).toBe('0.005');
    expect(formatTimestamp(0)).toBe('0');
    expect(formatTimestamp(-1500)).toBe('-1.5');
  });
});

describe('queryDataJson', () => {
  it('scalar and string', () => {
    expect(queryDataJson({ resultType: 'scalar', timeMs: 4000, value: 2 })).toBe('{"resultType":"scalar","result":[4,"2"]}');
    expect(queryDataJson({ resultType: 'string', timeMs: 1500, value: 'a"b' })).toBe('{"resultType":"string","result":[1.5,"a\\"b"]}');
  });

  it('vector: Go float formats, label order kept', () => {
    const got = queryDataJson({
      resultType: 'vector',
      timeMs: 1_795_252_623_227,
      series: [
        { labels: [['__name__', 't_tiny']], value: 1.5e-7 },
        { labels: [['a', '1'], ['b', 'x']], value: Infinity },
        { labels: [], value: -Infinity },
        { labels: [['z', '']], value: NaN },
        { labels: [['big', 'y']], value: 1e21 },
        { labels: [['neg', 'y']], value: -0.000001 },
      ],
    });
    expect(got).toBe(
      '{"resultType":"vector","result":[' +
        '{"metric":{"__name__":"t_tiny"},"value":[1795252623.227,"1.5e-07"]},' +
        '{"metric":{"a":"1","b":"x"},"value":[1795252623.227,"+Inf"]},' +
        '{"metric":{},"value":[1795252623.227,"-Inf"]},' +
        '{"metric":{"z":""},"value":[1795252623.227,"NaN"]},' +
        '{"metric":{"big":"y"},"value":[1795252623.227,"1e+21"]},' +
        '{"metric":{"neg":"y"},"value":[1795252623.227,"-0.000001"]}]}',
    );
  });

  it('matrix, and empty results as []', () => {
    const got = queryDataJson({
      resultType: 'matrix',
      series: [{ labels: [['job', 'a']], timestamps: new Float64Array([1000, 16_000]), values: new Float64Array([0.1, 123456789012]) }],
    });
    expect(got).toBe('{"resultType":"matrix","result":[{"metric":{"job":"a"},"values":[[1,"0.1"],[16,"123456789012"]]}]}');
    expect(queryDataJson({ resultType: 'matrix', series: [] })).toBe('{"resultType":"matrix","result":[]}');
    expect(queryDataJson({ resultType: 'vector', timeMs: 0, series: [] })).toBe('{"resultType":"vector","result":[]}');
  });

  it('escapes label names and values as JSON', () => {
    expect(labelsJson([['a', 'line\nbreak "q" \\']])).toBe('{"a":"line\\nbreak \\"q\\" \\\\"}');
    expect(JSON.parse(labelsJson([['ü', '🙂']]))).toEqual({ ü: '🙂' });
  });
});

describe('envelope', () => {
  it('success omits empty warnings and infos', () => {
    expect(successBody('[]')).toBe('{"status":"success","data":[]}');
    expect(successBody('[]', ['w1', 'w1'], ['i1'])).toBe('{"status":"success","data":[],"warnings":["w1"],"infos":["i1"]}');
  });

  it('caps annotations at 10 with a count of the rest', () => {
    const many = Array.from({ length: 13 }, (_, i) => `w${i}`);
    const body = JSON.parse(successBody('1', many)) as { warnings: string[] };
    expect(body.warnings).toHaveLength(11);
    expect(body.warnings[10]).toBe('3 more warning annotations omitted');
  });

  it('errors', () => {
    expect(errorBody('bad_data', 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis')).toBe(
      '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": 1:5: parse error: unclosed left parenthesis"}',
    );
  });

  it("maps errorTypes to Prometheus' statuses", () => {
    expect(ERROR_STATUS).toEqual({ bad_data: 400, execution: 422, timeout: 503, canceled: 499, internal: 500, unavailable: 503, not_found: 404, not_acceptable: 406 });
    expect(new ApiError('execution', 'x').status).toBe(422);
    expect(invalidParam('step', 'why').message).toBe('invalid parameter "step": why');
  });

  it("goQuote escapes as Go's strconv.Quote", () => {
    expect(goQuote('a"b\\c\n\t\x01é')).toBe('"a\\"b\\\\c\\n\\t\\x01é"');
  });
});

describe('query_range checks and limit', () => {
  const error = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };

  it('in Prometheus\' words', () => {
    expect(error(() => checkRange(10_000, 5000, 1000))).toBe('invalid parameter "end": end timestamp must not be before start time');
    expect(error(() => checkRange(0, 5000, 0))).toBe('invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
    expect(error(() => checkRange(0, 5000, -1))).toBe('invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
    expect(error(() => checkRange(0, 11_001_000, 1000))).toBe('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
  });

  it('allows exactly 11,000 steps; sub-ms steps only for a single point', () => {
    expect(checkRange(0, 11_000_000, 1000)).toBe(1000);
    expect(checkRange(0, 11_000, 1)).toBe(1);
    expect(checkRange(7, 7, 0.1)).toBe(1);
    expect(error(() => checkRange(0, 1, 0.1))).toMatch(/zero or negative/);
    expect(checkRange(0, 1000, 15.9)).toBe(15);
  });

  it('limit keeps the first series and says so', () => {
    const value = { resultType: 'vector' as const, timeMs: 0, series: [1, 2, 3].map((v) => ({ labels: [['i', String(v)]] as [string, string][], value: v })) };
    const cut = truncateResult(value, 2);
    expect(cut.truncated).toBe(true);
    expect(cut.value.resultType === 'vector' && cut.value.series.map((s) => s.value)).toEqual([1, 2]);
    expect(truncateResult(value, 3).truncated).toBe(false);
    expect(truncateResult(value, 0).truncated).toBe(false);
    expect(TRUNCATED_WARNING).toBe('results truncated due to limit');
  });
});

describe('compression', () => {
  it('picks gzip or deflate from Accept-Encoding', () => {
    expect(pickEncoding('gzip, deflate, br')).toBe('gzip');
    expect(pickEncoding('br, deflate')).toBe('deflate');
    expect(pickEncoding('gzip;q=0, deflate')).toBe('deflate');
    expect(pickEncoding('identity')).toBeUndefined();
    expect(pickEncoding(undefined)).toBeUndefined();
  });

  let server: http.Server;
  let base = '';
  beforeAll(async () => {
    server = http.createServer((req, res) => void sendSuccess(req, res, '["a"]'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const raw = (encoding?: string) =>
    new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      http
        .get(`${base}/`, { headers: encoding ? { 'accept-encoding': encoding } : {} }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });

  it('compresses when asked, with Content-Encoding; plain otherwise', async () => {
    const gz = await raw('gzip');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['content-type']).toBe('application/json');
    expect(zlib.gunzipSync(gz.body).toString()).toBe('{"status":"success","data":["a"]}');
    const df = await raw('deflate');
    expect(zlib.inflateSync(df.body).toString()).toBe('{"status":"success","data":["a"]}');
    const plain = await raw();
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe('{"status":"success","data":["a"]}');
  });
});

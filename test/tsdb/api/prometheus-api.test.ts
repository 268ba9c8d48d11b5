// Every route of /prometheus/api/v1 over an in-memory storage, with the real parser and engine:
// JSON shapes and exact bodies, Prometheus' error texts and statuses, methods, tenancy, limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unescapeLabelName } from '../../../src/tsdb/api/prometheus-api.js';
import { type ApiServer, MemStorage, call, get, post, startApi } from './helpers.js';

const S = 1000;

function dataset(): MemStorage {
  const every15s = (from: number, to: number, value: (t: number) => number): Array<[number, number]> => {
    const out: Array<[number, number]> = [];
    for (let t = from; t <= to; t += 15 * S) out.push([t, value(t)]);
    return out;
  };
  return new MemStorage()
    .add(
      'anonymous',
      { labels: { __name__: 'up', job: 'api', instance: 'a' }, samples: every15s(0, 600 * S, () => 1) },
      { labels: { __name__: 'up', job: 'api', instance: 'b' }, samples: every15s(0, 600 * S, () => 0) },
      { labels: { __name__: 'http_requests_total', job: 'api', code: '200' }, samples: every15s(0, 600 * S, (t) => t / (15 * S)) },
      { labels: { __name__: 'tiny' }, samples: [[100 * S, 1.5e-7]] },
      { labels: { __name__: 'dotted', 'k8s.pod': 'p1' }, samples: [[100 * S, 1]] },
    )
    .add('other', { labels: { __name__: 'secret_metric', team: 'x' }, samples: [[100 * S, 42]] });
}

describe('Prometheus API routes', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApi(dataset(), { now: () => 700 * S });
  });
  afterAll(() => api?.close());

  describe('query', () => {
    it("Grafana's health check: 1+1 at time=4 (POST form)", async () => {
      const r = await post(api.url, 'query', { query: '1+1', time: '4' });
      expect(r.status).toBe(200);
      expect(r.contentType).toBe('application/json');
      expect(r.text).toBe('{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}');
    });

    it('a vector with a tiny value, in Go float format', async () => {
      const r = await get(api.url, 'query', { query: 'tiny', time: '100' });
      expect(r.text).toBe('{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"tiny"},"value":[100,"1.5e-07"]}]}}');
    });

    it('time defaults to now; lookback_delta shortens the lookback', async () => {
      const r = await get(api.url, 'query', { query: 'up{instance="a"}' });
      expect(r.body?.data).toEqual({ resultType: 'vector', result: [{ metric: { __name__: 'up', instance: 'a', job: 'api' }, value: [700, '1'] }] });
      const short = await get(api.url, 'query', { query: 'up{instance="a"}', lookback_delta: '1m' });
      expect(short.body?.data).toEqual({ resultType: 'vector', result: [] });
      const zero = await get(api.url, 'query', { query: 'up{instance="a"}', lookback_delta: '0' });
      expect((zero.body?.data as { result: unknown[] }).result).toHaveLength(1);
    });

    it('a string result', async () => {
      const r = await get(api.url, 'query', { query: '"hello"', time: '1.5' });
      expect(r.text).toBe('{"status":"success","data":{"resultType":"string","result":[1.5,"hello"]}}');
    });

    it('limit cuts the result and warns', async () => {
      const r = await get(api.url, 'query', { query: 'up', time: '300', limit: '1' });
      expect(r.body).toEqual({
        status: 'success',
        data: { resultType: 'vector', result: [{ metric: { __name__: 'up', instance: 'a', job: 'api' }, value: [300, '1'] }] },
        warnings: ['results truncated due to limit'],
      });
    });

    it('parse errors are a bad "query" parameter (400 bad_data)', async () => {
      const r = await get(api.url, 'query', { query: 'sum(up', time: '1' });
      expect(r.status).toBe(400);
      expect(r.body?.status).toBe('error');
      expect(r.body?.errorType).toBe('bad_data');
      expect(r.body?.error).toMatch(/^invalid parameter "query": 1:\d+: parse error: /);
      const empty = await get(api.url, 'query', {});
      expect(empty.status).toBe(400);
      expect(empty.body?.error).toMatch(/^invalid parameter "query": /);
    });

    it('evaluation errors are execution (422)', async () => {
      const r = await get(api.url, 'query', { query: 'up + on(job) up', time: '300' });
      expect(r.status).toBe(422);
      expect(r.body?.errorType).toBe('execution');
      expect(r.body?.error).toMatch(/many-to-many|duplicate|multiple matches/);
    });

    it("bad time, timeout and lookback_delta, in Prometheus' words", async () => {
      expect((await get(api.url, 'query', { query: '1', time: 'yesterday' })).body).toEqual({
        status: 'error',
        errorType: 'bad_data',
        error: `invalid parameter "time": invalid time value for 'time': cannot parse "yesterday" to a valid timestamp`,
      });
      expect((await get(api.url, 'query', { query: '1', timeout: 'soon' })).body?.error).toBe('invalid parameter "timeout": cannot parse "soon" to a valid duration');
      expect((await get(api.url, 'query', { query: '1', lookback_delta: 'x' })).body?.error).toBe('error parsing lookback delta duration: cannot parse "x" to a valid duration');
      expect((await get(api.url, 'query', { query: '1', limit: 'x' })).body?.error).toBe('invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax');
    });

    it('a timeout of zero has already run out (503 timeout)', async () => {
      const r = await get(api.url, 'query', { query: '1', timeout: '0' });
      expect(r.status).toBe(503);
      expect(r.body?.errorType).toBe('timeout');
    });

    it('gzip when asked', async () => {
      const res = await fetch(`${api.url}/query?query=up&time=300`, { headers: { 'accept-encoding': 'gzip' } });
      expect(res.headers.get('content-encoding')).toBe('gzip');
      expect(((await res.json()) as { status: string }).status).toBe('success');
    });
  });

  describe('query_range', () => {
    it('a matrix with float-second times and step', async () => {
      const r = await post(api.url, 'query_range', { query: 'up{instance="a"}', start: '0', end: '60', step: '15' });
      expect(r.text).toBe(
        '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","instance":"a","job":"api"},"values":[[0,"1"],[15,"1"],[30,"1"],[45,"1"],[60,"1"]]}]}}',
      );
    });

    it('fractional times and durations as a step', async () => {
      const r = await get(api.url, 'query_range', { query: 'up{instance="b"}', start: '30.5', end: '31.5', step: '500ms' });
      expect(r.body?.data).toEqual({ resultType: 'matrix', result: [{ metric: { __name__: 'up', instance: 'b', job: 'api' }, values: [[30.5, '0'], [31, '0'], [31.5, '0']] }] });
    });

    // 3 increments over 45 s sampled, extrapolated 15 s to the window start: 3 × (60 / 45 / 60) in
    // Prometheus' order of operations (factor divided by the range first).
    it('rate over a counter', async () => {
      const r = await get(api.url, 'query_range', { query: 'rate(http_requests_total[1m])', start: '300', end: '300', step: '15' });
      expect(r.body?.data).toEqual({ resultType: 'matrix', result: [{ metric: { code: '200', job: 'api' }, values: [[300, '0.06666666666666665']] }] });
    });

    it("range checks in Prometheus' words", async () => {
      const err = async (params: Record<string, string>) => {
        const r = await get(api.url, 'query_range', { query: 'up', ...params });
        expect(r.status).toBe(400);
        return r.body?.error;
      };
      expect(await err({ start: '10', end: '5', step: '1' })).toBe('invalid parameter "end": end timestamp must not be before start time');
      expect(await err({ start: '0', end: '5', step: '0' })).toBe('invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
      expect(await err({ start: '0', end: '11001', step: '1' })).toBe('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
      expect(await err({ end: '5', step: '1' })).toBe('invalid parameter "start": cannot parse "" to a valid timestamp');
      expect(await err({ start: '0', end: '5' })).toBe('invalid parameter "step": cannot parse "" to a valid duration');
    });

    it('a range vector is not a range query', async () => {
      const r = await get(api.url, 'query_range', { query: 'up[5m]', start: '0', end: '60', step: '15' });
      expect(r.status).toBe(400);
      expect(r.body?.error).toBe('invalid parameter "query": invalid expression type "range vector" for range query, must be Scalar or instant Vector');
    });
  });

  describe('series, labels, label values', () => {
    it('series: label sets, sorted; several match[] are a union', async () => {
      const r = await get(api.url, 'series', { 'match[]': ['up', 'tiny', 'up{instance="a"}'] });
      expect(r.body).toEqual({
        status: 'success',
        data: [{ __name__: 'tiny' }, { __name__: 'up', instance: 'a', job: 'api' }, { __name__: 'up', instance: 'b', job: 'api' }],
      });
    });

    it('series needs match[]; limit warns', async () => {
      expect((await get(api.url, 'series', {})).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'no match[] parameter provided' });
      const r = await post(api.url, 'series', { 'match[]': '{__name__!=""}', limit: '2' });
      expect(r.body?.data).toHaveLength(2);
      expect(r.body?.warnings).toEqual(['results truncated due to limit']);
      const bad = await get(api.url, 'series', { 'match[]': 'up + 1' });
      expect(bad.status).toBe(400);
      expect(bad.body?.error).toMatch(/^invalid parameter "match\[\]": /);
    });

    it('series outside the time range are not listed', async () => {
      expect((await get(api.url, 'series', { 'match[]': 'tiny', start: '200', end: '300' })).body?.data).toEqual([]);
    });

    it('labels (POST and GET), with match[] and limit', async () => {
      const all = ['__name__', 'code', 'instance', 'job', 'k8s.pod'];
      expect((await post(api.url, 'labels', { limit: '40000' })).body).toEqual({ status: 'success', data: all });
      expect((await get(api.url, 'labels', { limit: '40000' })).body?.data).toEqual(all);
      expect((await get(api.url, 'labels', { 'match[]': 'tiny' })).body?.data).toEqual(['__name__']);
      expect((await get(api.url, 'labels', { 'match[]': ['tiny', 'dotted'] })).body?.data).toEqual(['__name__', 'k8s.pod']);
      expect((await get(api.url, 'labels', { limit: '2' })).body).toEqual({ status: 'success', data: ['__name__', 'code'], warnings: ['results truncated due to limit'] });
      expect((await get(api.url, 'labels', { 'match[]': '{x=~".*"}' })).status).toBe(400);
    });

    it('label values, also U__-escaped names; GET only', async () => {
      expect((await get(api.url, 'label/__name__/values')).body).toEqual({ status: 'success', data: ['dotted', 'http_requests_total', 'tiny', 'up'] });
      expect((await get(api.url, 'label/instance/values', { 'match[]': 'up' })).body?.data).toEqual(['a', 'b']);
      expect((await get(api.url, 'label/U__k8s_2e_pod/values')).body?.data).toEqual(['p1']);
      expect((await get(api.url, 'label/nonexistent/values')).body?.data).toEqual([]);
      const posted = await post(api.url, 'label/job/values');
      expect(posted.status).toBe(405);
      expect(posted.text).toBe('Method Not Allowed\n');
    });
  });

  describe('metadata', () => {
    it('from the remote-write metadata store, with limit and metric', async () => {
      api.metadata.add('anonymous', [
        { metricFamilyName: 'up', type: 'gauge', help: 'Target up.', unit: '' },
        { metricFamilyName: 'http_requests_total', type: 'counter', help: 'Requests.', unit: 'requests' },
      ]);
      expect((await get(api.url, 'metadata')).body).toEqual({
        status: 'success',
        data: { http_requests_total: [{ type: 'counter', help: 'Requests.', unit: 'requests' }], up: [{ type: 'gauge', help: 'Target up.', unit: '' }] },
      });
      expect(Object.keys((await get(api.url, 'metadata', { limit: '1' })).body?.data as object)).toHaveLength(1);
      expect((await get(api.url, 'metadata', { metric: 'up', limit_per_metric: '1' })).body?.data).toEqual({ up: [{ type: 'gauge', help: 'Target up.', unit: '' }] });
      expect((await get(api.url, 'metadata', { metric: 'nope' })).body?.data).toEqual({});
      expect((await get(api.url, 'metadata', { limit: 'x' })).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'limit must be a number' });
    });
  });

  describe('the rest', () => {
    it('buildinfo: a semver version and a features map', async () => {
      const r = await get(api.url, 'status/buildinfo');
      const data = r.body?.data as Record<string, unknown>;
      expect(r.status).toBe(200);
      expect(data.version).toBe('3.5.0');
      expect(data.features).toEqual({ ruler_config_api: 'false', alertmanager_config_api: 'false', query_sharding: 'false', federated_rules: 'false' });
      expect(Object.keys(data).sort()).toEqual(['application', 'branch', 'buildDate', 'buildUser', 'features', 'goVersion', 'revision', 'version']);
    });

    it("exemplars: [] for Grafana's probe with ms times (GET and POST); a bad query is bad_data", async () => {
      const params = { query: 'test', start: '1700000000000', end: '1700000600000' };
      expect((await get(api.url, 'query_exemplars', params)).body).toEqual({ status: 'success', data: [] });
      expect((await post(api.url, 'query_exemplars', params)).body).toEqual({ status: 'success', data: [] });
      expect((await get(api.url, 'query_exemplars', { query: 'test', start: '10', end: '5' })).body?.error).toBe('end timestamp must not be before start timestamp');
      expect((await get(api.url, 'query_exemplars', { query: 'sum(' })).status).toBe(400);
    });

    it('format_query', async () => {
      expect((await get(api.url, 'format_query', { query: 'sum(rate(x[5m]))by(job)' })).body).toEqual({ status: 'success', data: 'sum by (job) (rate(x[5m]))' });
      expect((await get(api.url, 'format_query', { query: 'sum(' })).body?.error).toMatch(/^invalid parameter "query": 1:\d+: parse error/);
    });

    it('rules and alerts are empty lists', async () => {
      expect((await get(api.url, 'rules')).body).toEqual({ status: 'success', data: { groups: [] } });
      expect((await get(api.url, 'rules', { type: 'record' })).body?.status).toBe('success');
      expect((await get(api.url, 'rules', { type: 'x' })).body?.error).toBe('invalid parameter "type": not supported value "x"');
      expect((await get(api.url, 'alerts')).body).toEqual({ status: 'success', data: { alerts: [] } });
    });

    it('404 for unknown paths, 405 for wrong methods, 204 for OPTIONS', async () => {
      const missing = await get(api.url, 'targets');
      expect(missing).toMatchObject({ status: 404, text: '404 page not found\n' });
      expect((await get(api.url, 'label/x/valuez')).status).toBe(404);
      expect((await post(api.url, 'status/buildinfo')).status).toBe(405);
      const del = await call(`${api.url}/query`, { method: 'DELETE' });
      expect(del.status).toBe(405);
      expect((await call(`${api.url}/query`, { method: 'OPTIONS' })).status).toBe(204);
    });
  });
});

describe('Prometheus API query limits', () => {
  let api: ApiServer;
  let small: ApiServer;
  let plain: ApiServer;
  beforeAll(async () => {
    // One sample a second for 10,000 s (the last at 9,999 s).
    const storage = new MemStorage().add('anonymous', { labels: { __name__: 'up' }, samples: Array.from({ length: 10_000 }, (_, i) => [i * S, i] as [number, number]) });
    api = await startApi(storage, { limits: { timeoutMs: 50 } });
    small = await startApi(storage, { limits: { maxSamples: 1000 } });
    plain = await startApi(storage);
  });
  afterAll(async () => {
    await api?.close();
    await small?.close();
    await plain?.close();
  });

  // 10.8 million subquery steps: seconds of work, far beyond 50 ms.
  const heavy = 'sum(count_over_time(up[3h:1ms]))';

  it('the configured timeout stops a query (503 timeout)', async () => {
    const r = await get(api.url, 'query', { query: heavy, time: '10000' });
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ status: 'error', errorType: 'timeout', error: expect.stringMatching(/^query timed out in /) as unknown });
  });

  it('the timeout parameter shortens the default', async () => {
    const r = await get(plain.url, 'query', { query: heavy, time: '10000', timeout: '0.05' });
    expect(r.status).toBe(503);
    expect(r.body?.errorType).toBe('timeout');
  });

  it('a longer timeout parameter does not lift the cap', async () => {
    const r = await get(api.url, 'query', { query: heavy, time: '10000', timeout: '1h' });
    expect(r.status).toBe(503);
  });

  it('max samples', async () => {
    const r = await get(small.url, 'query', { query: 'count_over_time(up[2h])', time: '10000' });
    expect(r.body?.status).toBe('error');
    expect(r.body?.error).toMatch(/too many samples/);
    expect(r.status).toBe(r.body?.errorType === 'timeout' ? 503 : 422);
    // (9700 s, 10000 s] holds 299 samples: under the limit.
    expect((await get(small.url, 'query', { query: 'count_over_time(up[5m])', time: '10000' })).body?.data).toEqual({ resultType: 'vector', result: [{ metric: {}, value: [10000, '299'] }] });
  });
});

describe('unescapeLabelName (U__ value-encoding escaping)', () => {
  it('decodes __ and _<hex>_; leaves plain and malformed names as given', () => {
    expect(unescapeLabelName('job')).toBe('job');
    expect(unescapeLabelName('U__k8s_2e_pod')).toBe('k8s.pod');
    expect(unescapeLabelName('U__a__b')).toBe('a_b');
    expect(unescapeLabelName('U___1f642_')).toBe('🙂');
    expect(unescapeLabelName('U__')).toBe('U__');
    expect(unescapeLabelName('U__a_2e')).toBe('U__a_2e');
    expect(unescapeLabelName('U__a_zz_')).toBe('U__a_zz_');
    expect(unescapeLabelName('U__a_1234567_')).toBe('U__a_1234567_');
    expect(unescapeLabelName('U__a_d800_')).toBe('U__a_d800_');
  });
});

describe('Prometheus API tenancy', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApi(dataset(), { multitenancy: true });
  });
  afterAll(() => api?.close());

  it('401 no org id without X-Scope-OrgID, except buildinfo', async () => {
    const r = await get(api.url, 'query', { query: '1' });
    expect(r.status).toBe(401);
    expect(r.text).toBe('no org id\n');
    expect((await get(api.url, 'labels')).status).toBe(401);
    expect((await get(api.url, 'status/buildinfo')).status).toBe(200);
  });

  it('each tenant sees its own series', async () => {
    const other = { 'X-Scope-OrgID': 'other' };
    expect((await get(api.url, 'label/__name__/values', {}, other)).body?.data).toEqual(['secret_metric']);
    expect((await get(api.url, 'label/__name__/values', {}, { 'X-Scope-OrgID': 'anonymous' })).body?.data).toEqual(['dotted', 'http_requests_total', 'tiny', 'up']);
    const q = await get(api.url, 'query', { query: 'secret_metric', time: '100' }, { 'X-Scope-OrgID': 'someone' });
    expect(q.body?.data).toEqual({ resultType: 'vector', result: [] });
  });
});

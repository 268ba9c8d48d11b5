// What Grafana's Prometheus data source asks, replayed against a real `kiln serve -target=tsdb`
// with remote-written data: the calls as Grafana makes them (methods, form bodies, float-second
// and millisecond times, the POST-then-GET retry) and the shapes and statuses it relies on
// (spec/tsdb.md §3.5). Then each route once more over the real storage, and tenancy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KilnProcess, startKiln } from '../helpers/kiln-process.js';
import { encodeV1, snappy, type TestSeries } from '../tsdb/distributor/helpers.js';

const V1 = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
const STEP = 15_000;

interface Body {
  status: string;
  data?: unknown;
  errorType?: string;
  error?: string;
  warnings?: string[];
}

async function push(kiln: KilnProcess, series: TestSeries[], metadata: Parameters<typeof encodeV1>[1] = [], headers: Record<string, string> = {}) {
  const res = await fetch(`${kiln.url}/api/v1/push`, { method: 'POST', headers: { ...V1, ...headers }, body: snappy(encodeV1(series, metadata)) });
  expect(res.status, await res.text()).toBe(200);
}

/** A call as Grafana's backend makes it: GET with a query string, or POST with a form body. */
async function grafana(kiln: KilnProcess, method: 'GET' | 'POST', path: string, params: Array<[string, string]>, headers: Record<string, string> = {}) {
  const form = new URLSearchParams(params).toString();
  const url = `${kiln.url}/prometheus/api/v1/${path}`;
  const res =
    method === 'GET'
      ? await fetch(form === '' ? url : `${url}?${form}`, { headers: { 'accept-encoding': 'gzip', ...headers } })
      : await fetch(url, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-encoding': 'gzip', ...headers } });
  const text = await res.text();
  let body: Body | undefined;
  try {
    body = JSON.parse(text) as Body;
  } catch {
    body = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type'), text, body };
}

/** Go's strconv.FormatFloat(seconds, 'f', -1, 64), as Grafana formats times and steps. */
const seconds = (ms: number) => String(ms / 1000);

describe("Grafana's Prometheus data source against kiln serve -target=tsdb", () => {
  let kiln: KilnProcess;
  // 41 samples every 15 s ending at a 15 s boundary a little before now.
  const end = Math.floor(Date.now() / STEP) * STEP - STEP;
  const start = end - 40 * STEP;
  const times = Array.from({ length: 41 }, (_, i) => start + i * STEP);

  beforeAll(async () => {
    kiln = await startKiln(['-target=tsdb', '-tsdb.distributor.ingestion-rate-limit=0']);
    await push(
      kiln,
      [
        { labels: { __name__: 'up', job: 'node', instance: 'host-1:9100' }, samples: times.map((t) => [t, 1]) },
        { labels: { __name__: 'up', job: 'node', instance: 'host-2:9100' }, samples: times.map((t) => [t, 0]) },
        { labels: { __name__: 'node_cpu_seconds_total', job: 'node', instance: 'host-1:9100', mode: 'idle' }, samples: times.map((t, i) => [t, i * 15]) },
        { labels: { __name__: 'tiny_ratio', job: 'node' }, samples: times.map((t) => [t, 1.5e-7]) },
      ],
      [
        { type: 2, metricFamilyName: 'up', help: 'Whether the target is up.', unit: '' },
        { type: 1, metricFamilyName: 'node_cpu_seconds_total', help: 'Seconds the CPUs spent in each mode.', unit: 'seconds' },
      ],
    );
  });
  afterAll(async () => {
    await kiln?.stop();
  });

  it('Save & test: POST query 1+1 at time=4 answers a scalar 2', async () => {
    const r = await grafana(kiln, 'POST', 'query', [['query', '1+1'], ['time', '4']]);
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('application/json');
    expect(r.text).toBe('{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}');
  });

  it('buildinfo: a semver ≥ 2.24 and a features map without ruler or Alertmanager APIs', async () => {
    const r = await grafana(kiln, 'GET', 'status/buildinfo', []);
    expect(r.status).toBe(200);
    const data = r.body!.data as { version: string; features: Record<string, string> };
    const [major, minor] = data.version.split('.').map(Number) as [number, number];
    expect(/^\d+\.\d+\.\d+$/.test(data.version)).toBe(true);
    expect(major > 2 || (major === 2 && minor >= 24)).toBe(true);
    expect(data.features.ruler_config_api).toBe('false');
    expect(data.features.alertmanager_config_api).toBe('false');
  });

  it('label names: POST with limit=40000, and the same by GET', async () => {
    const params: Array<[string, string]> = [['start', seconds(start)], ['end', seconds(end)], ['limit', '40000']];
    const posted = await grafana(kiln, 'POST', 'labels', params);
    expect(posted.status).toBe(200);
    expect(posted.body).toEqual({ status: 'success', data: ['__name__', 'instance', 'job', 'mode'] });
    expect((await grafana(kiln, 'GET', 'labels', params)).body).toEqual(posted.body);
  });

  it('metric names: GET label/__name__/values (POST is 405, which Grafana retries as GET)', async () => {
    const params: Array<[string, string]> = [['start', seconds(start)], ['end', seconds(end)], ['limit', '40000']];
    expect((await grafana(kiln, 'GET', 'label/__name__/values', params)).body).toEqual({ status: 'success', data: ['node_cpu_seconds_total', 'tiny_ratio', 'up'] });
    expect((await grafana(kiln, 'POST', 'label/__name__/values', params)).status).toBe(405);
    const withMatch = await grafana(kiln, 'GET', 'label/instance/values', [['match[]', 'up{job="node"}'], ['start', seconds(start)], ['end', seconds(end)]]);
    expect(withMatch.body?.data).toEqual(['host-1:9100', 'host-2:9100']);
  });

  it('series with match[]={__name__!=""}: every label set', async () => {
    const r = await grafana(kiln, 'POST', 'series', [['match[]', '{__name__!=""}'], ['start', seconds(start)], ['end', seconds(end)]]);
    expect(r.status).toBe(200);
    expect(r.body?.data).toEqual([
      { __name__: 'node_cpu_seconds_total', instance: 'host-1:9100', job: 'node', mode: 'idle' },
      { __name__: 'tiny_ratio', job: 'node' },
      { __name__: 'up', instance: 'host-1:9100', job: 'node' },
      { __name__: 'up', instance: 'host-2:9100', job: 'node' },
    ]);
  });

  it('metadata: {metric: [{type, help, unit}]}', async () => {
    const r = await grafana(kiln, 'GET', 'metadata', []);
    expect(r.body).toEqual({
      status: 'success',
      data: {
        node_cpu_seconds_total: [{ type: 'counter', help: 'Seconds the CPUs spent in each mode.', unit: 'seconds' }],
        up: [{ type: 'gauge', help: 'Whether the target is up.', unit: '' }],
      },
    });
    expect(Object.keys((await grafana(kiln, 'GET', 'metadata', [['limit_per_metric', '1'], ['limit', '1']])).body!.data as object)).toHaveLength(1);
  });

  it('a graph panel: POST query_range with float-second start, end and step', async () => {
    const r = await grafana(kiln, 'POST', 'query_range', [['query', 'up{instance="host-1:9100"}'], ['start', seconds(start)], ['end', seconds(end)], ['step', '15']]);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      status: 'success',
      data: { resultType: 'matrix', result: [{ metric: { __name__: 'up', instance: 'host-1:9100', job: 'node' }, values: times.map((t) => [t / 1000, '1']) }] },
    });
    const rate = await grafana(kiln, 'POST', 'query_range', [['query', 'sum by (mode) (rate(node_cpu_seconds_total[1m]))'], ['start', seconds(end - 4 * STEP)], ['end', seconds(end)], ['step', '15'], ['timeout', '30s']]);
    // One CPU second per second: +15 every 15 s. Each 1m window holds 4 samples (45 s sampled,
    // extrapolated 15 s to the window start): 45 × (60 / 45 / 60) in Prometheus' order of operations.
    expect(rate.body?.data).toEqual({ resultType: 'matrix', result: [{ metric: { mode: 'idle' }, values: [4, 3, 2, 1, 0].map((k) => [(end - k * STEP) / 1000, '0.9999999999999999']) }] });
  });

  it('Go float formats and empty results', async () => {
    const tiny = await grafana(kiln, 'POST', 'query', [['query', 'tiny_ratio'], ['time', seconds(end)]]);
    expect(tiny.text).toBe(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"tiny_ratio","job":"node"},"value":[${end / 1000},"1.5e-07"]}]}}`);
    const none = await grafana(kiln, 'POST', 'query_range', [['query', 'nothing_here'], ['start', seconds(start)], ['end', seconds(end)], ['step', '60']]);
    expect(none.text).toBe('{"status":"success","data":{"resultType":"matrix","result":[]}}');
  });

  it('the exemplars probe with millisecond start and end answers success', async () => {
    const params: Array<[string, string]> = [['query', 'test'], ['start', String(end - 30 * 60_000)], ['end', String(end)]];
    expect((await grafana(kiln, 'GET', 'query_exemplars', params)).body).toEqual({ status: 'success', data: [] });
    expect((await grafana(kiln, 'POST', 'query_exemplars', params)).body).toEqual({ status: 'success', data: [] });
  });

  it('errors Grafana shows: bad_data 400 with the message, 11,000 points', async () => {
    const bad = await grafana(kiln, 'POST', 'query', [['query', 'sum(rate(up[5m])'], ['time', seconds(end)]]);
    expect(bad.status).toBe(400);
    expect(bad.body?.errorType).toBe('bad_data');
    expect(bad.body?.error).toMatch(/^invalid parameter "query": 1:\d+: parse error: /);
    const many = await grafana(kiln, 'POST', 'query_range', [['query', 'up'], ['start', '0'], ['end', seconds(end)], ['step', '15']]);
    expect(many.body).toEqual({ status: 'error', errorType: 'bad_data', error: 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)' });
  });

  it('rules and alerts are empty; unknown endpoints 404', async () => {
    expect((await grafana(kiln, 'GET', 'rules', [])).body).toEqual({ status: 'success', data: { groups: [] } });
    expect((await grafana(kiln, 'GET', 'alerts', [])).body).toEqual({ status: 'success', data: { alerts: [] } });
    expect((await grafana(kiln, 'GET', 'targets', [])).status).toBe(404);
    expect((await grafana(kiln, 'GET', 'format_query', [['query', 'sum(up)by(job)']])).body).toEqual({ status: 'success', data: 'sum by (job) (up)' });
  });

  it('/metrics counts the API requests by endpoint and status (for the operations dashboard)', async () => {
    const count = async (endpoint: string, code: string): Promise<number> => {
      const text = await (await fetch(`${kiln.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`kiln_tsdb_query_requests_total{endpoint="${endpoint}",status_code="${code}"}`));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    };
    const [ok, bad] = [await count('query', '200'), await count('query', '400')];
    await grafana(kiln, 'GET', 'query', [['query', '1'], ['time', '4']]);
    await grafana(kiln, 'GET', 'query', [['query', '1+'], ['time', '4']]);
    expect(await count('query', '200')).toBe(ok + 1);
    expect(await count('query', '400')).toBe(bad + 1);
  });
});

describe('the Prometheus API with multitenancy', () => {
  let kiln: KilnProcess;
  const now = Math.floor(Date.now() / 1000) * 1000 - 5000;

  beforeAll(async () => {
    kiln = await startKiln(['-target=tsdb', '-auth.multitenancy-enabled=true']);
    await push(kiln, [{ labels: { __name__: 'team_metric', team: 'a' }, samples: [[now, 7]] }], [], { 'x-scope-orgid': 'team-a' });
  });
  afterAll(async () => {
    await kiln?.stop();
  });

  it('401 no org id without X-Scope-OrgID; buildinfo needs none', async () => {
    const r = await grafana(kiln, 'POST', 'query', [['query', '1+1'], ['time', '4']]);
    expect(r.status).toBe(401);
    expect(r.text.trim()).toBe('no org id');
    expect((await grafana(kiln, 'GET', 'status/buildinfo', [])).status).toBe(200);
  });

  it("a tenant sees only its own series", async () => {
    const q: Array<[string, string]> = [['query', 'team_metric'], ['time', seconds(now)]];
    expect((await grafana(kiln, 'POST', 'query', q, { 'X-Scope-OrgID': 'team-a' })).body?.data).toEqual({
      resultType: 'vector',
      result: [{ metric: { __name__: 'team_metric', team: 'a' }, value: [now / 1000, '7'] }],
    });
    expect((await grafana(kiln, 'POST', 'query', q, { 'X-Scope-OrgID': 'team-b' })).body?.data).toEqual({ resultType: 'vector', result: [] });
    expect((await grafana(kiln, 'GET', 'label/__name__/values', [], { 'X-Scope-OrgID': 'team-b' })).body?.data).toEqual([]);
  });
});

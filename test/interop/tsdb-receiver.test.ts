// Kiln's remote-write receiver against Debian's Prometheus 2.42:
//  (1) the same requests sent to Prometheus's receiver and to Kiln agree on accept/reject (2xx vs
//      4xx) where their semantics match; the known differences are listed and asserted as such;
//  (2) Prometheus as a sender: it scrapes itself every second and remote-writes to Kiln with
//      basic auth, and its series land in Kiln under the basic-auth tenant;
//  (3) Kiln's own exporter → Kiln's own TSDB: recorded series of provisioned rules land in the
//      same process's TSDB (default exporter URL) with the exact totals of the pushes.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactionFlags, indexedBlockKeys, waitFor } from '../helpers/compaction.js';
import { FoldedPushGenerator, pushFolded, type FoldedPush } from '../helpers/folded-pushes.js';
import { type KilnProcess, startKiln, tempDir } from '../helpers/kiln-process.js';
import { expectedTotals, groundTruthRules } from '../helpers/recorded-truth.js';
import { STALE_PLACEHOLDER, encodeV1, snappy, withStaleMarkers, type TestSeries } from '../tsdb/distributor/helpers.js';
import { hasPrometheus, startPrometheus, type PrometheusProcess } from './prometheus.js';

const haveProm = hasPrometheus();
if (!haveProm) console.log('skipping the TSDB receiver interop tests: /usr/bin/prometheus is missing (apt-get install prometheus)');

const V1 = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0', 'user-agent': 'kiln-interop-test' };

async function send(url: string, body: Uint8Array, headers: Record<string, string> = V1): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers, body });
  await res.text();
  return res.status;
}

const cls = (status: number) => `${Math.floor(status / 100)}xx`;

describe.skipIf(!haveProm)('same requests, Prometheus 2.42 vs Kiln', () => {
  let prom: PrometheusProcess;
  let kiln: KilnProcess;
  beforeAll(async () => {
    [prom, kiln] = await Promise.all([startPrometheus(), startKiln(['-target=tsdb'])]);
  });
  afterAll(async () => {
    await Promise.all([prom?.stop(), kiln?.stop()]);
  });

  it('agree on 2xx vs 4xx where semantics match; differ exactly where listed', async () => {
    const now = Date.now();
    const v1 = (series: TestSeries[]) => snappy(encodeV1(series));
    const one = (name: string, t: number, v: number, extra: Record<string, string> = {}): TestSeries[] => [{ labels: { __name__: name, ...extra }, samples: [[t, v]] }];
    // [name, body, headers?, difference?]; sent in order to both (state matters: duplicates, order).
    const cases: { name: string; body: Uint8Array; headers?: Record<string, string>; kiln?: string; prometheus?: string }[] = [
      { name: 'valid', body: v1(one('i_valid', now, 1)) },
      { name: 'duplicate, same value', body: v1(one('i_valid', now, 1)) },
      { name: 'duplicate, different value', body: v1(one('i_valid', now, 2)) },
      { name: 'out of order', body: v1(one('i_valid', now - 60_000, 1)) },
      { name: 'good series + out-of-order series (Prometheus rolls back, Kiln keeps the good one; both 400)', body: v1([...one('i_mixed', now, 1), ...one('i_valid', now - 30_000, 1)]) },
      { name: 'labels unsorted', body: v1([{ labels: [['z', '1'], ['__name__', 'i_unsorted'], ['a', '2']], samples: [[now, 1]] }]) },
      { name: 'empty label value (dropped by both)', body: v1(one('i_empty_value', now, 1, { e: '' })) },
      { name: 'stale marker', body: snappy(withStaleMarkers(encodeV1(one('i_valid', now + 1000, STALE_PLACEHOLDER)))) },
      { name: 'empty request', body: v1([]) },
      { name: 'metadata only', body: snappy(encodeV1([], [{ type: 1, metricFamilyName: 'i_valid', help: 'x' }])) },
      { name: 'corrupt snappy', body: Buffer.from('ff060000734e61507059', 'hex') },
      { name: 'truncated protobuf', body: snappy(encodeV1(one('i_trunc', now, 1)).subarray(0, 10)) },
      // Known differences: Kiln validates like Mimir, Prometheus 2.42's receiver does not.
      { name: 'missing metric name', body: v1([{ labels: { job: 'x' }, samples: [[now, 1]] }]), kiln: '4xx', prometheus: '2xx' },
      { name: 'invalid label name', body: v1(one('i_badlabel', now, 1, { 'a-b': 'x' })), kiln: '4xx', prometheus: '2xx' },
      { name: 'invalid metric name', body: v1(one('i-bad-name', now, 1)), kiln: '4xx', prometheus: '2xx' },
      { name: 'timestamp now+1h (2.42 has no future limit)', body: v1(one('i_future', now + 3_600_000, 1)), kiln: '4xx', prometheus: '2xx' },
      { name: 'too many labels (31)', body: v1(one('i_many', now, 1, Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`l${i}`, 'v'])))), kiln: '4xx', prometheus: '2xx' },
      // Kiln negotiates the content type (415); 2.42 ignores it and decodes the body as 1.0.
      { name: 'Content-Type text/plain', body: v1(one('i_ct', now, 1)), headers: { ...V1, 'content-type': 'text/plain' }, kiln: '4xx', prometheus: '2xx' },
    ];
    const rows: string[] = [];
    for (const c of cases) {
      const [p, k] = [await send(prom.writeUrl, c.body, c.headers), await send(`${kiln.url}/api/v1/push`, c.body, c.headers)];
      rows.push(`${c.name.padEnd(60)} prometheus ${p}  kiln ${k}`);
      if (c.kiln === undefined) {
        expect(cls(k), `${c.name}: prometheus ${p}, kiln ${k}`).toBe(cls(p));
        expect(['2xx', '4xx']).toContain(cls(k));
      } else {
        expect(cls(k), `${c.name}: kiln`).toBe(c.kiln);
        expect(cls(p), `${c.name}: prometheus`).toBe(c.prometheus);
      }
    }
    console.log(rows.join('\n'));
    // The good series of the mixed batch: stored by Kiln, rolled back by Prometheus.
    const kilnMixed = (await (await fetch(`${kiln.url}/tsdb/series?match=i_mixed`)).json()) as { data: unknown[] };
    expect(kilnMixed.data).toHaveLength(1);
  });
});

describe.skipIf(!haveProm)('Prometheus 2.42 remote-writing into Kiln with basic auth', () => {
  let prom: PrometheusProcess;
  let kiln: KilnProcess;
  beforeAll(async () => {
    kiln = await startKiln(['-target=tsdb', '-auth.multitenancy-enabled', '-tsdb.distributor.tenant-from-basic-auth']);
    prom = await startPrometheus({
      config: (port) =>
        [
          'global:',
          '  scrape_interval: 1s',
          '  external_labels: {monitor: interop}',
          'scrape_configs:',
          '  - job_name: prometheus',
          `    static_configs: [{targets: ['127.0.0.1:${port}']}]`,
          'remote_write:',
          `  - url: ${kiln.url}/api/v1/push`,
          '    basic_auth: {username: tenant-prom, password: x}',
          '    queue_config: {batch_send_deadline: 1s, max_backoff: 1s}',
          '    metadata_config: {send_interval: 2s}',
          '',
        ].join('\n'),
    });
  });
  afterAll(async () => {
    await prom?.stop();
    await kiln?.stop();
  });

  it("its own series arrive under the basic-auth tenant, nothing is rejected", async () => {
    const get = async (metric: string, tenant: string) =>
      ((await (await fetch(`${kiln.url}/tsdb/series?match=${metric}`, { headers: { 'x-scope-orgid': tenant } })).json()) as { data: { metric: Record<string, string>; values: [number, string][] }[] }).data;
    await waitFor(async () => (await get('up', 'tenant-prom')).some((s) => s.values.length >= 3), 60_000, 'up from Prometheus in Kiln');
    const up = await get('up', 'tenant-prom');
    expect(up[0]!.metric).toMatchObject({ __name__: 'up', job: 'prometheus', monitor: 'interop' });
    expect(up[0]!.values.every(([, v]) => v === '1')).toBe(true);
    const build = await get('prometheus_build_info', 'tenant-prom');
    expect(build[0]!.metric.version).toBe('2.42.0+ds');
    expect(await get('up', 'anonymous')).toEqual([]);
    // Nothing dropped on Prometheus's side (a 4xx would count here).
    expect(await prom.selfMetric('prometheus_remote_storage_samples_failed_total')).toBe(0);
    const text = await (await fetch(`${kiln.url}/metrics`)).text();
    expect(text).not.toMatch(/kiln_tsdb_distributor_requests_total\{version="1.0",status_code="4\d\d"\}/);
  });
});

describe.skipIf(!haveProm)("Kiln's exporter into Kiln's own TSDB", () => {
  let kiln: KilnProcess;
  const TENANTS = ['acme', 'globex'];
  beforeAll(async () => {
    const dir = tempDir('kiln-self-tsdb-');
    const rulesDir = path.join(dir, 'rules');
    mkdirSync(rulesDir);
    writeFileSync(path.join(rulesDir, 'truth.yaml'), groundTruthRules(TENANTS));
    // -target=all with no -metrics-exporter.remote-write-url: the exporter writes to this process's /api/v1/push.
    kiln = await startKiln(['-auth.multitenancy-enabled', `-recording-rules.dir=${rulesDir}`, '-distributor.num-shards=2', '-segment-writer.segment-duration=200ms', '-metrics-exporter.max-backoff=1s', ...compactionFlags], dir);
  });
  afterAll(async () => {
    await kiln?.stop();
  });

  it('records exactly the pushed totals into the TSDB, per tenant', async () => {
    const gen = new FoldedPushGenerator(505, TENANTS, ['api', 'worker'], ['eu', 'us']);
    const acked: FoldedPush[] = [];
    for (let i = 0; i < 120; i++) {
      const p = gen.next();
      expect(await pushFolded(kiln.url, p)).toBe(200);
      acked.push(p);
    }
    const metric = async (name: string) => {
      let sum = 0;
      for (const line of (await (await fetch(`${kiln.url}/metrics`)).text()).split('\n')) if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      return sum;
    };
    await waitFor(async () => (await indexedBlockKeys(kiln.url, { level: 0 })).length === 0, 120_000, 'every segment to be compacted');
    await waitFor(async () => (await metric('kiln_metrics_exporter_outbox_entries')) === 0, 120_000, 'the outbox to drain');
    const want = expectedTotals(acked);
    for (const [name, series] of want) {
      const got = new Map<string, number>();
      for (const tenant of TENANTS) {
        const data = ((await (await fetch(`${kiln.url}/tsdb/series?match=${name}`, { headers: { 'x-scope-orgid': tenant } })).json()) as { data: { metric: Record<string, string>; values: [number, string][] }[] }).data;
        for (const s of data) {
          expect(s.metric.tenant).toBe(tenant);
          const key = `${s.metric.tenant}|${name.includes('parse') ? '' : s.metric.service_name}|${s.metric.region}`;
          got.set(key, (got.get(key) ?? 0) + s.values.reduce((n, [, v]) => n + Number(v), 0));
        }
      }
      expect(series.size).toBeGreaterThan(0);
      expect(Object.fromEntries(got), name).toEqual(Object.fromEntries(series));
    }
    expect(await metric('kiln_metrics_exporter_dropped_series_total')).toBe(0);
    expect(await metric('kiln_tsdb_discarded_samples_total')).toBe(0);
  }, 240_000);
});

// Ground truth for metrics from profiles, end to end into Debian's Prometheus 2.42 (no
// out-of-order window): random folded profiles with known contents are pushed for two tenants,
// compacted by two worker processes while the observer applies each tenant's rules, and
// exported by the metastore's exporter. Summed per series, what Prometheus holds must equal the
// totals computed directly from the pushes — exactly — and Prometheus must have rejected
// nothing, also when (b) workers are killed -9 at random moments, (c) Prometheus is down for a
// minute, and (d) the exporter's process is killed -9 mid-drain.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compactionFlags, indexedBlockKeys, waitFor } from '../helpers/compaction.js';
import { FoldedPushGenerator, prng, pushFolded, type FoldedPush } from '../helpers/folded-pushes.js';
import { startKiln, tempDir, type KilnProcess } from '../helpers/kiln-process.js';
import { freePort } from '../helpers/ports.js';
import { expectedTotals, groundTruthRules } from '../helpers/recorded-truth.js';
import { hasPrometheus, startPrometheus, type PrometheusProcess } from './prometheus.js';

const TENANTS = ['acme', 'globex'];
const haveProm = hasPrometheus();
if (!haveProm) console.log('skipping the metrics ground-truth tests: /usr/bin/prometheus is missing (apt-get install prometheus)');

interface Fleet {
  prom: PrometheusProcess;
  server: KilnProcess;
  workers: KilnProcess[];
  startServer(): Promise<KilnProcess>;
  startWorker(): Promise<KilnProcess>;
  /** Non-2xx answers to remote writes, summed over every Prometheus lifetime so far. */
  rejectedBefore: number;
}

let fleet: Fleet | undefined;

async function startFleet(extraServerFlags: string[] = []): Promise<Fleet> {
  const prom = await startPrometheus();
  const dir = tempDir('kiln-truth-');
  const rulesDir = path.join(dir, 'rules');
  mkdirSync(rulesDir);
  writeFileSync(path.join(rulesDir, 'truth.yaml'), groundTruthRules(TENANTS));
  const port = await freePort();
  const common = [`-recording-rules.dir=${rulesDir}`];
  const serverFlags = [
    '-target=distributor,segment-writer,metastore,tenant-settings',
    `-server.http-listen-port=${port}`,
    '-auth.multitenancy-enabled=true',
    '-distributor.num-shards=2',
    '-segment-writer.segment-duration=200ms',
    `-metrics-exporter.remote-write-url=${prom.writeUrl}`,
    '-metrics-exporter.max-backoff=1s',
    ...compactionFlags,
    ...common,
    ...extraServerFlags,
  ];
  const f: Fleet = {
    prom,
    server: undefined as unknown as KilnProcess,
    workers: [],
    startServer: () => startKiln(serverFlags, dir),
    startWorker: () => startKiln(['-target=compaction-worker', `-metastore.address=http://127.0.0.1:${port}`, '-compaction-worker.job-poll-interval=200ms', ...common], dir),
    rejectedBefore: 0,
  };
  f.server = await f.startServer();
  f.workers = [await f.startWorker(), await f.startWorker()];
  return f;
}

afterEach(async () => {
  if (!fleet) return;
  await Promise.all(fleet.workers.map((w) => w.kill()));
  await fleet.server.kill();
  await fleet.prom.stop();
  fleet = undefined;
});

async function push(f: Fleet, gen: FoldedPushGenerator, count: number, acked: FoldedPush[]): Promise<void> {
  let left = count;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (left-- > 0) {
        const p = gen.next();
        expect(await pushFolded(f.server.url, p)).toBe(200);
        acked.push(p);
      }
    }),
  );
}

/** A Kiln self-metric summed over its label sets (0 when it has none yet). */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * Remote writes Prometheus refused. A 503 is not counted: a restarted
 * Prometheus listens before its WAL replay is done and answers writes 503
 * until it is ready, and the exporter retries those (the totals show it).
 */
const rejectedWrites = (prom: PrometheusProcess) =>
  prom.selfMetric('prometheus_http_requests_total', (l) => l.includes('handler="/api/v1/write"') && !/code="(2\d\d|503)"/.test(l));

/** Waits until every segment is compacted and the outbox is empty. */
async function settled(f: Fleet): Promise<void> {
  await waitFor(async () => (await indexedBlockKeys(f.server.url, { level: 0 })).length === 0, 120_000, 'every segment to be compacted');
  await waitFor(async () => (await metric(f.server.url, 'kiln_metrics_exporter_outbox_entries')) === 0, 120_000, 'the outbox to drain');
}

/** What Prometheus holds, summed per series the way expectedTotals keys them. */
async function recorded(prom: PrometheusProcess): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  const cpu = await prom.query('sum by (tenant, service_name, region) (sum_over_time(profiles_recorded_cpu_nanoseconds[1h]))');
  out.set('profiles_recorded_cpu_nanoseconds', new Map(cpu.map((r) => [`${r.metric.tenant}|${r.metric.service_name}|${r.metric.region}`, Number(r.value[1])])));
  const parse = await prom.query('sum by (tenant, region) (sum_over_time(profiles_recorded_parse_nanoseconds[1h]))');
  out.set('profiles_recorded_parse_nanoseconds', new Map(parse.map((r) => [`${r.metric.tenant}||${r.metric.region}`, Number(r.value[1])])));
  return out;
}

async function expectExact(f: Fleet, acked: FoldedPush[]): Promise<void> {
  await settled(f);
  const want = expectedTotals(acked);
  const got = await recorded(f.prom);
  for (const [name, series] of want) {
    expect(series.size).toBeGreaterThan(0);
    expect(Object.fromEntries(got.get(name)!), name).toEqual(Object.fromEntries(series));
  }
  expect(f.rejectedBefore + (await rejectedWrites(f.prom))).toBe(0);
  expect(await f.prom.selfMetric('prometheus_tsdb_out_of_order_samples_total')).toBe(0);
  expect(await metric(f.server.url, 'kiln_metrics_exporter_dropped_series_total')).toBe(0);
}

describe.skipIf(!haveProm)('metrics from profiles, exactly, into Prometheus 2.42', () => {
  it('(a) records exactly the pushed totals', async () => {
    fleet = await startFleet();
    const acked: FoldedPush[] = [];
    await push(fleet, new FoldedPushGenerator(101, TENANTS, ['api', 'worker', 'db'], ['eu', 'us', 'ap']), 300, acked);
    await expectExact(fleet, acked);
  }, 240_000);

  it('(b) stays exact while workers are killed -9 at random moments', async () => {
    fleet = await startFleet();
    const f = fleet;
    const acked: FoldedPush[] = [];
    const rand = prng(202);
    let pushing = true;
    let kills = 0;
    const killer = (async () => {
      while (pushing) {
        await new Promise((r) => setTimeout(r, 500 + Math.floor(rand() * 1000)));
        const i = Math.floor(rand() * f.workers.length);
        await f.workers[i]!.kill();
        kills++;
        f.workers[i] = await f.startWorker();
      }
    })();
    await push(f, new FoldedPushGenerator(202, TENANTS, ['api', 'worker', 'db'], ['eu', 'us', 'ap']), 500, acked);
    pushing = false;
    await killer;
    expect(kills).toBeGreaterThan(0);
    await expectExact(f, acked);
  }, 300_000);

  it('(c) stays exact when Prometheus is down for a minute and comes back', async () => {
    fleet = await startFleet();
    const f = fleet;
    const acked: FoldedPush[] = [];
    const gen = new FoldedPushGenerator(303, TENANTS, ['api', 'worker', 'db'], ['eu', 'us', 'ap']);
    await push(f, gen, 150, acked);
    f.rejectedBefore += await rejectedWrites(f.prom);
    await f.prom.down();
    const downAt = Date.now();
    await push(f, gen, 150, acked);
    await waitFor(async () => (await indexedBlockKeys(f.server.url, { level: 0 })).length === 0, 120_000, 'compaction while the target is down');
    // The results wait in the outbox meanwhile.
    expect(await metric(f.server.url, 'kiln_metrics_exporter_outbox_entries')).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, Math.max(0, 60_000 - (Date.now() - downAt))));
    await f.prom.restart();
    await expectExact(f, acked);
  }, 300_000);

  it('(d) stays exact when the exporter process is killed -9 mid-drain', async () => {
    // One series per request: the drain takes hundreds of requests, so the kill lands inside it,
    // and parts acknowledged before the kill are sent again afterwards (same labels, timestamp, value).
    fleet = await startFleet(['-metrics-exporter.max-series-per-request=1']);
    const f = fleet;
    const acked: FoldedPush[] = [];
    f.rejectedBefore += await rejectedWrites(f.prom);
    await f.prom.down();
    await push(f, new FoldedPushGenerator(404, TENANTS, ['api', 'worker', 'db'], ['eu', 'us', 'ap']), 300, acked);
    await waitFor(async () => (await indexedBlockKeys(f.server.url, { level: 0 })).length === 0, 120_000, 'compaction while the target is down');
    const backlog = await metric(f.server.url, 'kiln_metrics_exporter_outbox_entries');
    expect(backlog).toBeGreaterThan(1);
    await f.prom.restart();
    // Kill the exporter's process as soon as the drain has started but before it has finished.
    await waitFor(async () => (await metric(f.server.url, 'kiln_metrics_exporter_samples_sent_total')) > 0, 60_000, 'the drain to start');
    // Entries still waiting right before the kill: it lands mid-drain.
    expect(await metric(f.server.url, 'kiln_metrics_exporter_outbox_entries')).toBeGreaterThan(0);
    await f.server.kill();
    f.server = await f.startServer();
    await expectExact(f, acked);
  }, 300_000);
});

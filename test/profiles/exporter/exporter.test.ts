// The drain loop against a real Metastore (manual clock) and a loopback receiver: job order per
// (tenant, shard) when jobs commit out of order, what holds a line and what releases it,
// retries, drops, split requests, independent lines.
import { create } from '@bufbuild/protobuf';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { CompactionJobStatus, CompactionJobStatusUpdateSchema } from '../../../src/gen/metastore/v1/compactor_pb.js';
import { MetricsExporter, type ExporterOptions } from '../../../src/profiles/exporter/exporter.js';
import { ExporterMetrics } from '../../../src/profiles/exporter/metrics.js';
import { Outbox } from '../../../src/profiles/exporter/outbox.js';
import { RemoteWriteClient } from '../../../src/profiles/exporter/remote-write-client.js';
import { Metastore } from '../../../src/profiles/metastore/metastore.js';
import type { JobState } from '../../../src/profiles/metastore/store.js';
import { ManualClock, makeMeta, recordingLogger, tempDir, ulidAt } from '../metastore/helpers.js';
import { observerResult, simpleResult, type TenantSeries } from './helpers.js';
import { startReceiver, type Receiver } from './receiver.js';

const SECOND = 1000;
const HOUR = 3600 * SECOND;

interface Env {
  clock: ManualClock;
  ms: Metastore;
  outbox: Outbox;
  receiver: Receiver;
  registry: Registry;
  exporter: (o?: Partial<ExporterOptions>) => MetricsExporter;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(maxBlocks = 2): Promise<Env> {
  const dir = await tempDir('kiln-exporter-');
  const clock = new ManualClock();
  const outbox = await Outbox.open(dir, { logger: recordingLogger() });
  const ms = await Metastore.open(dir, {
    logger: recordingLogger(),
    clock: clock.read,
    compaction: { levels: [{ maxBlocks, maxAgeMs: HOUR }, { maxBlocks: 10, maxAgeMs: HOUR }, { maxBlocks: 10, maxAgeMs: HOUR }], leaseMs: 15 * SECOND, maxFailures: 1 },
    onJobCommitted: (e) => outbox.onJobCommitted(e),
    onLogRewritten: () => outbox.onMetastoreLogRewritten(),
  });
  outbox.markReplayDone();
  const receiver = await startReceiver();
  const registry = new Registry();
  cleanups.push(async () => {
    await receiver.close();
    await ms.close();
    await outbox.close();
    const { rm } = await import('node:fs/promises');
    await rm(dir, { recursive: true, force: true });
  });
  const exporter = (o: Partial<ExporterOptions> = {}) =>
    new MetricsExporter({
      outbox,
      order: ms,
      client: new RemoteWriteClient({ timeoutMs: 5000 }),
      urlFor: () => receiver.url,
      maxSeriesPerRequest: 1000,
      maxRequestBytes: 1 << 20,
      minBackoffMs: 1000,
      maxBackoffMs: 60_000,
      logger: recordingLogger(),
      metrics: new ExporterMetrics(registry, () => outbox, clock.read),
      clock: clock.read,
      random: () => 0.5,
      ...o,
    });
  return { clock, ms, outbox, receiver, registry, exporter };
}

/** Registers one segment per ms offset (ULID time t0 + offset s) in `shard`. */
async function segments(env: Env, shard: number, offsets: number[]): Promise<string[]> {
  const ids: string[] = [];
  for (const s of offsets) {
    const id = ulidAt(env.clock.now + s * SECOND);
    await env.ms.addBlock(makeMeta({ id, shard }));
    ids.push(id);
  }
  return ids;
}

async function plan(env: Env, capacity = 10): Promise<JobState[]> {
  const { newJobs } = await env.ms.pollCompactionJobs([], capacity);
  return newJobs.sort((a, b) => (a.sources[0]! < b.sources[0]! ? -1 : 1));
}

async function commit(env: Env, job: JobState, result: Uint8Array): Promise<void> {
  const update = create(CompactionJobStatusUpdateSchema, {
    name: job.name,
    token: BigInt(job.token),
    status: CompactionJobStatus.COMPACTION_STATUS_SUCCESS,
    compactedBlocks: {
      sourceBlocks: { shard: job.shard, tenant: job.tenant, blocks: [...job.sources] },
      newBlocks: [makeMeta({ shard: job.shard, level: 1, tenant: 'acme', datasets: [['acme', 'api']] })],
    },
    observerResult: result,
  });
  await env.ms.pollCompactionJobs([update], 0);
  // The poll resolves once the commit is durable; the outbox append follows in the hook.
  await env.outbox.settled();
}

const sentValues = (r: Receiver): Array<[string, number, number]> =>
  r.requests.flatMap((req) => req.series.map((s) => [String(req.headers['x-scope-orgid']), s.samples[0]!.timestampMs, s.samples[0]!.value] as [string, number, number]));

describe('Metastore.hasPendingLevel0Before', () => {
  it('sees planned and running jobs with an earlier first source and earlier queued segments; not parked jobs', async () => {
    const env = await setup();
    const [s0, s1, s2, s3] = await segments(env, 1, [1, 2, 3, 4]);
    expect(env.ms.hasPendingLevel0Before(1, s1!)).toBe(true); // s0 queued
    expect(env.ms.hasPendingLevel0Before(1, s0!)).toBe(false);
    expect(env.ms.hasPendingLevel0Before(2, s3!)).toBe(false); // another shard
    const [j1, j2] = await plan(env, 1);
    expect(j1!.sources).toEqual([s0, s1]);
    expect(j2).toBeUndefined();
    expect(env.ms.hasPendingLevel0Before(1, s2!)).toBe(true); // j1 running
    expect(env.ms.hasPendingLevel0Before(1, s0!)).toBe(false);
    // j1's lease expires once: with max failures 1 it is parked and releases the order.
    env.clock.advance(16 * SECOND);
    await plan(env, 0);
    expect(env.ms.listJobs().find((j) => j.name === j1!.name)?.parked).toBe(true);
    expect(env.ms.hasPendingLevel0Before(1, s2!)).toBe(false);
    expect(env.ms.hasPendingLevel0Before(1, s3!)).toBe(true); // s2 still queued
  });
});

describe('MetricsExporter', () => {
  it('exports two jobs of one shard in job order although they committed out of order', async () => {
    const env = await setup();
    const t = env.clock.now;
    await segments(env, 1, [1, 2, 3, 4]);
    const [j1, j2] = await plan(env);
    const exporter = env.exporter();

    await commit(env, j2!, simpleResult(t + 3000, 1, 'j2', ['acme'], 2));
    expect(await exporter.drainOnce()).toBe(0); // j1 is still running: j2 waits
    expect(env.receiver.requests).toEqual([]);

    await commit(env, j1!, simpleResult(t + 1000, 1, 'j1', ['acme'], 1));
    await exporter.drainOnce();
    await exporter.drainOnce();
    expect(sentValues(env.receiver)).toEqual([
      ['acme', t + 1000, 1],
      ['acme', t + 3000, 2],
    ]);
    expect(env.outbox.pending()).toEqual([]);
    const text = await env.registry.metrics();
    expect(text).toMatch(/kiln_metrics_exporter_series_sent_total 2/);
    expect(text).toMatch(/kiln_metrics_exporter_export_lag_seconds_count 2/);
  });

  it('waits for an earlier segment that registered late and is still queued', async () => {
    const env = await setup();
    const t = env.clock.now;
    const [late] = [ulidAt(t + 500)];
    await segments(env, 1, [1, 2]);
    const [j1] = await plan(env);
    await env.ms.addBlock(makeMeta({ id: late, shard: 1 })); // older id, registered after j1 was cut
    await commit(env, j1!, simpleResult(t + 1000, 1, 'j1', ['acme']));
    const exporter = env.exporter();
    expect(await exporter.drainOnce()).toBe(0);
    // Its job is planned (max age), committed with its own samples: both go, in order.
    env.clock.advance(HOUR + 1);
    const [j0] = await plan(env);
    expect(j0!.sources).toEqual([late]);
    expect(await exporter.drainOnce()).toBe(0); // j0 running
    await commit(env, j0!, simpleResult(t + 500, 1, 'j0', ['acme'], 7));
    await exporter.drainOnce();
    await exporter.drainOnce();
    expect(sentValues(env.receiver).map(([, ts]) => ts)).toEqual([t + 500, t + 1000]);
  });

  it('lets a parked job release the order (its data was never committed)', async () => {
    const env = await setup();
    const t = env.clock.now;
    await segments(env, 1, [1, 2, 3, 4]);
    const [j1, j2] = await plan(env);
    await commit(env, j2!, simpleResult(t + 3000, 1, 'j2', ['acme']));
    const exporter = env.exporter();
    expect(await exporter.drainOnce()).toBe(0);
    env.clock.advance(16 * SECOND);
    await plan(env, 0); // j1's lease expired: parked (max failures 1)
    expect(env.ms.listJobs().find((j) => j.name === j1!.name)?.parked).toBe(true);
    await exporter.drainOnce();
    expect(sentValues(env.receiver).map(([, ts]) => ts)).toEqual([t + 3000]);
  });

  it('retries the head of a line with backoff and sends nothing behind it meanwhile', async () => {
    const env = await setup();
    const t = env.clock.now;
    await segments(env, 1, [1, 2, 3, 4]);
    const [j1, j2] = await plan(env);
    await commit(env, j1!, simpleResult(t + 1000, 1, 'j1', ['acme'], 1));
    await commit(env, j2!, simpleResult(t + 3000, 1, 'j2', ['acme'], 2));
    const answers = [{ status: 503 }, { status: 429, headers: { 'Retry-After': '20' } }];
    env.receiver.respond = (_r, n) => answers[n - 1] ?? { status: 204 };
    const exporter = env.exporter();
    await exporter.drainOnce(); // 503 → backoff 1000 * [0.5, 1) = 750 ms with random 0.5
    expect(await exporter.drainOnce()).toBe(0);
    env.clock.advance(749);
    expect(await exporter.drainOnce()).toBe(0);
    env.clock.advance(1);
    await exporter.drainOnce(); // 429, Retry-After 20 s
    env.clock.advance(19_999);
    expect(await exporter.drainOnce()).toBe(0);
    env.clock.advance(1);
    await exporter.drainOnce();
    await exporter.drainOnce();
    expect(env.receiver.requests.map((r) => r.series[0]!.samples[0]!.timestampMs)).toEqual([t + 1000, t + 1000, t + 1000, t + 3000]);
    expect(await env.registry.metrics()).toMatch(/kiln_metrics_exporter_failed_attempts_total\{reason="5xx"\} 1/);
  });

  it('drops a request the target rejects with 4xx and goes on with the next job', async () => {
    const env = await setup();
    const t = env.clock.now;
    await segments(env, 1, [1, 2, 3, 4]);
    const [j1, j2] = await plan(env);
    await commit(env, j1!, simpleResult(t + 1000, 1, 'j1', ['acme'], 1));
    await commit(env, j2!, simpleResult(t + 3000, 1, 'j2', ['acme'], 2));
    env.receiver.respond = (_r, n) => (n === 1 ? { status: 400, body: 'out of order sample' } : { status: 204 });
    const logger = recordingLogger();
    const exporter = env.exporter({ logger });
    await exporter.drainOnce();
    await exporter.drainOnce();
    expect(env.receiver.requests).toHaveLength(2);
    expect(env.outbox.pending()).toEqual([]);
    expect(await env.registry.metrics()).toMatch(/kiln_metrics_exporter_dropped_series_total\{reason="http_400"\} 1/);
    expect(logger.warnings.find((w) => /rejected/.test(w.msg))?.obj).toMatchObject({ status: 400, body: 'out of order sample' });
  });

  it('splits a big tenant result and, after a failure, resends only the parts not acknowledged', async () => {
    const env = await setup();
    const t = env.clock.now;
    await segments(env, 1, [1, 2]);
    const [j1] = await plan(env);
    const series: TenantSeries = { acme: Array.from({ length: 5 }, (_, i) => [[['__name__', 'profiles_recorded_x'], ['i', String(i)]], i + 1] as [Array<[string, string]>, number]) };
    await commit(env, j1!, observerResult(t + 1000, 1, series));
    env.receiver.respond = (_r, n) => (n === 2 ? { status: 500 } : { status: 204 });
    const exporter = env.exporter({ maxSeriesPerRequest: 2 });
    await exporter.drainOnce();
    env.clock.advance(HOUR);
    await exporter.drainOnce();
    const parts = env.receiver.requests.map((r) => r.series.map((s) => s.labels.find((l) => l.name === 'i')!.value));
    expect(parts).toEqual([['0', '1'], ['2', '3'], ['2', '3'], ['4']]);
    expect(env.outbox.pending()).toEqual([]);
  });

  it('keeps (tenant, shard) lines independent: a failing tenant does not hold up another', async () => {
    const env = await setup();
    const t = env.clock.now;
    await segments(env, 1, [1, 2]);
    const [j1] = await plan(env);
    await commit(env, j1!, simpleResult(t + 1000, 1, 'j1', ['acme', 'globex']));
    env.receiver.respond = (r) => (r.headers['x-scope-orgid'] === 'globex' ? { status: 503 } : { status: 204 });
    await env.exporter().drainOnce();
    expect(env.outbox.pending()[0]!.tenants.size).toBe(1);
    expect([...env.outbox.pending()[0]!.tenants.keys()]).toEqual(['globex']);
  });

  it('keeps entries in the outbox while there is no target URL, and warns once', async () => {
    const env = await setup();
    await segments(env, 1, [1, 2]);
    const [j1] = await plan(env);
    await commit(env, j1!, simpleResult(env.clock.now, 1, 'j1', ['acme', 'globex']));
    const logger = recordingLogger();
    const exporter = env.exporter({ urlFor: () => undefined, logger });
    expect(await exporter.drainOnce()).toBe(0);
    expect(await exporter.drainOnce()).toBe(0);
    expect(env.outbox.pendingTenants).toBe(2);
    expect(logger.warnings.filter((w) => /no remote-write URL/.test(w.msg))).toHaveLength(1);
    expect(await env.registry.metrics()).toMatch(/kiln_metrics_exporter_outbox_entries 2/);
  });

  it('drains by itself once started, and stops', async () => {
    const env = await setup();
    await segments(env, 1, [1, 2]);
    const [j1] = await plan(env);
    const exporter = env.exporter({ clock: Date.now, pollIntervalMs: 20 });
    exporter.start();
    await commit(env, j1!, simpleResult(env.clock.now, 1, 'j1', ['acme']));
    exporter.wake();
    for (let i = 0; i < 100 && env.outbox.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    await exporter.stop();
    expect(env.receiver.requests).toHaveLength(1);
  });
});

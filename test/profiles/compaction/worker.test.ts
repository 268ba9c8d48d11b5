// The worker's poll protocol against a real metastore (Connect on a loopback port, a clock the
// test moves). The job runners are stand-ins that finish, fail or block on command: a merge that
// outlives its lease cannot be provoked on time otherwise.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CompactionService, type CompactionJob } from '../../../src/gen/metastore/v1/compactor_pb.js';
import { CompactionWorker, type JobResult, type JobRunner } from '../../../src/profiles/compaction/worker.js';
import { compactionServiceImpl } from '../../../src/profiles/metastore/compaction-service.js';
import { Metastore } from '../../../src/profiles/metastore/metastore.js';
import { createConnectHandler } from '../../../src/server/connect-adapter.js';
import { ManualClock, makeMeta, recordingLogger, tempDir, ulidAt } from '../metastore/helpers.js';

const LEASE_MS = 15_000;
let dir: string;
let ms: Metastore;
let server: Server;
let clock: ManualClock;
let segments: ReturnType<typeof makeMeta>[];
let committed: Array<{ observerResult: Uint8Array }>;

beforeEach(async () => {
  dir = await tempDir('kiln-worker-');
  clock = new ManualClock();
  committed = [];
  ms = await Metastore.open(dir, { logger: recordingLogger(), clock: clock.read, compaction: { leaseMs: LEASE_MS }, onJobCommitted: (e) => void committed.push(e) });
  const handler = createConnectHandler({
    readMaxBytes: 4 * 1024 * 1024,
    routes: (router) => router.service(CompactionService, compactionServiceImpl(ms)),
    fallback: (_req, res) => res.writeHead(404).end(),
    onError: () => {},
  });
  server = createServer(handler as Parameters<typeof createServer>[1]);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // 20 segments of shard 1: one level-0 job.
  segments = Array.from({ length: 20 }, (_, i) => makeMeta({ id: ulidAt(clock.now + i), shard: 1, datasets: [['acme', 'api']] }));
  for (const s of segments) await ms.addBlock(s);
});

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await ms.close();
  await rm(dir, { recursive: true, force: true });
});

function client() {
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return createClient(CompactionService, createConnectTransport({ baseUrl, httpVersion: '1.1' }));
}

/** A runner whose jobs end when the test says so. */
function controlledRunner() {
  const running = new Map<string, { job: CompactionJob; signal: AbortSignal; finish: (r: JobResult) => void; fail: (e: Error) => void }>();
  const runner: JobRunner = (job, signal) =>
    new Promise<JobResult>((finish, fail) => {
      running.set(job.name, { job, signal, finish, fail });
      signal.addEventListener('abort', () => fail(signal.reason as Error));
    });
  return { runner, running };
}

function worker(runner: JobRunner, registry = new Registry()) {
  return new CompactionWorker({ jobConcurrency: 1, jobPollInterval: 60_000, requestTimeout: 5_000 }, client(), runner, pino({ level: 'silent' }), registry);
}

function resultOf(job: CompactionJob): JobResult {
  return { sourceBlocks: job.sourceBlocks, newBlocks: [makeMeta({ shard: 1, level: 1, tenant: 'acme', datasets: [['acme', 'api']] })], observerResult: new Uint8Array([7]) };
}

const metric = async (registry: Registry, name: string) => (await registry.getSingleMetric(name)!.get()).values;

describe('CompactionWorker', () => {
  it('takes a job, renews its lease while it runs, and reports SUCCESS with the blocks and observer result', async () => {
    const { runner, running } = controlledRunner();
    const w = worker(runner);
    await w.pollOnce();
    expect(running.size).toBe(1);
    const [name, run] = [...running][0]!;
    expect(run.job.sourceBlocks).toEqual(segments.map((s) => s.id));

    // Time passes; each poll renews the lease, so the job is never handed to anyone else.
    for (let i = 0; i < 3; i++) {
      clock.advance(LEASE_MS - 1000);
      await w.pollOnce();
      expect((await client().pollCompactionJobs({ jobCapacity: 1 })).compactionJobs).toEqual([]);
    }
    const lease = ms.listJobs().find((j) => j.name === name)!;
    expect(lease.leaseExpiresAt).toBe(clock.now + LEASE_MS);

    const result = resultOf(run.job);
    run.finish(result);
    await new Promise((r) => setTimeout(r, 10));
    await w.pollOnce();
    expect(w.size).toBe(0);
    expect(ms.listJobs()).toEqual([]);
    expect(ms.get(result.newBlocks[0]!.id)).toBeDefined();
    for (const s of segments) expect(ms.get(s.id)).toBeUndefined();
    expect(committed).toHaveLength(1);
    expect([...committed[0]!.observerResult]).toEqual([7]);
  });

  it('cancels a job whose lease was given to another worker, and reports nothing for it', async () => {
    const registry = new Registry();
    const a = controlledRunner();
    const wa = worker(a.runner, registry);
    await wa.pollOnce();
    const [name, run] = [...a.running][0]!;

    // A stops polling (e.g. stuck); its lease expires and B gets the job.
    clock.advance(LEASE_MS + 1);
    const b = controlledRunner();
    const wb = worker(b.runner);
    await wb.pollOnce();
    expect([...b.running.keys()]).toEqual([name]);
    expect(ms.listJobs().find((j) => j.name === name)!.failures).toBe(1);

    // A's next poll learns the lease is gone: the job is aborted and dropped.
    await wa.pollOnce();
    expect(run.signal.aborted).toBe(true);
    expect(wa.size).toBe(0);
    expect(await metric(registry, 'kiln_compaction_worker_jobs_completed_total')).toEqual([expect.objectContaining({ value: 1, labels: { level: 0, status: 'lease_lost' } })]);

    // B finishes and commits; A's late result (if any) can no longer be reported.
    b.running.get(name)!.finish(resultOf(b.running.get(name)!.job));
    await new Promise((r) => setTimeout(r, 10));
    await wb.pollOnce();
    expect(ms.listJobs()).toEqual([]);
  });

  it('abandons a failed job without a report, so it is re-leased after expiry', async () => {
    const a = controlledRunner();
    const wa = worker(a.runner);
    await wa.pollOnce();
    const [name, run] = [...a.running][0]!;
    run.fail(new Error('disk full'));
    await new Promise((r) => setTimeout(r, 10));
    await wa.pollOnce();
    // Not renewed: still leased until expiry, then another worker gets it.
    expect(ms.listJobs().find((j) => j.name === name)!.assigned).toBe(true);
    clock.advance(LEASE_MS + 1);
    const b = controlledRunner();
    await worker(b.runner).pollOnce();
    expect([...b.running.keys()]).toEqual([name]);
  });

  it('on stop takes no new jobs and reports the running one once it finishes', async () => {
    const a = controlledRunner();
    const wa = worker(a.runner);
    await wa.pollOnce();
    const [, run] = [...a.running][0]!;
    // More work is waiting, but a stopping worker asks for none.
    for (let i = 0; i < 20; i++) await ms.addBlock(makeMeta({ id: ulidAt(clock.now + 100 + i), shard: 2, datasets: [['acme', 'api']] }));
    const stopped = wa.stop(10_000);
    setTimeout(() => run.finish(resultOf(run.job)), 20);
    await stopped;
    expect(a.running.size).toBe(1);
    expect(ms.listJobs().map((j) => j.shard)).toEqual([]);
    expect(ms.query({ level: 1 })).toHaveLength(1);
  });
});

// Planner, scheduler, SUCCESS commit, tombstones, retention, deletion, restart and rewrite of
// the metastore, driven through its public API with a manual clock.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { create } from '@bufbuild/protobuf';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CompactionJobStatus,
  CompactionJobStatusUpdateSchema,
  type CompactionJobStatusUpdate,
} from '../../../src/gen/metastore/v1/compactor_pb.js';
import type { BlockMeta } from '../../../src/gen/metastore/v1/types_pb.js';
import { FilesystemBucket } from '../../../src/objstore/filesystem.js';
import { objectPath } from '../../../src/profiles/block/paths.js';
import { cleanTombstones } from '../../../src/profiles/metastore/cleaner.js';
import { FileMetastoreStore } from '../../../src/profiles/metastore/file-store.js';
import {
  InvalidRequestError,
  Metastore,
  type JobCommittedEvent,
  type MetastoreOptions,
} from '../../../src/profiles/metastore/metastore.js';
import type { JobState } from '../../../src/profiles/metastore/store.js';
import { ManualClock, makeMeta, recordingLogger, tempDir, ulidAt } from './helpers.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const { COMPACTION_STATUS_IN_PROGRESS: IN_PROGRESS, COMPACTION_STATUS_SUCCESS: SUCCESS } = CompactionJobStatus;

const dirs: string[] = [];
const opened: Metastore[] = [];
afterEach(async () => {
  for (const m of opened.splice(0)) await m.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function newDir(): Promise<string> {
  const d = await tempDir();
  dirs.push(d);
  return d;
}

interface Env {
  dir: string;
  clock: ManualClock;
  ms: Metastore;
  logger: ReturnType<typeof recordingLogger>;
  options: MetastoreOptions;
}

async function setup(options: Partial<MetastoreOptions> = {}, dir?: string, clock = new ManualClock()): Promise<Env> {
  const d = dir ?? (await newDir());
  const logger = recordingLogger();
  const opts: MetastoreOptions = { logger, clock: clock.read, ...options };
  const ms = await Metastore.open(d, opts);
  opened.push(ms);
  return { dir: d, clock, ms, logger, options: opts };
}

async function reopen(env: Env): Promise<Metastore> {
  await env.ms.close();
  opened.splice(opened.indexOf(env.ms), 1);
  const ms = await Metastore.open(env.dir, env.options);
  opened.push(ms);
  env.ms = ms;
  return ms;
}

/** Registers `n` segments of `shard`, one second apart (ULID time), starting at `t0`. */
async function addSegments(ms: Metastore, n: number, t0: number, shard = 1, tenants: Array<[string, string]> = [['acme', 'api']]): Promise<BlockMeta[]> {
  const out: BlockMeta[] = [];
  for (let i = 0; i < n; i++) {
    const meta = makeMeta({ id: ulidAt(t0 + i * SECOND), shard, datasets: tenants, minTime: t0, maxTime: t0 + 1000 });
    await ms.addBlock(meta);
    out.push(meta);
  }
  return out;
}

function inProgress(job: { name: string; token: number }): CompactionJobStatusUpdate {
  return create(CompactionJobStatusUpdateSchema, { name: job.name, token: BigInt(job.token), status: IN_PROGRESS });
}

/** A SUCCESS for `job` producing one block per tenant in `tenants`. */
function success(job: JobState, tenants = ['acme'], observer = new Uint8Array([1, 2, 3])): { update: CompactionJobStatusUpdate; outputs: BlockMeta[] } {
  const outputs = tenants.map((t) => makeMeta({ shard: job.shard, level: job.level + 1, tenant: t, datasets: [[t, 'api']] }));
  const update = create(CompactionJobStatusUpdateSchema, {
    name: job.name,
    token: BigInt(job.token),
    status: SUCCESS,
    compactedBlocks: { sourceBlocks: { shard: job.shard, tenant: job.tenant, blocks: [...job.sources] }, newBlocks: outputs },
    observerResult: observer,
  });
  return { update, outputs };
}

describe('planner', () => {
  it('plans an L0 job when a shard reaches 20 segments, not before', async () => {
    const { ms, clock } = await setup();
    await addSegments(ms, 19, clock.now);
    expect((await ms.pollCompactionJobs([], 10)).newJobs).toEqual([]);
    const [twentieth] = await addSegments(ms, 1, clock.now + 100 * SECOND);
    const { newJobs } = await ms.pollCompactionJobs([], 10);
    expect(newJobs).toHaveLength(1);
    const job = newJobs[0]!;
    expect(job.sources).toHaveLength(20);
    expect(job.sources[19]).toBe(twentieth!.id);
    expect(job).toMatchObject({ level: 0, shard: 1, tenant: '', assigned: true, failures: 0 });
    expect(job.name).toMatch(/^[0-9a-f]{16}-T-S1-L0$/);
    expect(ms.dump().queues).toEqual([]);
  });

  it('plans an incomplete job once its oldest block is older than the max age', async () => {
    const { ms, clock } = await setup();
    await addSegments(ms, 3, clock.now);
    clock.advance(36 * SECOND);
    expect((await ms.pollCompactionJobs([], 10)).newJobs).toEqual([]); // not older yet
    clock.advance(1);
    const { newJobs } = await ms.pollCompactionJobs([], 10);
    expect(newJobs.map((j) => j.sources.length)).toEqual([3]);
  });

  it('keeps queues per shard and plans jobs of a queue in block order', async () => {
    const { ms, clock } = await setup({ compaction: { levels: [{ maxBlocks: 2, maxAgeMs: HOUR }, { maxBlocks: 10, maxAgeMs: HOUR }, { maxBlocks: 10, maxAgeMs: HOUR }] } });
    const t = clock.now;
    // Registered out of order: the queue still orders by id.
    const ids = [ulidAt(t + 1000), ulidAt(t + 2000), ulidAt(t + 3000), ulidAt(t + 4000)];
    for (const id of [ids[2]!, ids[0]!, ids[3]!, ids[1]!]) await ms.addBlock(makeMeta({ id, shard: 1 }));
    await ms.addBlock(makeMeta({ id: ulidAt(t + 5000), shard: 2 }));
    const { newJobs } = await ms.pollCompactionJobs([], 10);
    // (Assignment order is by name; what matters is which blocks went together.)
    expect(newJobs.map((j) => j.sources).sort((a, b) => (a[0]! < b[0]! ? -1 : 1))).toEqual([
      [ids[0], ids[1]],
      [ids[2], ids[3]],
    ]);
    expect(ms.dump().queues.map((q) => q.key)).toEqual(['0/2/']);
  });

  it('never puts blocks more than 3 h apart into one job', async () => {
    const { ms, clock } = await setup();
    const t = clock.now - 5 * HOUR;
    const early = await addSegments(ms, 2, t);
    const late = await addSegments(ms, 2, t + 3 * HOUR + 2 * SECOND);
    const { newJobs } = await ms.pollCompactionJobs([], 10);
    // The split emits the early job at once; the late one waits for count or age.
    expect(newJobs.map((j) => j.sources)).toEqual([early.map((b) => b.id)]);
    clock.advance(10 * SECOND);
    await ms.pollCompactionJobs([inProgress(newJobs[0]!)], 0);
    clock.advance(27 * SECOND);
    const second = await ms.pollCompactionJobs([inProgress(newJobs[0]!)], 10);
    expect(second.newJobs.map((j) => j.sources)).toEqual([late.map((b) => b.id)]);
  });

  it('queues L1 blocks per tenant and never compacts level 3', async () => {
    const { ms } = await setup({ compaction: { levels: [{ maxBlocks: 1, maxAgeMs: HOUR }, { maxBlocks: 1, maxAgeMs: HOUR }, { maxBlocks: 1, maxAgeMs: HOUR }] } });
    await ms.addBlock(makeMeta({ level: 1, tenant: 'acme', shard: 3, datasets: [['acme', 'api']] }));
    await ms.addBlock(makeMeta({ level: 3, tenant: 'acme', shard: 3, datasets: [['acme', 'api']] }));
    const { newJobs } = await ms.pollCompactionJobs([], 10);
    expect(newJobs.map((j) => j.name.replace(/^[0-9a-f]+/, ''))).toEqual(['-Tacme-S3-L1']);
    expect(ms.dump().queues).toEqual([]);
  });

  it('names jobs deterministically from their sources', async () => {
    const a = await setup();
    const b = await setup({}, undefined, new ManualClock(a.clock.now));
    const metas = Array.from({ length: 20 }, (_, i) => makeMeta({ id: ulidAt(a.clock.now + i) }));
    for (const m of metas) {
      await a.ms.addBlock(m);
      await b.ms.addBlock(m);
    }
    const [ja] = (await a.ms.pollCompactionJobs([], 1)).newJobs;
    const [jb] = (await b.ms.pollCompactionJobs([], 1)).newJobs;
    expect(ja!.name).toBe(jb!.name);
  });
});

describe('scheduler', () => {
  async function oneJob(options: Partial<MetastoreOptions> = {}): Promise<Env & { job: JobState }> {
    const env = await setup(options);
    await addSegments(env.ms, 20, env.clock.now);
    const { newJobs } = await env.ms.pollCompactionJobs([], 1);
    expect(newJobs).toHaveLength(1);
    return { ...env, job: newJobs[0]! };
  }

  it('renews a lease on IN_PROGRESS and reassigns an expired one with failures++', async () => {
    const { ms, clock, job } = await oneJob();
    expect(job.leaseExpiresAt).toBe(clock.now + 15 * SECOND);
    clock.advance(10 * SECOND);
    const renewed = await ms.pollCompactionJobs([inProgress(job)], 0);
    expect(renewed.assignments).toEqual([expect.objectContaining({ name: job.name, token: job.token, leaseExpiresAt: clock.now + 15 * SECOND })]);
    clock.advance(15 * SECOND - 1);
    expect((await ms.pollCompactionJobs([], 1)).newJobs).toEqual([]); // still leased
    clock.advance(1);
    const re = await ms.pollCompactionJobs([], 1);
    expect(re.newJobs).toHaveLength(1);
    expect(re.newJobs[0]).toMatchObject({ name: job.name, failures: 1 });
    expect(re.newJobs[0]!.token).toBeGreaterThan(job.token);
  });

  it('refuses a stale token: the old holder is told to stop and cannot commit', async () => {
    const { ms, clock, job } = await oneJob();
    clock.advance(15 * SECOND);
    const [again] = (await ms.pollCompactionJobs([], 1)).newJobs;
    const stale = await ms.pollCompactionJobs([inProgress(job)], 0);
    expect(stale.assignments).toEqual([]);
    const before = ms.dump();
    const { update } = success(job);
    const res = await ms.pollCompactionJobs([update], 0);
    expect(res.assignments).toEqual([]);
    expect(ms.dump()).toEqual(before);
    // The new holder's token works.
    expect((await ms.pollCompactionJobs([inProgress(again!)], 0)).assignments.map((a) => a.name)).toEqual([job.name]);
  });

  it('parks a job after 3 expired leases, logs it once and never assigns it again', async () => {
    const registry = new Registry();
    const { ms, clock, job, logger } = await oneJob({ registry });
    for (let i = 1; i <= 2; i++) {
      clock.advance(15 * SECOND);
      const [j] = (await ms.pollCompactionJobs([], 1)).newJobs;
      expect(j).toMatchObject({ name: job.name, failures: i });
    }
    clock.advance(15 * SECOND);
    expect((await ms.pollCompactionJobs([], 1)).newJobs).toEqual([]);
    clock.advance(HOUR);
    expect((await ms.pollCompactionJobs([], 1)).newJobs).toEqual([]);
    expect(ms.listJobs()).toEqual([expect.objectContaining({ name: job.name, parked: true, failures: 3, assigned: false })]);
    expect(logger.warnings.filter((w) => w.msg.includes('parked'))).toHaveLength(1);
    expect(await registry.getSingleMetricAsString('kiln_metastore_compaction_jobs_parked')).toMatch(/kiln_metastore_compaction_jobs_parked 1/);
  });

  it('orders assignments: lower level, then unassigned before expired, then name', async () => {
    const { ms, clock } = await setup({ compaction: { levels: [{ maxBlocks: 1, maxAgeMs: HOUR }, { maxBlocks: 1, maxAgeMs: HOUR }, { maxBlocks: 1, maxAgeMs: HOUR }] } });
    await ms.addBlock(makeMeta({ level: 1, tenant: 'acme', datasets: [['acme', 'api']] }));
    const [l1] = (await ms.pollCompactionJobs([], 1)).newJobs;
    expect(l1!.level).toBe(1);
    clock.advance(15 * SECOND); // l1's lease expires
    await addSegments(ms, 2, clock.now, 5);
    const { newJobs } = await ms.pollCompactionJobs([], 3);
    expect(newJobs.map((j) => [j.level, j.failures])).toEqual([
      [0, 0],
      [0, 0],
      [1, 1],
    ]);
    expect(newJobs[0]!.name < newJobs[1]!.name).toBe(true);
  });

  it('stops planning when the job queue is full, evicting parked jobs first', async () => {
    const levels = [{ maxBlocks: 1, maxAgeMs: HOUR }, { maxBlocks: 1, maxAgeMs: HOUR }, { maxBlocks: 1, maxAgeMs: HOUR }];
    const { ms, clock, logger } = await setup({ compaction: { levels, maxJobQueueSize: 2, maxFailures: 1 } });
    await addSegments(ms, 3, clock.now);
    const first = await ms.pollCompactionJobs([], 10);
    expect(first.newJobs).toHaveLength(2); // the third block waits: the queue holds 2 jobs
    expect(ms.dump().queues[0]!.blocks).toHaveLength(1);
    clock.advance(15 * SECOND); // both leases expire → both parked (max failures 1)
    const second = await ms.pollCompactionJobs([], 10);
    // One parked job is evicted to make room for the waiting block's job.
    expect(second.newJobs).toHaveLength(1);
    expect(ms.listJobs().filter((j) => j.parked)).toHaveLength(1);
    expect(logger.warnings.some((w) => w.msg.includes('evicting parked jobs'))).toBe(true);
  });

  it('caps a huge job capacity', async () => {
    const { ms, clock } = await setup({ compaction: { levels: [{ maxBlocks: 1, maxAgeMs: HOUR }, { maxBlocks: 1, maxAgeMs: HOUR }, { maxBlocks: 1, maxAgeMs: HOUR }] } });
    await addSegments(ms, 5, clock.now);
    const { newJobs } = await ms.pollCompactionJobs([], 2 ** 32 - 1);
    expect(newJobs).toHaveLength(5);
  });
});

describe('SUCCESS commit', () => {
  async function jobWithSegments(options: Partial<MetastoreOptions> = {}) {
    const env = await setup(options);
    const segments = await addSegments(env.ms, 20, env.clock.now, 1, [['acme', 'api'], ['globex', 'web']]);
    const [job] = (await env.ms.pollCompactionJobs([], 1)).newJobs;
    return { ...env, job: job!, segments };
  }

  it('swaps sources for outputs atomically, enqueues outputs, tombstones sources and fires the hook', async () => {
    const events: JobCommittedEvent[] = [];
    const registry = new Registry();
    const { ms, clock, job, segments } = await jobWithSegments({ onJobCommitted: (e) => void events.push(e), registry });
    const ids = () => ms.query().map((b) => b.id);
    expect(ids()).toEqual(segments.map((s) => s.id));
    clock.advance(5 * SECOND);
    const { update, outputs } = success(job, ['acme', 'globex']);
    // Between the append and its durability nothing changes; afterwards everything has.
    const poll = ms.pollCompactionJobs([update], 0);
    expect(ids()).toEqual(segments.map((s) => s.id));
    const res = await poll;
    expect(res.assignments).toEqual([]);
    expect(ids()).toEqual(outputs.map((o) => o.id).sort());
    expect(ms.listJobs()).toEqual([]);
    const dump = ms.dump();
    expect(dump.tombstones.map((t) => t.id)).toEqual(segments.map((s) => s.id));
    expect(dump.tombstones[0]).toMatchObject({ at: clock.now });
    expect(dump.queues.map((q) => q.key).sort()).toEqual(['1/1/acme', '1/1/globex']);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ replayed: false, committedAt: clock.now, job: { name: job.name } });
    expect([...events[0]!.observerResult]).toEqual([1, 2, 3]);
    expect(events[0]!.newBlocks.map((b) => b.id)).toEqual(outputs.map((o) => o.id));
    expect(await registry.getSingleMetricAsString('kiln_metastore_segment_to_l1_seconds')).toMatch(/_count 20/);
  });

  it('acknowledges AddBlock of a tombstoned id without bringing it back', async () => {
    const { ms, job, segments } = await jobWithSegments();
    await ms.pollCompactionJobs([success(job).update], 0);
    expect(await ms.addBlock(segments[0]!)).toBe(false);
    expect(ms.get(segments[0]!.id)).toBeUndefined();
  });

  it('drops a job whose SUCCESS has no new blocks ("compacted blocks are missing")', async () => {
    const { ms, job, segments, logger } = await jobWithSegments();
    const update = create(CompactionJobStatusUpdateSchema, { name: job.name, token: BigInt(job.token), status: SUCCESS });
    await ms.pollCompactionJobs([update], 0);
    expect(ms.listJobs()).toEqual([]);
    expect(ms.size).toBe(segments.length); // sources stay, unqueued
    expect(ms.dump().queues).toEqual([]);
    expect(logger.warnings.map((w) => w.msg)).toContain('compacted blocks are missing; skipping');
  });

  it('removes listed sources that a SUCCESS replaces with no new blocks (their objects are gone)', async () => {
    const { ms, job, segments } = await jobWithSegments();
    const update = create(CompactionJobStatusUpdateSchema, {
      name: job.name,
      token: BigInt(job.token),
      status: SUCCESS,
      compactedBlocks: { sourceBlocks: { shard: job.shard, blocks: [...job.sources] }, newBlocks: [] },
    });
    await ms.pollCompactionJobs([update], 0);
    expect(ms.listJobs()).toEqual([]);
    expect(ms.size).toBe(0);
    for (const s of segments) expect(ms.get(s.id)).toBeUndefined();
  });

  const malformed: Array<[string, (job: JobState, u: CompactionJobStatusUpdate) => void, RegExp]> = [
    ['an invalid new block meta', (_j, u) => void (u.compactedBlocks!.newBlocks[0]!.shard = 0), /new_blocks\[0\]: .*shard must be >= 1/],
    ['a new block of the wrong level', (_j, u) => void (u.compactedBlocks!.newBlocks[0]!.compactionLevel = 2), /has level 2, want 1/],
    ['a new block of another shard', (_j, u) => void (u.compactedBlocks!.newBlocks[0]!.shard = 9), /is in shard 9, want 1/],
    ['a source that is not the job\'s', (_j, u) => void u.compactedBlocks!.sourceBlocks!.blocks.push('01ARZ3NDEKTSV4RRFFQ69G5FAV'), /is not a source of this job/],
    ['no source list', (_j, u) => void (u.compactedBlocks!.sourceBlocks = undefined), /source_blocks is empty/],
    ['a new block without tenant', (_j, u) => void (u.compactedBlocks!.newBlocks[0]!.tenant = 0), /a compacted block belongs to one tenant/],
  ];
  it.each(malformed)('refuses %s with InvalidRequestError and changes nothing', async (_name, spoil, message) => {
    const { ms, job } = await jobWithSegments();
    const { update } = success(job);
    spoil(job, update);
    const before = ms.dump();
    await expect(ms.pollCompactionJobs([inProgress(job), update], 5)).rejects.toThrow(InvalidRequestError);
    await expect(ms.pollCompactionJobs([update], 5)).rejects.toThrow(message);
    expect(ms.dump()).toEqual(before);
  });

  it('refuses an unknown status value and ignores unknown jobs and garbage tokens', async () => {
    const { ms, job } = await jobWithSegments();
    const before = ms.dump();
    await expect(ms.pollCompactionJobs([create(CompactionJobStatusUpdateSchema, { name: job.name, token: BigInt(job.token), status: 7 as CompactionJobStatus })], 0)).rejects.toThrow(
      /status must be IN_PROGRESS or SUCCESS/,
    );
    const ignored = await ms.pollCompactionJobs(
      [
        create(CompactionJobStatusUpdateSchema, { name: 'no-such-job', token: 1n, status: SUCCESS }),
        create(CompactionJobStatusUpdateSchema, { name: job.name, token: 2n ** 64n - 1n, status: SUCCESS }),
        create(CompactionJobStatusUpdateSchema, { name: job.name, token: 0n, status: IN_PROGRESS }),
      ],
      0,
    );
    expect(ignored.assignments).toEqual([]);
    expect(ms.dump()).toEqual(before);
  });
});

describe('durability', () => {
  /** Drives a metastore through every kind of change. */
  async function busy(env: Env): Promise<void> {
    const { ms, clock } = env;
    await addSegments(ms, 45, clock.now - HOUR, 1, [['acme', 'api'], ['globex', 'web']]);
    await addSegments(ms, 3, clock.now, 2);
    const jobs = (await ms.pollCompactionJobs([], 2)).newJobs;
    await ms.pollCompactionJobs([success(jobs[0]!, ['acme', 'globex']).update, inProgress(jobs[1]!)], 0);
    clock.advance(16 * SECOND);
    await ms.pollCompactionJobs([], 1); // reassigns jobs[1] with failures 1
    clock.advance(MINUTE);
  }

  it('replays to exactly the same state after a restart', async () => {
    const env = await setup();
    await busy(env);
    const before = env.ms.dump();
    expect(before.jobs.length).toBeGreaterThan(0);
    expect(before.tombstones.length).toBeGreaterThan(0);
    const events: JobCommittedEvent[] = [];
    env.options.onJobCommitted = (e) => void events.push(e);
    const ms = await reopen(env);
    expect(ms.dump()).toEqual(before);
    expect(events.map((e) => e.replayed)).toEqual([true]);
  });

  it('rewrites the log as a snapshot: same state, smaller log, appends continue', async () => {
    const env = await setup();
    await busy(env);
    // Lots of lease renewals: the log grows, the state does not.
    const job = env.ms.listJobs().find((j) => j.assigned)!;
    for (let i = 0; i < 500; i++) await env.ms.pollCompactionJobs([inProgress(job)], 0);
    const before = env.ms.dump();
    const logFile = path.join(env.dir, 'metastore.log');
    const { size: grown } = await import('node:fs/promises').then((fs) => fs.stat(logFile));
    await env.ms.rewriteLog();
    const { size: shrunk } = await import('node:fs/promises').then((fs) => fs.stat(logFile));
    expect(shrunk).toBeLessThan(grown / 2);
    expect(env.ms.dump()).toEqual(before);
    const extra = await addSegments(env.ms, 1, env.clock.now, 4);
    const ms = await reopen(env);
    expect(ms.dump()).toEqual({ ...before, ...ms.dump(), blocks: [...before.blocks, extra[0]!.id].sort() });
    expect(ms.dump().jobs).toEqual(before.jobs);
    expect(ms.dump().nextToken).toBe(before.nextToken);
    expect((await readdir(env.dir)).filter((f) => f.includes('rewrite'))).toEqual([]);
  });

  it('keeps appends made during a rewrite, in order', async () => {
    const env = await setup();
    await busy(env);
    const rewrite = env.ms.rewriteLog();
    const during = await Promise.all([0, 1, 2].map((i) => env.ms.addBlock(makeMeta({ shard: 7 + i }))));
    await rewrite;
    expect(during).toEqual([true, true, true]);
    const before = env.ms.dump();
    expect((await reopen(env)).dump()).toEqual(before);
  });

  it('ignores a leftover rewrite file from a crash before the rename', async () => {
    const env = await setup();
    await busy(env);
    const before = env.ms.dump();
    await env.ms.close();
    opened.splice(opened.indexOf(env.ms), 1);
    await writeFile(path.join(env.dir, 'metastore.log.rewrite'), new Uint8Array([1, 2, 3]));
    const ms = await Metastore.open(env.dir, env.options);
    opened.push(ms);
    expect(ms.dump()).toEqual(before);
  });

  it('rewrites on its own once the log is large enough', async () => {
    const d = await newDir();
    const store = await FileMetastoreStore.open(d, recordingLogger());
    const ms = await Metastore.openStore(store, { rewriteMinBytes: 4096, logger: recordingLogger() });
    opened.push(ms);
    expect(await ms.maybeRewriteLog()).toBe(false);
    for (let i = 0; i < 40; i++) await ms.addBlock(makeMeta());
    expect(await ms.maybeRewriteLog()).toBe(true);
    expect(await ms.maybeRewriteLog()).toBe(false); // not twice the snapshot yet
  });
});

describe('retention and deletion', () => {
  it('removes whole blocks past every tenant\'s retention and deletes their objects after the delay', async () => {
    const clock = new ManualClock();
    const registry = new Registry();
    const env = await setup({ retention: { defaultMs: 24 * HOUR, overrides: new Map([['keep', 0]]) }, registry }, undefined, clock);
    const { ms } = env;
    const old = clock.now - 25 * HOUR;
    const expired = makeMeta({ id: ulidAt(old), datasets: [['acme', 'api']], minTime: old, maxTime: old + 1000 });
    const kept = makeMeta({ id: ulidAt(old + 1), datasets: [['acme', 'api'], ['keep', 'api']], minTime: old, maxTime: old + 1000 });
    const fresh = makeMeta({ datasets: [['acme', 'api']], minTime: clock.now - HOUR, maxTime: clock.now });
    for (const m of [expired, kept, fresh]) await ms.addBlock(m);

    const bucketDir = await newDir();
    const bucket = new FilesystemBucket(bucketDir);
    for (const m of [expired, kept, fresh]) await bucket.put(objectPath({ ...m, tenant: '' }), new Uint8Array([1]));

    expect(await ms.applyRetention()).toBe(1);
    expect(ms.query().map((b) => b.id).sort()).toEqual([kept.id, fresh.id].sort());
    expect(ms.dump().queues[0]!.blocks.map(([id]) => id)).not.toContain(expired.id);
    expect(await ms.applyRetention()).toBe(0);

    // Not before the cleanup delay.
    expect(await cleanTombstones(ms, bucket, { delayMs: 15 * MINUTE }, env.logger)).toBe(0);
    clock.advance(15 * MINUTE);
    expect(await cleanTombstones(ms, bucket, { delayMs: 15 * MINUTE }, env.logger)).toBe(1);
    const keys = (await bucket.list('')).map((o) => o.key).sort();
    expect(keys).toEqual([objectPath({ ...kept, tenant: '' }), objectPath({ ...fresh, tenant: '' })].sort());
    expect(ms.dump().tombstones).toEqual([]);
    expect(await registry.getSingleMetricAsString('kiln_metastore_blocks_deleted_total')).toMatch(/kiln_metastore_blocks_deleted_total 1/);
    // Idempotent: a missing object is fine, and the deletion survives a restart.
    const before = ms.dump();
    expect((await reopen(env)).dump()).toEqual(before);
    await bucket.close();
  });

  it('deletes compacted sources after the delay and retries a failed delete', async () => {
    const env = await setup();
    const { ms, clock } = env;
    const segments = await addSegments(ms, 20, clock.now);
    const [job] = (await ms.pollCompactionJobs([], 1)).newJobs;
    await ms.pollCompactionJobs([success(job!).update], 0);
    const bucketDir = await newDir();
    await mkdir(bucketDir, { recursive: true });
    const bucket = new FilesystemBucket(bucketDir);
    await bucket.put(objectPath({ ...segments[0]!, tenant: '' }), new Uint8Array([1]));
    let fail = true;
    const flaky = Object.create(bucket) as FilesystemBucket;
    flaky.delete = async (key: string) => {
      if (fail && key.includes(segments[1]!.id)) throw new Error('network down');
      return bucket.delete(key);
    };
    clock.advance(15 * MINUTE);
    expect(await cleanTombstones(ms, flaky, { delayMs: 15 * MINUTE }, env.logger)).toBe(19);
    expect(ms.dump().tombstones.map((t) => t.id)).toEqual([segments[1]!.id]);
    expect(await bucket.list('')).toEqual([]);
    fail = false;
    expect(await cleanTombstones(ms, flaky, { delayMs: 15 * MINUTE }, env.logger)).toBe(1);
    expect(ms.dump().tombstones).toEqual([]);
    await bucket.close();
  });

  it('leaves blocks of live jobs alone', async () => {
    const clock = new ManualClock();
    const { ms } = await setup({ retention: { defaultMs: HOUR, overrides: new Map() } }, undefined, clock);
    await addSegments(ms, 20, clock.now - 2 * HOUR);
    await ms.pollCompactionJobs([], 1);
    expect(await ms.applyRetention()).toBe(0);
  });
});

describe('queries', () => {
  it('GetBlockMetadata returns known ids only; QueryMetadata filters tenants, time and labels', async () => {
    const { ms } = await setup();
    const seg = makeMeta({ datasets: [['acme', 'api'], ['globex', 'web'], ['acme', 'db']], minTime: 1000, maxTime: 2000 });
    await ms.addBlock(seg);
    expect(ms.getBlocks([seg.id, '01ARZ3NDEKTSV4RRFFQ69G5FAV']).map((b) => b.id)).toEqual([seg.id]);
    const q = (tenants: string[], matchers: Parameters<Metastore['queryMetadata']>[0]['matchers'] = [], startMs?: number, endMs?: number) =>
      ms.queryMetadata({ tenants, matchers, ...(startMs !== undefined ? { startMs } : {}), ...(endMs !== undefined ? { endMs } : {}) });
    const [acme] = q(['acme']);
    expect(acme!.datasets).toHaveLength(2);
    // Only the strings of the returned datasets: no other tenant's names leak.
    expect(acme!.stringTable).not.toContain('globex');
    expect(acme!.stringTable).not.toContain('web');
    const [api] = q(['acme'], [{ name: 'service_name', op: '=', value: 'api' }]);
    expect(api!.datasets.map((d) => api!.stringTable[d.name])).toEqual(['api']);
    expect(q(['globex'], [{ name: 'service_name', op: '=', value: 'api' }])).toEqual([]);
    expect(q(['acme'], [], 2001)).toEqual([]);
    expect(q(['acme'], [], 0, 999)).toEqual([]);
    expect(() => q([])).toThrow(/tenant_id is required/);
    expect(ms.get(seg.id)!.datasets).toHaveLength(3); // the index's own meta is untouched
  });
});

describe('admin reads', () => {
  it('lists jobs with status for /metastore/jobs', async () => {
    const { ms, clock } = await setup();
    await addSegments(ms, 20, clock.now);
    await ms.pollCompactionJobs([], 1);
    const [job] = ms.listJobs();
    expect(job).toMatchObject({ assigned: true, level: 0, shard: 1, tenant: '', failures: 0, parked: false });
    expect(job!.sources).toHaveLength(20);
  });
});

// The metastore: block index, compaction planner and scheduler, tombstones and retention, as
// one in-memory state (state.ts) made durable through a MetastoreStore.
//
// Every change follows one path: decide → store.append (durable) → state.apply (visible) →
// side effects (metrics, logs, the job-committed hook). Nothing is visible before it is
// durable, and replaying the store on start rebuilds the same state. Operations that decide
// from the state (polls, retention, cleanup records, log rewrites) run one at a time; AddBlock
// does not wait for them, so segment registrations group-commit.
import { clone } from '@bufbuild/protobuf';
import type { Registry } from 'prom-client';
import { decodeTime } from 'ulid';
import xxhash from 'xxhash-wasm';
import { CompactionJobStatus, type CompactionJobStatusUpdate } from '../../gen/metastore/v1/compactor_pb.js';
import { BlockMetaSchema, DatasetSchema, type BlockMeta, type Dataset } from '../../gen/metastore/v1/types_pb.js';
import { InvalidBlockMetaError, blockTenant, stringAt, validateBlockMeta, type BlockQuery, type MetastoreLogger } from './block-index.js';
import { FileMetastoreStore } from './file-store.js';
import { MetastoreMetrics } from './metrics.js';
import { DEFAULT_LEVELS, planJobs, type PlannerConfig } from './planner.js';
import { KEEP_FOREVER, planRetention, type RetentionPolicy } from './retention.js';
import { assignJobs, jobsToEvict, jobsToPark, renewLease, type SchedulerConfig } from './scheduler.js';
import { matchesAll, type Matcher } from './selector.js';
import { MetastoreState, type StateDump, type Tombstone } from './state.js';
import { StoreUnavailableError, type JobLeaseState, type JobState, type MetastoreStore, type StateChange } from './store.js';

const hasher = await xxhash();

export interface CompactionConfig extends PlannerConfig, SchedulerConfig {
  /** Jobs the metastore holds at most; when full, planning stops (parked jobs are evicted first). */
  maxJobQueueSize: number;
}

export const DEFAULT_COMPACTION: CompactionConfig = {
  levels: DEFAULT_LEVELS,
  leaseMs: 15_000,
  maxFailures: 3,
  maxJobQueueSize: 10_000,
};

/** A poll hands out at most this many jobs, whatever capacity the worker claims. */
export const MAX_JOBS_PER_POLL = 1000;
/** Largest number of ids one GetBlockMetadata may ask for. */
export const MAX_METADATA_IDS = 100_000;

/** What the job-committed hook receives. */
export interface JobCommittedEvent {
  /** The job as it was when its result was committed. */
  job: JobState;
  newBlocks: BlockMeta[];
  /** CompactionJobStatusUpdate.observer_result, exactly as the worker sent it. */
  observerResult: Uint8Array;
  committedAt: number;
  /** True when delivered from the log on start (it may have been delivered before the restart). */
  replayed: boolean;
}

/**
 * Called after a job's result is durable (and again, with replayed=true, for every commit still
 * in the log when the metastore opens). A returned promise is awaited before the log is
 * rewritten, so a commit is never compacted out of the log before its hook finished.
 */
export type JobCommittedListener = (event: JobCommittedEvent) => void | Promise<void>;

export interface MetastoreOptions {
  logger?: MetastoreLogger;
  /** Unix ms; tests inject their own. */
  clock?: () => number;
  compaction?: Partial<CompactionConfig>;
  retention?: RetentionPolicy;
  registry?: Registry;
  onJobCommitted?: JobCommittedListener;
  /**
   * Called after the log was rewritten as a snapshot. Snapshots hold no job-committed records,
   * so from here on no commit made before the call is ever delivered to onJobCommitted again
   * (the metrics outbox forgets the names it kept to skip such replays).
   */
  onLogRewritten?: () => void;
  /** The log is rewritten as a snapshot once it is this large and twice the last snapshot. */
  rewriteMinBytes?: number;
}

/** A request the metastore refuses as a whole; nothing was changed (Connect: InvalidArgument). */
export class InvalidRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

export interface PollResult {
  /** Jobs assigned by this poll. */
  newJobs: JobState[];
  /** Every lease the worker holds after this poll: renewed ones and new ones. */
  assignments: JobLeaseState[];
}

export interface MetadataQuery {
  tenants: readonly string[];
  startMs?: number;
  endMs?: number;
  matchers: readonly Matcher[];
}

const silentLogger: MetastoreLogger = {
  warn: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...obj })}\n`),
  info: () => {},
};

export class Metastore {
  private readonly state = new MetastoreState();
  private readonly store: MetastoreStore;
  private readonly logger: MetastoreLogger;
  private readonly clock: () => number;
  private readonly compaction: CompactionConfig;
  private readonly retention: RetentionPolicy;
  private readonly listener: JobCommittedListener | undefined;
  private readonly rewriteListener: (() => void) | undefined;
  private readonly rewriteMinBytes: number;
  readonly metrics: MetastoreMetrics | undefined;
  /** Registrations written but not yet durable, so a concurrent duplicate waits for the first. */
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly pendingHooks = new Set<Promise<void>>();
  private serial: Promise<unknown> = Promise.resolve();
  private lastSnapshotBytes = 0;
  private closed = false;

  private constructor(store: MetastoreStore, options: MetastoreOptions) {
    this.store = store;
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? Date.now;
    this.compaction = { ...DEFAULT_COMPACTION, ...options.compaction };
    this.retention = options.retention ?? KEEP_FOREVER;
    this.listener = options.onJobCommitted;
    this.rewriteListener = options.onLogRewritten;
    this.rewriteMinBytes = options.rewriteMinBytes ?? 64 * 1024 * 1024;
    this.metrics = options.registry ? new MetastoreMetrics(options.registry, () => this.state) : undefined;
  }

  /** Opens the embedded metastore in `dir`, replaying its log. */
  static async open(dir: string, options: MetastoreOptions = {}): Promise<Metastore> {
    return Metastore.openStore(await FileMetastoreStore.open(dir, options.logger), options);
  }

  /** Opens the metastore over any store (loads it; the metastore owns and closes it). */
  static async openStore(store: MetastoreStore, options: MetastoreOptions = {}): Promise<Metastore> {
    const m = new Metastore(store, options);
    let changes: StateChange[];
    try {
      changes = await store.load();
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
    for (const c of changes) m.applyChange(c, true);
    m.lastSnapshotBytes = store.storedBytes;
    return m;
  }

  // ---- Block index ------------------------------------------------------------------------

  get size(): number {
    return this.state.index.size;
  }

  /**
   * Registers a block. Resolves true once it is durable, false if the id is already in the
   * index or tombstoned (so a retried registration succeeds without a second write). Rejects
   * with InvalidBlockMetaError for a malformed meta, writing nothing.
   */
  async addBlock(meta: BlockMeta): Promise<boolean> {
    validateBlockMeta(meta);
    this.checkOpen();
    if (this.state.index.has(meta.id) || this.state.tombstones.has(meta.id)) return false;
    const pending = this.inflight.get(meta.id);
    if (pending !== undefined) {
      await pending;
      return false;
    }
    // Own copy: the caller may reuse its object, and state must match what replay would build.
    const write = this.commit({ type: 'blockAdded', block: clone(BlockMetaSchema, meta), addedAt: this.clock() });
    this.inflight.set(meta.id, write);
    try {
      await write;
    } finally {
      this.inflight.delete(meta.id);
    }
    return true;
  }

  /** The block's meta (shared; do not mutate), or undefined. */
  get(id: string): BlockMeta | undefined {
    return this.state.index.get(id);
  }

  /** Matching blocks sorted by id (metas are shared; do not mutate). */
  query(filter: BlockQuery = {}): BlockMeta[] {
    return this.state.index.query(filter);
  }

  /** Metas of the ids that are in the index, in the order asked; unknown ids are skipped. */
  getBlocks(ids: readonly string[]): BlockMeta[] {
    if (ids.length > MAX_METADATA_IDS) throw new InvalidRequestError(`at most ${MAX_METADATA_IDS} block ids per request, got ${ids.length}`);
    const out: BlockMeta[] = [];
    for (const id of ids) {
      const meta = this.state.index.get(id);
      if (meta !== undefined) out.push(meta);
    }
    return out;
  }

  /**
   * Blocks with datasets of the tenants that overlap [startMs, endMs] and match the selector.
   * Each returned block is a copy holding only the matching datasets and only the strings they
   * use, so one tenant's query never sees another tenant's names.
   */
  queryMetadata(q: MetadataQuery): BlockMeta[] {
    if (q.tenants.length === 0) throw new InvalidRequestError('tenant_id is required');
    const tenants = new Set(q.tenants);
    const start = BigInt(Math.floor(q.startMs ?? Number.MIN_SAFE_INTEGER));
    const end = BigInt(Math.ceil(q.endMs ?? Number.MAX_SAFE_INTEGER));
    const out: BlockMeta[] = [];
    for (const meta of this.state.index.all()) {
      if (meta.maxTime < start || meta.minTime > end) continue;
      const table = meta.stringTable;
      const datasets = meta.datasets.filter(
        (ds) => tenants.has(stringAt(table, ds.tenant)) && ds.maxTime >= start && ds.minTime <= end && datasetMatches(ds, table, q.matchers),
      );
      if (datasets.length > 0) out.push(projectBlock(meta, datasets));
    }
    return out;
  }

  // ---- Compaction -------------------------------------------------------------------------

  /**
   * One worker round trip (spec §4.2, §4.3): apply the status updates, park jobs that failed
   * too often, plan new jobs from the queues, then assign up to `capacity` jobs by priority
   * (new jobs included, so a fresh job starts on the poll that planned it). Resolves once all
   * of it is durable. An update with an unknown job, a stale or garbage token, or for a parked
   * job changes nothing and is left out of the assignments: the worker must stop that job.
   * A malformed update rejects the whole poll with InvalidRequestError before any change.
   */
  pollCompactionJobs(updates: readonly CompactionJobStatusUpdate[], capacity: number): Promise<PollResult> {
    return this.exclusive(async () => {
      this.checkOpen();
      const now = this.clock();
      const cap = Math.max(0, Math.min(Number.isFinite(capacity) ? Math.floor(capacity) : 0, MAX_JOBS_PER_POLL));

      const accepted: Array<{ update: CompactionJobStatusUpdate; job: JobState }> = [];
      updates.forEach((update, i) => {
        const status = update.status;
        if (status !== CompactionJobStatus.COMPACTION_STATUS_IN_PROGRESS && status !== CompactionJobStatus.COMPACTION_STATUS_SUCCESS) {
          throw new InvalidRequestError(`status_updates[${i}] (job ${JSON.stringify(update.name)}): status must be IN_PROGRESS or SUCCESS, got ${status}`);
        }
        const job = this.state.jobs.get(update.name);
        if (job === undefined || !job.assigned || job.parked || update.token !== BigInt(job.token)) return;
        if (status === CompactionJobStatus.COMPACTION_STATUS_SUCCESS) this.validateResult(job, update, i);
        accepted.push({ update, job });
      });

      const held = new Map<string, JobLeaseState>();
      for (const { update, job } of accepted) {
        if (this.state.jobs.get(job.name) !== job) continue; // committed earlier in this poll
        if (update.status === CompactionJobStatus.COMPACTION_STATUS_IN_PROGRESS) {
          if (!held.has(job.name)) held.set(job.name, renewLease(job, now, this.compaction));
        } else {
          held.delete(job.name);
          await this.commitResult(job, update, now);
        }
      }
      const renewals = [...held.values()].filter((l) => this.state.jobs.has(l.name));
      if (renewals.length > 0) await this.commit({ type: 'jobsUpdated', jobs: renewals });

      const park = jobsToPark(this.state.jobs.values(), now, this.compaction);
      if (park.length > 0) await this.commit({ type: 'jobsUpdated', jobs: park });

      if (cap > 0) await this.planNewJobs(now, cap);

      const assigned = assignJobs(this.state.jobs.values(), now, cap, this.state.nextToken, this.compaction);
      if (assigned.length > 0) await this.commit({ type: 'jobsUpdated', jobs: assigned });
      const newJobs: JobState[] = [];
      for (const lease of assigned) {
        held.set(lease.name, lease);
        const job = this.state.jobs.get(lease.name)!;
        newJobs.push({ ...job, sources: [...job.sources] });
      }
      return { newJobs, assignments: [...held.values()].filter((l) => this.state.jobs.has(l.name)) };
    });
  }

  /**
   * Is anything of `shard` at level 0 still to be compacted that comes before `blockId`: a job
   * that is planned or in progress (not parked) whose first source id is < blockId, or a
   * segment in the planner queue with an id < blockId? The metrics exporter sends a committed
   * job's samples only when this is false for the job's first source, so the jobs of a shard
   * reach the TSDB in block order even when they commit out of order. Parked jobs do not
   * count: they never commit, so waiting for them would stop the shard's export for good.
   */
  hasPendingLevel0Before(shard: number, blockId: string): boolean {
    for (const job of this.state.jobs.values()) {
      if (job.level !== 0 || job.shard !== shard || job.parked) continue;
      for (const id of job.sources) if (id < blockId) return true;
    }
    for (const q of this.state.queues.values()) {
      // Queues keep id order, so the head is the smallest id.
      if (q.level === 0 && q.shard === shard && q.blocks.length > 0 && q.blocks[0]!.id < blockId) return true;
    }
    return false;
  }

  /** Every job, sorted by priority order's keys (level, then name); copies. */
  listJobs(): JobState[] {
    return [...this.state.jobs.values()]
      .map((j) => ({ ...j, sources: [...j.sources] }))
      .sort((a, b) => a.level - b.level || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // ---- Retention and deletion -------------------------------------------------------------

  /** Removes expired blocks from the index (tombstoning them); returns how many. */
  applyRetention(limit = 10_000): Promise<number> {
    return this.exclusive(async () => {
      this.checkOpen();
      const now = this.clock();
      const plan = planRetention(this.state, this.retention, now, limit);
      if (plan.blocks.length === 0) return 0;
      await this.commit({ type: 'blocksTombstoned', blocks: plan.blocks, at: now, reason: 'retention', droppedJobs: plan.droppedJobs });
      this.metrics?.blocksRetained.inc(plan.blocks.length);
      this.logger.info({ blocks: plan.blocks.length, droppedJobs: plan.droppedJobs }, 'retention removed blocks from the index');
      return plan.blocks.length;
    });
  }

  /** Tombstones at least `delayMs` old, oldest first (copies). */
  tombstonesDue(delayMs: number, limit = 10_000): Array<Tombstone & { id: string }> {
    const now = this.clock();
    const due: Array<Tombstone & { id: string }> = [];
    for (const [id, t] of this.state.tombstones) if (t.at + delayMs <= now) due.push({ id, ...t });
    return due.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1)).slice(0, limit);
  }

  /** Records that the objects of these tombstones are deleted (forgets the tombstones). */
  markObjectsDeleted(ids: readonly string[]): Promise<void> {
    return this.exclusive(async () => {
      this.checkOpen();
      const known = ids.filter((id) => this.state.tombstones.has(id));
      if (known.length === 0) return;
      await this.commit({ type: 'objectsDeleted', blocks: known });
      this.metrics?.blocksDeleted.inc(known.length);
    });
  }

  // ---- Log maintenance --------------------------------------------------------------------

  /** Rewrites the log as a snapshot of the current state. */
  rewriteLog(): Promise<void> {
    return this.exclusive(async () => {
      this.checkOpen();
      await this.settleHooks();
      const before = this.store.storedBytes;
      await this.store.rewrite(() => this.state.snapshot());
      this.lastSnapshotBytes = this.store.storedBytes;
      this.logger.info({ beforeBytes: before, afterBytes: this.lastSnapshotBytes }, 'metastore log rewritten as a snapshot');
      try {
        this.rewriteListener?.();
      } catch (err) {
        this.logger.warn({ err: String(err) }, 'log-rewritten hook failed');
      }
    });
  }

  /** Rewrites the log when it has grown past rewriteMinBytes and twice the last snapshot. */
  async maybeRewriteLog(): Promise<boolean> {
    const size = this.store.storedBytes;
    if (size < this.rewriteMinBytes || size < 2 * this.lastSnapshotBytes) return false;
    await this.rewriteLog();
    return true;
  }

  /** A plain, deterministic picture of the whole state (for tests and diagnostics). */
  dump(): StateDump {
    return this.state.dump();
  }

  /** Waits for running operations and hooks, then closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.serial;
    await Promise.allSettled(this.inflight.values());
    await this.settleHooks();
    await this.store.close();
  }

  // ---- Internals --------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new StoreUnavailableError('metastore is closed');
  }

  /** Runs `fn` after every earlier exclusive operation has finished. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn);
    this.serial = run.catch(() => {});
    return run;
  }

  /**
   * Durable first, then visible. The apply is chained onto the append itself, so changes are
   * applied in log order even when appends overlap.
   */
  private commit(change: StateChange): Promise<void> {
    return this.store.append(change).then(() => this.applyChange(change, false));
  }

  private applyChange(change: StateChange, replayed: boolean): void {
    const job = change.type === 'jobCommitted' ? this.state.jobs.get(change.name) : undefined;
    const parkedBefore =
      change.type === 'jobsUpdated' && !replayed ? new Set(change.jobs.filter((l) => l.parked && !this.state.jobs.get(l.name)?.parked).map((l) => l.name)) : undefined;
    this.state.apply(change);
    if (parkedBefore !== undefined) {
      for (const name of parkedBefore) {
        const j = this.state.jobs.get(name);
        if (j === undefined) continue;
        this.logger.warn(
          { job: name, level: j.level, shard: j.shard, tenant: j.tenant, failures: j.failures, sources: j.sources.length },
          'compaction job parked: its lease expired too often; it will not be assigned again',
        );
      }
    }
    if (change.type === 'jobCommitted' && job !== undefined) this.afterCommit(job, change, replayed);
  }

  private afterCommit(job: JobState, change: Extract<StateChange, { type: 'jobCommitted' }>, replayed: boolean): void {
    if (!replayed && this.metrics) {
      this.metrics.jobsCommitted.inc({ level: String(job.level) });
      if (job.level === 0) {
        for (const id of change.sources) this.metrics.segmentToL1Seconds.observe(Math.max(0, change.committedAt - ulidTime(id)) / 1000);
      }
    }
    if (this.listener === undefined) return;
    const event: JobCommittedEvent = { job, newBlocks: change.newBlocks, observerResult: change.observerResult, committedAt: change.committedAt, replayed };
    let result: void | Promise<void>;
    try {
      result = this.listener(event);
    } catch (err) {
      this.logger.warn({ job: job.name, err: String(err) }, 'job-committed hook failed');
      return;
    }
    if (result instanceof Promise) {
      const p = result.catch((err: unknown) => this.logger.warn({ job: job.name, err: String(err) }, 'job-committed hook failed'));
      this.pendingHooks.add(p);
      void p.finally(() => this.pendingHooks.delete(p));
    }
  }

  private async settleHooks(): Promise<void> {
    while (this.pendingHooks.size > 0) await Promise.allSettled([...this.pendingHooks]);
  }

  /** A SUCCESS update must describe a result this job can have produced; throws otherwise. */
  private validateResult(job: JobState, update: CompactionJobStatusUpdate, i: number): void {
    const where = `status_updates[${i}] (job ${job.name})`;
    const cb = update.compactedBlocks;
    if (cb === undefined || isEmptyResult(update)) return; // "compacted blocks are missing": dropped
    const sources = cb.sourceBlocks?.blocks ?? [];
    if (sources.length === 0) throw new InvalidRequestError(`${where}: compacted_blocks.source_blocks is empty but new_blocks is not`);
    const jobSources = new Set(job.sources);
    const seen = new Set<string>();
    for (const id of sources) {
      if (!jobSources.has(id)) throw new InvalidRequestError(`${where}: source block ${JSON.stringify(id)} is not a source of this job`);
      if (seen.has(id)) throw new InvalidRequestError(`${where}: source block ${id} is listed twice`);
      seen.add(id);
    }
    const ids = new Set<string>();
    cb.newBlocks.forEach((meta, b) => {
      try {
        validateBlockMeta(meta);
      } catch (err) {
        if (err instanceof InvalidBlockMetaError) throw new InvalidRequestError(`${where}: new_blocks[${b}]: ${err.message}`);
        throw err;
      }
      if (meta.compactionLevel !== job.level + 1) {
        throw new InvalidRequestError(`${where}: new block ${meta.id} has level ${meta.compactionLevel}, want ${job.level + 1}`);
      }
      if (meta.shard !== job.shard) throw new InvalidRequestError(`${where}: new block ${meta.id} is in shard ${meta.shard}, want ${job.shard}`);
      const tenant = blockTenant(meta);
      if (tenant === '' || (job.tenant !== '' && tenant !== job.tenant)) {
        throw new InvalidRequestError(`${where}: new block ${meta.id} has tenant ${JSON.stringify(tenant)}; a compacted block belongs to one tenant${job.tenant ? ` (${job.tenant})` : ''}`);
      }
      if (ids.has(meta.id)) throw new InvalidRequestError(`${where}: new block ${meta.id} is listed twice`);
      if (this.state.index.has(meta.id) || this.state.tombstones.has(meta.id)) {
        throw new InvalidRequestError(`${where}: new block ${meta.id} is already known to the metastore`);
      }
      ids.add(meta.id);
    });
  }

  private async commitResult(job: JobState, update: CompactionJobStatusUpdate, now: number): Promise<void> {
    const cb = update.compactedBlocks;
    if (cb === undefined || isEmptyResult(update)) {
      // The worker found the sources gone (e.g. removed by retention): nothing to commit.
      this.logger.warn({ job: job.name }, 'compacted blocks are missing; skipping');
      await this.commit({ type: 'jobsDropped', names: [job.name], reason: 'compacted blocks are missing' });
      return;
    }
    await this.commit({
      type: 'jobCommitted',
      name: job.name,
      token: job.token,
      committedAt: now,
      sources: [...cb.sourceBlocks!.blocks],
      newBlocks: cb.newBlocks.map((m) => clone(BlockMetaSchema, m)),
      observerResult: update.observerResult,
    });
  }

  private async planNewJobs(now: number, cap: number): Promise<void> {
    const max = this.compaction.maxJobQueueSize;
    const plan = (limit: number) => planJobs(this.state.queues.values(), this.compaction, now, limit, (s) => hasher.h64ToString(s));
    if (this.state.jobs.size >= max && plan(1).length > 0) {
      const evict = jobsToEvict(this.state.jobs.values(), this.state.jobs.size, max);
      if (evict.length > 0) {
        this.logger.warn({ jobs: evict }, 'job queue is full: evicting parked jobs (their blocks will not be compacted)');
        await this.commit({ type: 'jobsDropped', names: evict, reason: 'evicted: job queue full' });
      }
    }
    const room = max - this.state.jobs.size;
    if (room <= 0) return;
    const jobs = plan(Math.min(room, cap));
    if (jobs.length > 0) await this.commit({ type: 'jobsPlanned', jobs });
  }
}

/**
 * A SUCCESS that lists neither sources nor new blocks: the worker found nothing to compact
 * (Pyroscope's "compacted blocks are missing"), so the job is dropped and the index is left as
 * it is. Listed sources with no new blocks is a real result: those sources are gone from the
 * bucket (Kiln's worker reports them so), and the commit removes them from the index.
 */
function isEmptyResult(update: CompactionJobStatusUpdate): boolean {
  const cb = update.compactedBlocks;
  return cb === undefined || (cb.newBlocks.length === 0 && (cb.sourceBlocks?.blocks.length ?? 0) === 0);
}

function ulidTime(id: string): number {
  try {
    return decodeTime(id);
  } catch {
    return 0;
  }
}

/** Does any label set of the dataset satisfy every matcher? (No label sets: the empty set.) */
function datasetMatches(ds: Dataset, table: string[], matchers: readonly Matcher[]): boolean {
  if (matchers.length === 0) return true;
  const labels = ds.labels;
  if (labels.length === 0) return matchesAll(matchers, () => '');
  for (let i = 0; i < labels.length; ) {
    const n = labels[i]!;
    const set = new Map<string, string>();
    for (let j = 0; j < n; j++) set.set(stringAt(table, labels[i + 1 + 2 * j]!), stringAt(table, labels[i + 2 + 2 * j]!));
    if (matchesAll(matchers, (name) => set.get(name) ?? '')) return true;
    i += 1 + 2 * n;
  }
  return false;
}

/** A copy of the block with only `datasets`, and a string table of just the strings they use. */
function projectBlock(meta: BlockMeta, datasets: Dataset[]): BlockMeta {
  const table = [''];
  const remap = new Map<number, number>([[0, 0]]);
  const ref = (i: number): number => {
    let j = remap.get(i);
    if (j === undefined) {
      j = table.push(stringAt(meta.stringTable, i)) - 1;
      remap.set(i, j);
    }
    return j;
  };
  const out = clone(BlockMetaSchema, meta);
  out.tenant = ref(meta.tenant);
  out.createdBy = ref(meta.createdBy);
  out.datasets = datasets.map((ds) => {
    const copy = clone(DatasetSchema, ds);
    copy.tenant = ref(ds.tenant);
    copy.name = ref(ds.name);
    const labels: number[] = [];
    for (let i = 0; i < ds.labels.length; ) {
      const n = ds.labels[i]!;
      labels.push(n);
      for (let j = 0; j < 2 * n; j++) labels.push(ref(ds.labels[i + 1 + j]!));
      i += 1 + 2 * n;
    }
    copy.labels = labels;
    return copy;
  });
  out.stringTable = table;
  return out;
}

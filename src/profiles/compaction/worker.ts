// The compaction worker: polls the metastore for jobs, runs them, and reports.
//
// One poll carries a status update per local job — IN_PROGRESS renews the lease of a running
// job, SUCCESS delivers a finished job's blocks, and a failed job is simply not mentioned, so its
// lease runs out and the metastore hands it to another worker. The response lists every lease
// this worker still holds; a running job missing from it has been given away (lease lost), so it
// is cancelled and nothing it produced is reported. Output keys are deterministic, so a job that
// runs twice (here and elsewhere) writes the same bytes to the same keys.

import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  type CompactionJob,
  CompactionJobStatus,
  CompactionJobStatusUpdateSchema,
  type CompactionJobStatusUpdate,
  type PollCompactionJobsRequestSchema,
  type PollCompactionJobsResponse,
} from '../../gen/metastore/v1/compactor_pb.js';
import type { BlockMeta } from '../../gen/metastore/v1/types_pb.js';

/** What a finished job reports: the blocks it replaced and the blocks it wrote. */
export interface JobResult {
  sourceBlocks: string[];
  newBlocks: BlockMeta[];
  /** Bytes from the job's observer, committed by the metastore with the blocks. */
  observerResult?: Uint8Array;
}

/** Runs one job to completion. Rejects (or resolves late, ignored) when `signal` aborts. */
export type JobRunner = (job: CompactionJob, signal: AbortSignal) => Promise<JobResult>;

/** The one RPC the worker needs (a Connect client of CompactionService in production). */
export interface CompactionPoller {
  pollCompactionJobs(req: MessageInitShape<typeof PollCompactionJobsRequestSchema>, options?: { timeoutMs?: number }): Promise<PollCompactionJobsResponse>;
}

export interface CompactionWorkerOptions {
  /** Jobs run at once. */
  jobConcurrency: number;
  /** Milliseconds between polls (a finished job triggers one sooner). */
  jobPollInterval: number;
  /** Milliseconds before a poll is abandoned. */
  requestTimeout: number;
}

type JobState = 'running' | 'done' | 'failed';

interface LocalJob {
  job: CompactionJob;
  token: bigint;
  state: JobState;
  result?: JobResult;
  abort: AbortController;
  startedAt: number;
}

export class CompactionWorker {
  private readonly jobs = new Map<string, LocalJob>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private stopping = false;
  private started = false;
  private readonly metrics;

  constructor(
    private readonly opts: CompactionWorkerOptions,
    private readonly metastore: CompactionPoller,
    private readonly run: JobRunner,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.metrics = {
      inProgress: new Gauge({ name: 'kiln_compaction_worker_jobs_in_progress', help: 'Jobs this worker is running, by source level.', labelNames: ['level'], registers: [registry] }),
      completed: new Counter({
        name: 'kiln_compaction_worker_jobs_completed_total',
        help: 'Jobs that ended on this worker, by source level and status (success, failed, lease_lost).',
        labelNames: ['level', 'status'],
        registers: [registry],
      }),
      duration: new Histogram({ name: 'kiln_compaction_worker_job_duration_seconds', help: 'Time to run one job, by source level.', labelNames: ['level'], buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300], registers: [registry] }),
      polls: new Counter({ name: 'kiln_compaction_worker_polls_total', help: 'Polls of the metastore, by status (ok, error).', labelNames: ['status'], registers: [registry] }),
    };
  }

  /** Starts the poll loop. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  /** Number of jobs held locally (running or waiting to be reported). */
  get size(): number {
    return this.jobs.size;
  }

  /**
   * Stops taking jobs, lets running ones finish and reports them. After `timeoutMs` the
   * rest are cancelled; their leases expire and other workers redo them.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const deadline = Date.now() + timeoutMs;
    while (this.jobs.size > 0 && Date.now() < deadline) {
      await this.pollOnce();
      if (this.jobs.size === 0) break;
      await Promise.race([this.anyJobSettles(), sleep(Math.min(this.opts.jobPollInterval, Math.max(0, deadline - Date.now())))]);
    }
    for (const j of this.jobs.values()) j.abort.abort(new Error('worker is stopping'));
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /** One poll round trip (exposed for tests; the loop calls it). */
  pollOnce(): Promise<void> {
    if (this.polling) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = this.poll().finally(() => {
      this.polling = undefined;
      if (this.pollAgain) {
        this.pollAgain = false;
        void this.pollOnce();
      }
    });
    return this.polling;
  }

  private schedule(ms: number): void {
    if (this.stopping) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.pollOnce().finally(() => this.schedule(this.opts.jobPollInterval));
    }, ms);
  }

  private async poll(): Promise<void> {
    const updates: CompactionJobStatusUpdate[] = [];
    // Jobs whose SUCCESS this poll carries (a job can finish while the poll is in flight).
    const delivered: LocalJob[] = [];
    for (const j of this.jobs.values()) {
      if (j.state === 'failed') continue;
      const update = create(CompactionJobStatusUpdateSchema, { name: j.job.name, token: j.token, status: CompactionJobStatus.COMPACTION_STATUS_IN_PROGRESS });
      if (j.state === 'done') {
        update.status = CompactionJobStatus.COMPACTION_STATUS_SUCCESS;
        update.compactedBlocks = {
          $typeName: 'metastore.v1.CompactedBlocks',
          sourceBlocks: { $typeName: 'metastore.v1.BlockList', tenant: j.job.tenant, shard: j.job.shard, blocks: j.result!.sourceBlocks },
          newBlocks: j.result!.newBlocks,
        };
        if (j.result!.observerResult) update.observerResult = j.result!.observerResult;
        delivered.push(j);
      }
      updates.push(update);
    }
    // Failed jobs are dropped now: not reporting them is how the lease is given back.
    for (const [name, j] of this.jobs) if (j.state === 'failed') this.jobs.delete(name);
    let running = 0;
    for (const j of this.jobs.values()) if (j.state === 'running') running++;
    const capacity = this.stopping ? 0 : Math.max(0, this.opts.jobConcurrency - running);

    let res: PollCompactionJobsResponse;
    try {
      res = await this.metastore.pollCompactionJobs({ statusUpdates: updates, jobCapacity: capacity }, { timeoutMs: this.opts.requestTimeout });
      this.metrics.polls.inc({ status: 'ok' });
    } catch (e) {
      // Keep everything and retry on the next tick: a finished job is reported again, and the
      // metastore ignores a SUCCESS for a job it already committed.
      this.metrics.polls.inc({ status: 'error' });
      this.logger.warn({ err: (e as Error).message }, 'polling compaction jobs failed; will retry');
      return;
    }

    // A reported SUCCESS is either committed or refused (stale token): either way it is over here.
    for (const j of delivered) if (this.jobs.get(j.job.name) === j) this.jobs.delete(j.job.name);
    const leases = new Map(res.assignments.map((a) => [a.name, a]));
    for (const [name, j] of this.jobs) {
      const lease = leases.get(name);
      if (lease && lease.token >= j.token) {
        j.token = lease.token;
        continue;
      }
      if (j.state === 'running') {
        this.logger.warn({ job: name }, 'compaction job lease lost; cancelling it');
        this.metrics.completed.inc({ level: j.job.compactionLevel, status: 'lease_lost' });
        j.abort.abort(new Error(`lease of job ${name} lost`));
        this.finished(j);
      }
      this.jobs.delete(name);
    }
    for (const job of res.compactionJobs) {
      const lease = leases.get(job.name);
      if (!lease || this.jobs.has(job.name)) continue;
      this.startJob(job, lease.token);
    }
  }

  private startJob(job: CompactionJob, token: bigint): void {
    const local: LocalJob = { job, token, state: 'running', abort: new AbortController(), startedAt: performance.now() };
    this.jobs.set(job.name, local);
    this.metrics.inProgress.inc({ level: job.compactionLevel });
    this.logger.info({ job: job.name, level: job.compactionLevel, shard: job.shard, tenant: job.tenant, sources: job.sourceBlocks.length }, 'compaction job started');
    this.run(job, local.abort.signal).then(
      (result) => {
        if (local.abort.signal.aborted || this.jobs.get(job.name) !== local) return;
        local.state = 'done';
        local.result = result;
        const seconds = (performance.now() - local.startedAt) / 1000;
        this.metrics.duration.observe({ level: job.compactionLevel }, seconds);
        this.metrics.completed.inc({ level: job.compactionLevel, status: 'success' });
        this.logger.info({ job: job.name, level: job.compactionLevel, seconds: Number(seconds.toFixed(3)), newBlocks: result.newBlocks.map((b) => b.id) }, 'compaction job done');
        this.finished(local);
        void this.pollOnce();
      },
      (e: unknown) => {
        if (local.abort.signal.aborted || this.jobs.get(job.name) !== local) return;
        local.state = 'failed';
        this.metrics.completed.inc({ level: job.compactionLevel, status: 'failed' });
        this.logger.error({ job: job.name, err: (e as Error).message }, 'compaction job failed; abandoning it (its lease will expire)');
        this.finished(local);
        void this.pollOnce();
      },
    );
  }

  private readonly settleWaiters: (() => void)[] = [];

  private finished(j: LocalJob): void {
    this.metrics.inProgress.dec({ level: j.job.compactionLevel });
    for (const w of this.settleWaiters.splice(0)) w();
  }

  private anyJobSettles(): Promise<void> {
    return new Promise((resolve) => this.settleWaiters.push(resolve));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

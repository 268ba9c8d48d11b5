// The metrics exporter: drains the outbox to a remote-write target.
//
// Lines ("lanes"): every (tenant, shard) is one line of outbox entries in job order (first
// source block id). Only the head of a line is ever sent, and it leaves the line only after it
// is acknowledged (2xx) or rejected for good (4xx but 429), so the samples of any series reach
// the target in timestamp order (DESIGN invariant 4). Different lines are independent: one
// tenant's failing target does not hold up another's.
//
// Order across commits: jobs of one shard run on different workers and may commit out of order.
// The head of a line is sent only when the metastore has nothing of that shard at level 0 still
// to compact that comes before it (Metastore.hasPendingLevel0Before): no planned or running job
// with an earlier first source, no earlier segment waiting in the planner queue. An earlier job
// that already committed is in the outbox, so it is ahead in the line.
//
// Retries: network errors, timeouts, 5xx and 429 are retried forever with exponential backoff
// and jitter (Retry-After wins when the target sends one), so a TSDB outage delays export
// without losing anything; the rate stays bounded by the backoff.
import type { RecordedSeries } from '../../gen/metrics/v1/recorded_pb.js';
import type { LogLogger } from '../metastore/log.js';
import type { ExporterMetrics } from './metrics.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import { splitIntoRequests, type RemoteWriteClient, type SendOutcome } from './remote-write-client.js';
import type { RemoteWriteSeries } from './remote-write-encoding.js';

/** What the exporter needs to know about the metastore's compaction progress. */
export interface ExportOrder {
  hasPendingLevel0Before(shard: number, blockId: string): boolean;
}

export interface ExporterLogger extends LogLogger {
  error?(obj: object, msg: string): void;
}

export interface ExporterOptions {
  outbox: Outbox;
  order: ExportOrder;
  client: RemoteWriteClient;
  /** The URL a tenant's samples go to; undefined = no target: keep them in the outbox. */
  urlFor: (tenant: string) => string | undefined;
  maxSeriesPerRequest: number;
  /** Bytes of one encoded (uncompressed) WriteRequest, at most (a single bigger series goes alone). */
  maxRequestBytes: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  logger: ExporterLogger;
  metrics?: ExporterMetrics;
  /** Lines sent at once. */
  concurrency?: number;
  /** How often a blocked line re-checks the metastore (new entries and finished sends wake it at once). */
  pollIntervalMs?: number;
  clock?: () => number;
  /** 0 ≤ x < 1; tests fix the jitter. */
  random?: () => number;
}

/** A Retry-After above this is treated as this, so a bogus header cannot stall a line for days. */
export const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

interface LaneState {
  /** The head job this state belongs to; a new head starts fresh. */
  job: string;
  /** Indexes of the head's request parts that are done (acknowledged or dropped). */
  done: Set<number>;
  droppedSeries: number;
  attempts: number;
  retryAt: number;
}

interface Lane {
  key: string;
  tenant: string;
  shard: number;
  head: OutboxEntry;
}

export class MetricsExporter {
  private readonly o: Required<Omit<ExporterOptions, 'metrics'>> & Pick<ExporterOptions, 'metrics'>;
  private readonly lanes = new Map<string, LaneState>();
  private readonly busy = new Map<string, Promise<void>>();
  private warnedNoTarget = false;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private woken = false;

  constructor(options: ExporterOptions) {
    this.o = { concurrency: 8, pollIntervalMs: 1000, clock: Date.now, random: Math.random, ...options };
  }

  /** Starts the drain loop. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Re-checks the lines now (a new entry, a finished compaction job). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops starting sends and waits for the running ones (each bounded by the request timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.running;
    await Promise.allSettled([...this.busy.values()]);
  }

  /**
   * One pass: starts a send for every line whose head may go now, and waits for those sends.
   * Resolves with the number of sends started (tests drive the exporter with it).
   */
  async drainOnce(): Promise<number> {
    const started = this.startReadyLanes();
    await Promise.allSettled(started);
    return started.length;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.startReadyLanes();
      if (this.stopped) break;
      await this.sleep(this.nextWakeDelay());
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        this.woken = false;
        done();
      };
    });
  }

  /** Time until the earliest backoff ends, at most the poll interval. */
  private nextWakeDelay(): number {
    const now = this.o.clock();
    let delay = this.o.pollIntervalMs;
    for (const [key, s] of this.lanes) if (!this.busy.has(key) && s.retryAt > now) delay = Math.min(delay, s.retryAt - now);
    return Math.max(1, delay);
  }

  /** The head of every (tenant, shard) line, lines with the oldest heads first. */
  private heads(): Lane[] {
    const heads = new Map<string, Lane>();
    // pending() is in job order, so the first entry seen for a line is its head.
    for (const entry of this.o.outbox.pending()) {
      for (const tenant of entry.tenants.keys()) {
        const key = `${entry.shard}\u0000${tenant}`;
        if (!heads.has(key)) heads.set(key, { key, tenant, shard: entry.shard, head: entry });
      }
    }
    return [...heads.values()].sort((a, b) => a.head.committedAt - b.head.committedAt);
  }

  private startReadyLanes(): Promise<void>[] {
    const started: Promise<void>[] = [];
    if (this.stopped) return started;
    const now = this.o.clock();
    const heads = this.heads();
    // Forget the state of lines that emptied (their last head was finished).
    const live = new Set(heads.map((l) => l.key));
    for (const key of this.lanes.keys()) if (!live.has(key) && !this.busy.has(key)) this.lanes.delete(key);

    for (const lane of heads) {
      if (this.busy.size >= this.o.concurrency) break;
      if (this.busy.has(lane.key) || !lane.head.durable) continue;
      const state = this.lanes.get(lane.key);
      if (state !== undefined && state.job === lane.head.job && state.retryAt > now) continue;
      const url = this.o.urlFor(lane.tenant);
      if (url === undefined) {
        this.warnNoTarget(lane.tenant);
        continue;
      }
      if (this.o.order.hasPendingLevel0Before(lane.shard, lane.head.firstSource)) continue;
      const send = this.sendHead(lane, url)
        .catch((err: unknown) => this.logError({ tenant: lane.tenant, shard: lane.shard, job: lane.head.job, err: String(err) }, 'metrics exporter: send failed'))
        .finally(() => {
          this.busy.delete(lane.key);
          this.wake();
        });
      this.busy.set(lane.key, send);
      started.push(send);
    }
    return started;
  }

  /** Sends the parts of the head not done yet, in order; stops at the first that must be retried. */
  private async sendHead(lane: Lane, url: string): Promise<void> {
    const { tenant, head } = lane;
    let state = this.lanes.get(lane.key);
    if (state === undefined || state.job !== head.job) {
      state = { job: head.job, done: new Set(), droppedSeries: 0, attempts: 0, retryAt: 0 };
      this.lanes.set(lane.key, state);
    }
    const samples = head.tenants.get(tenant);
    if (samples === undefined) return;
    const series = samples.series.map((s) => toRemoteWrite(s, head.timestampMs));
    // The split is deterministic, so part i is the same request on every attempt.
    const parts = splitIntoRequests(series, this.o.maxSeriesPerRequest, this.o.maxRequestBytes);
    for (let i = 0; i < parts.length; i++) {
      if (state.done.has(i)) continue;
      const part = parts[i]!;
      const outcome = await this.o.client.send(url, tenant, part);
      this.countRequest(outcome);
      if (outcome.kind === 'retry') {
        state.attempts++;
        const delay = this.retryDelay(state.attempts, outcome.retryAfterMs);
        state.retryAt = this.o.clock() + delay;
        this.o.metrics?.failedAttempts.inc({ reason: outcome.reason });
        this.o.logger.warn(
          { tenant, shard: lane.shard, job: head.job, part: i, parts: parts.length, attempt: state.attempts, reason: outcome.reason, status: outcome.status, retryInMs: delay, error: outcome.message },
          'metrics exporter: remote write failed; will retry',
        );
        return;
      }
      state.done.add(i);
      state.attempts = 0;
      if (outcome.kind === 'ok') {
        this.o.metrics?.seriesSent.inc(part.length);
        this.o.metrics?.samplesSent.inc(part.length);
      } else {
        state.droppedSeries += part.length;
        this.o.metrics?.droppedSeries.inc({ reason: `http_${outcome.status}` }, part.length);
        this.o.logger.warn(
          { tenant, shard: lane.shard, job: head.job, part: i, parts: parts.length, series: part.length, status: outcome.status, body: outcome.message },
          'metrics exporter: remote write rejected the request; its samples are dropped',
        );
      }
    }
    const outcome = state.droppedSeries === series.length ? 'dropped' : 'sent';
    await this.o.outbox.completeTenant(head.job, tenant, outcome);
    this.lanes.delete(lane.key);
    if (outcome === 'sent') this.o.metrics?.exportLag.observe(Math.max(0, this.o.clock() - head.committedAt) / 1000);
  }

  /** Exponential backoff with jitter in [d/2, d); a Retry-After (capped) replaces it. */
  private retryDelay(attempts: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined) return Math.max(this.o.minBackoffMs, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
    const d = Math.min(this.o.maxBackoffMs, this.o.minBackoffMs * 2 ** Math.min(attempts - 1, 30));
    return Math.round(d / 2 + (this.o.random() * d) / 2);
  }

  private countRequest(outcome: SendOutcome): void {
    const code = outcome.kind === 'retry' && outcome.status === undefined ? outcome.reason : String(outcome.status);
    this.o.metrics?.requests.inc({ code });
  }

  /** Once per process: the outbox keeps growing until a URL is configured, so say why. */
  private warnNoTarget(tenant: string): void {
    if (this.warnedNoTarget) return;
    this.warnedNoTarget = true;
    this.o.logger.warn(
      { tenant },
      'metrics exporter: no remote-write URL (-metrics-exporter.remote-write-url is empty and the tenant has no override); recorded samples stay in the outbox until one is configured',
    );
  }

  private logError(obj: object, msg: string): void {
    (this.o.logger.error ?? this.o.logger.warn).call(this.o.logger, obj, msg);
  }
}

/** One recorded series as a remote-write series with its one sample. */
function toRemoteWrite(s: RecordedSeries, timestampMs: number): RemoteWriteSeries {
  return { labels: s.labels, samples: [{ value: s.value, timestampMs }] };
}

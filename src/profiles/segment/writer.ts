// The segment writer: collects the pushed requests per shard into an open
// segment, and every segment-duration writes the segment as one block object,
// registers it with the metastore, and only then acknowledges the pushes it
// holds (DESIGN.md invariant 1: ack means durable).
//
// Segments close on a ticker per shard, as Pyroscope's do, not a timer started
// by a segment's first push: a push waits for the next beat (half a segment
// duration on average), and a client answered right after a beat lands in the
// segment already filling, rather than opening a new one and so waiting a full
// duration plus the previous flush on every push.
//
// Decoding, validation and encoding run in the segment builders (see
// build-pool.ts: worker threads, or this thread with build-threads=0); this
// class keeps what needs one place: segment ids, timers, uploads with
// retries, registration in ULID order per shard, and the answers.

import os from 'node:os';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { monotonicFactory } from 'ulid';
import type { Config } from '../../config/config.js';
import type { Bucket } from '../../objstore/bucket.js';
import type { BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import type { Labels } from '../block/model.js';
import { segmentPath } from '../block/paths.js';
import { BuildWorkerPool, InlineBuilds, type SegmentBuild, type SegmentBuilds } from './build-pool.js';
import { ACCEPTED, type BuiltSegment, type RequestOutcome, type RequestPart, validatePart } from './segment-builder.js';

export { ProfileRejectedError, type RequestOutcome } from './segment-builder.js';

/** Registers blocks with the metastore (a Connect client in production). */
export interface BlockRegistrar {
  addBlock(meta: BlockMeta): Promise<void>;
}

export type SegmentWriterOptions = Config['segmentWriter'] & {
  /** maxProfileSizeBytes must be non-zero here (the server applies the hard cap for 0). */
  validation: Config['validation'];
};

/** One profile to store, as the distributor hands it over. */
export interface ProfileInput {
  tenant: string;
  /** Validated, sorted request labels (service_name present). */
  labels: Labels;
  profile: Uint8Array;
  profileId: Uint8Array;
  shard: number;
  /** Used when the pprof carries no time (ns since epoch). */
  defaultTimeNanos: bigint;
}

const SHUTTING_DOWN: RequestOutcome = Object.freeze({ status: 503, message: 'segment writer is shutting down', reason: 'shutting_down' });

interface OpenSegment {
  id: string;
  shard: number;
  build: SegmentBuild;
  /** Per part added, in order, the resolve function of its push's promise (which never rejects). */
  waiters: ((outcome: RequestOutcome) => void)[];
  /** Set when the build failed while the segment was open. */
  failure?: Error;
}

/** A shard's segment-duration ticker: beat k is due at start + k × duration. */
interface Ticker {
  start: number;
  /** Number of the next beat. */
  beats: number;
  /** Beats in a row that found the shard idle. */
  idleBeats: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The number of a ticker's next beat: the one after `beat`, or, if that is
 * already due at `now`, the first still to come (missed beats are skipped).
 */
export function nextBeat(start: number, beat: number, now: number, duration: number): number {
  return Math.max(beat + 1, Math.floor((now - start) / duration) + 1);
}

/** Threads for -segment-writer.build-threads: -1 is one per core. */
export function buildThreads(configured: number): number {
  return configured < 0 ? os.availableParallelism() : configured;
}

export class SegmentWriter {
  private readonly open = new Map<number, OpenSegment>();
  /** Per shard with recent pushes, its segment-duration ticker. */
  private readonly tickers = new Map<number, Ticker>();
  /** Flushes and answerings under way. */
  private readonly flushing = new Set<Promise<void>>();
  /** Per shard, the flush of its newest closed segment: the next one registers after it. */
  private readonly lastFlush = new Map<number, Promise<void>>();
  private readonly nextId = monotonicFactory();
  private readonly builds: SegmentBuilds;
  private stopping = false;
  private readonly metrics;

  constructor(
    private readonly opts: SegmentWriterOptions,
    private readonly bucket: Bucket,
    private readonly registrar: BlockRegistrar,
    private readonly logger: Logger,
    registry: Registry,
    /** Where segments are built; by default as opts.buildThreads says. */
    builds?: SegmentBuilds,
  ) {
    const builderOptions = { validation: opts.validation, instanceId: opts.instanceId || os.hostname() };
    const threads = buildThreads(opts.buildThreads);
    this.builds = builds ?? (threads === 0 ? new InlineBuilds(builderOptions) : new BuildWorkerPool(threads, builderOptions, logger));
    this.metrics = {
      profiles: new Counter({ name: 'kiln_segment_writer_profiles_total', help: 'Profiles added to segments.', labelNames: ['tenant'], registers: [registry] }),
      rejected: new Counter({ name: 'kiln_segment_writer_rejected_profiles_total', help: 'Profiles rejected by validation, by reason.', labelNames: ['reason'], registers: [registry] }),
      segments: new Counter({ name: 'kiln_segment_writer_segments_total', help: 'Segments flushed, by status (success, failed).', labelNames: ['status'], registers: [registry] }),
      segmentBytes: new Histogram({ name: 'kiln_segment_writer_segment_size_bytes', help: 'Size of uploaded segment objects.', buckets: [1e3, 1e4, 1e5, 1e6, 1e7, 1e8], registers: [registry] }),
      flushSeconds: new Histogram({ name: 'kiln_segment_writer_flush_duration_seconds', help: 'Time to encode, upload and register a segment.', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }),
      retries: new Counter({ name: 'kiln_segment_writer_upload_retries_total', help: 'Retried segment uploads and registrations.', registers: [registry] }),
      openSegments: new Gauge({ name: 'kiln_segment_writer_open_segments', help: 'Segments collecting profiles.', registers: [registry] }),
    };
  }

  /**
   * Stores the profiles of several client requests (the Push RPC's batch):
   * one outcome per request, see pushRequest.
   */
  push(requests: readonly (readonly ProfileInput[])[]): Promise<RequestOutcome[]> {
    const receivedAtMs = Date.now();
    return Promise.all(requests.map((inputs) => this.pushRequest(inputs, receivedAtMs)));
  }

  /**
   * Stores the profiles of one client request, all or nothing: a rejected
   * profile stores none of its request. Resolves with the request's outcome
   * once every segment holding its profiles is uploaded and registered.
   *
   * A request whose profiles all go to one shard (every /ingest request) is
   * validated by its segment's builder. A request spanning shards is validated
   * here first, whole, and only then split into its segments: validation is a
   * pure function of the request and its receive time, so the builders accept
   * what was accepted here, and no shard stores part of a rejected request.
   */
  pushRequest(inputs: readonly ProfileInput[], receivedAtMs = Date.now()): Promise<RequestOutcome> {
    if (this.stopping) return Promise.resolve(SHUTTING_DOWN);
    if (inputs.length === 0) return Promise.resolve(ACCEPTED);
    if (!spansShards(inputs)) return this.add(inputs[0]!.shard, requestPart(inputs, receivedAtMs));
    return this.pushAcrossShards(inputs, receivedAtMs);
  }

  private async pushAcrossShards(inputs: readonly ProfileInput[], receivedAtMs: number): Promise<RequestOutcome> {
    const rejection = await validatePart(requestPart(inputs, receivedAtMs), this.opts.validation);
    if (rejection.status !== 0) {
      this.metrics.rejected.inc({ reason: rejection.reason });
      return rejection;
    }
    // Stopping began during validation: its flush is under way, no segment may open now.
    if (this.stopping) return SHUTTING_DOWN;
    const shards = new Map<number, ProfileInput[]>();
    for (const input of inputs) {
      const same = shards.get(input.shard);
      if (same) same.push(input);
      else shards.set(input.shard, [input]);
    }
    const all = await Promise.all([...shards].map(([shard, part]) => this.add(shard, requestPart(part, receivedAtMs))));
    return all.find((o) => o.status !== 0) ?? all[0]!;
  }

  /** Stops taking pushes, flushes every open segment, waits for all uploads, stops the builders. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const ticker of this.tickers.values()) clearTimeout(ticker.timer);
    this.tickers.clear();
    for (const seg of [...this.open.values()]) this.startFlush(seg);
    while (this.flushing.size > 0) await Promise.allSettled([...this.flushing]);
    await this.builds.close();
  }

  private add(shard: number, part: RequestPart): Promise<RequestOutcome> {
    const seg = this.segmentFor(shard);
    seg.build.add(part);
    return new Promise((resolve) => seg.waiters.push(resolve));
  }

  private segmentFor(shard: number): OpenSegment {
    const existing = this.open.get(shard);
    if (existing) return existing;
    const id = this.nextId();
    const seg: OpenSegment = { id, shard, build: undefined as unknown as SegmentBuild, waiters: [] };
    seg.build = this.builds.start(id, shard, (e) => {
      // The builder is gone: close the segment now, so new pushes open a fresh one.
      seg.failure = e;
      this.startFlush(seg);
    });
    if (!this.tickers.has(shard)) {
      const ticker: Ticker = { start: performance.now(), beats: 0, idleBeats: 0, timer: undefined };
      this.tickers.set(shard, ticker);
      this.scheduleBeat(shard, ticker);
    }
    this.open.set(shard, seg);
    this.metrics.openSegments.set(this.open.size);
    return seg;
  }

  /** A beat of the shard's ticker: closes its open segment. */
  private tick(shard: number): void {
    const ticker = this.tickers.get(shard)!;
    const seg = this.open.get(shard);
    // A shard idle for two beats in a row (nothing open, nothing being stored)
    // stops ticking until its next push. One idle beat is normal under load: it
    // falls between a flush's answers and its clients' next pushes, and a new
    // ticker would make those wait a whole duration.
    ticker.idleBeats = seg || this.lastFlush.has(shard) ? 0 : ticker.idleBeats + 1;
    if (ticker.idleBeats >= 2) {
      this.tickers.delete(shard);
      return;
    }
    this.scheduleBeat(shard, ticker);
    if (seg) this.startFlush(seg);
  }

  /**
   * Schedules the ticker's next beat on its grid (start + k × duration), as Go's
   * time.Ticker does, not a duration after this one ran: under load the event
   * loop runs a beat late (it was answering the last segment and reading the
   * next pushes), and with setInterval every such delay pushed all later beats
   * back (under the ingest benchmark beats ran 50–450 ms late). Beats missed
   * entirely are skipped.
   */
  private scheduleBeat(shard: number, ticker: Ticker): void {
    const now = performance.now();
    ticker.beats = nextBeat(ticker.start, ticker.beats, now, this.opts.segmentDuration);
    ticker.timer = setTimeout(() => this.tick(shard), ticker.start + ticker.beats * this.opts.segmentDuration - now);
  }

  private startFlush(seg: OpenSegment): void {
    if (this.open.get(seg.shard) !== seg) return;
    this.open.delete(seg.shard);
    this.metrics.openSegments.set(this.open.size);
    const previous = this.lastFlush.get(seg.shard);
    const f = this.flush(seg, previous).finally(() => {
      this.flushing.delete(f);
      if (this.lastFlush.get(seg.shard) === f) this.lastFlush.delete(seg.shard);
    });
    this.flushing.add(f);
    this.lastFlush.set(seg.shard, f);
  }

  /** Builds, uploads and registers a segment (after `previous`, the shard's segment before it), then answers its pushes. Never rejects. */
  private async flush(seg: OpenSegment, previous: Promise<void> | undefined): Promise<void> {
    const stopTimer = this.metrics.flushSeconds.startTimer();
    const key = segmentPath(seg.shard, seg.id);
    let built: BuiltSegment | undefined;
    let uploaded = false;
    try {
      built = await seg.build.finish();
      for (const [tenant, n] of built.acceptedProfiles) this.metrics.profiles.inc({ tenant }, n);
      for (const [reason, n] of built.rejectedRequests) this.metrics.rejected.inc({ reason }, n);
      const block = built.block;
      if (block) {
        await this.retry('upload', () => withTimeout(this.bucket.put(key, block.bytes), this.opts.uploadTimeout, 'upload'));
        uploaded = true;
      }
      // The compaction planner and the metrics observer rely on a shard's blocks being registered in ULID order.
      await previous;
      if (block) {
        await this.retry('register', () => withTimeout(this.registrar.addBlock(block.meta), this.opts.uploadTimeout, 'registration'));
        this.metrics.segments.inc({ status: 'success' });
        this.metrics.segmentBytes.observe(block.bytes.length);
        this.logger.debug({ block: seg.id, shard: seg.shard, bytes: block.bytes.length, datasets: block.meta.datasets.length }, 'segment flushed');
      }
      this.answer(seg, (i) => built!.outcomes[i]!);
    } catch (e) {
      // Even a failed segment holds back its successor until the one before it is registered.
      await previous;
      this.metrics.segments.inc({ status: 'failed' });
      this.logger.error({ block: seg.id, shard: seg.shard, err: (e as Error).message }, 'segment flush failed; its pushes are answered with an error');
      // An uploaded but unregistered object is invisible to readers; remove it so nothing is half-registered.
      if (uploaded) await this.bucket.delete(key).catch(() => undefined);
      const failed: RequestOutcome = { status: 503, message: `failed to store segment ${seg.id}: ${(e as Error).message}`, reason: 'segment_flush_failed' };
      // Rejected requests keep their 4xx: they would not have been stored anyway.
      this.answer(seg, (i) => {
        const o = built?.outcomes[i];
        return o && o.status !== 0 ? o : failed;
      });
    } finally {
      stopTimer();
    }
  }

  /** Answers the segment's pushes (see answerInBatches); stop() waits for it like a flush. Not awaited by flush: the next segment's registration need not wait for it. */
  private answer(seg: OpenSegment, outcome: (i: number) => RequestOutcome): void {
    const a = answerInBatches(seg.waiters, outcome).finally(() => this.flushing.delete(a));
    this.flushing.add(a);
  }

  private async retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (attempt >= this.opts.uploadMaxRetries) throw e;
        this.metrics.retries.inc();
        this.logger.warn({ what, attempt: attempt + 1, err: (e as Error).message }, 'segment store attempt failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(500, 50 * 2 ** attempt)));
      }
    }
  }
}

/** Pushes answered per turn of the event loop, see answerInBatches. */
const ANSWER_BATCH = 256;

/**
 * Answers a segment's pushes, ANSWER_BATCH per turn of the event loop. All at
 * once, the main thread spent 100–160 ms writing a large segment's answers
 * before it read any of the pushes those clients sent next, while the build
 * workers, which had finished the segment, sat idle; in batches the next
 * pushes are read, and built, while the rest are answered.
 */
function answerInBatches(waiters: readonly ((o: RequestOutcome) => void)[], outcome: (i: number) => RequestOutcome): Promise<void> {
  return new Promise((done) => {
    let i = 0;
    const batch = () => {
      const end = Math.min(i + ANSWER_BATCH, waiters.length);
      for (; i < end; i++) waiters[i]!(outcome(i));
      if (i < waiters.length) setImmediate(batch);
      else done();
    };
    batch();
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms <= 0) return p;
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms}ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function spansShards(inputs: readonly ProfileInput[]): boolean {
  for (let i = 1; i < inputs.length; i++) if (inputs[i]!.shard !== inputs[0]!.shard) return true;
  return false;
}

function requestPart(inputs: readonly ProfileInput[], receivedAtMs: number): RequestPart {
  return {
    tenant: inputs[0]!.tenant,
    receivedAtMs,
    profiles: inputs.map((input) => ({ labels: input.labels, bytes: input.profile, profileId: input.profileId, defaultTimeNanos: input.defaultTimeNanos })),
  };
}

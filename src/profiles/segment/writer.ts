// The segment writer: collects validated profiles per shard into an open
// segment, and every segment-duration writes the segment as one block object,
// registers it with the metastore, and only then acknowledges the pushes it
// holds (DESIGN.md invariant 1: ack means durable).

import os from 'node:os';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { monotonicFactory } from 'ulid';
import type { Config } from '../../config/config.js';
import type { BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import type { Bucket } from '../../objstore/bucket.js';
import type { Labels } from '../block/model.js';
import { segmentPath } from '../block/paths.js';
import { encodeBlock } from '../block/writer.js';
import { PprofDecodeError, PprofLimitError, decodePprof } from '../pprof/decode.js';
import { DecompressedTooLargeError, maybeGunzip } from '../pprof/gzip.js';
import type { DecodedProfile } from '../pprof/profile.js';
import { DatasetHead, type RowMeta } from './head.js';
import { type SeriesPlan, planSeries } from './series.js';

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

/** The profile was rejected; nothing of the request was stored. `reason` is for metrics. */
export class ProfileRejectedError extends Error {
  constructor(
    message: string,
    readonly reason: string,
    /** HTTP status the edge should answer. */
    readonly status = 400,
  ) {
    super(message);
    this.name = 'ProfileRejectedError';
  }
}

/** The segment holding the profile could not be stored; the client should retry. */
export class SegmentFlushError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SegmentFlushError';
  }
}

/** The outcome of one client request: status 0 = durable, else the HTTP status to answer. */
export interface RequestOutcome {
  status: number;
  message: string;
  reason: string;
}

export class ShuttingDownError extends Error {
  constructor() {
    super('segment writer is shutting down');
    this.name = 'ShuttingDownError';
  }
}

interface Prepared {
  input: ProfileInput;
  service: string;
  profile: DecodedProfile;
  plan: SeriesPlan;
  meta: RowMeta;
}

interface OpenSegment {
  id: string;
  shard: number;
  heads: Map<string, DatasetHead>;
  done: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

const labelsText = (labels: Labels) => `{${labels.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(', ')}}`;

export class SegmentWriter {
  private readonly open = new Map<number, OpenSegment>();
  private readonly flushing = new Set<Promise<void>>();
  private readonly nextId = monotonicFactory();
  private readonly instanceId: string;
  private stopping = false;
  private readonly metrics;

  constructor(
    private readonly opts: SegmentWriterOptions,
    private readonly bucket: Bucket,
    private readonly registrar: BlockRegistrar,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.instanceId = opts.instanceId || os.hostname();
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
   * Stores the profiles of several client requests. Each request is all or
   * nothing: its profiles are decoded and validated first, and a rejection
   * stores none of them. Resolves with one outcome per request once every
   * accepted request's segments are uploaded and registered.
   */
  async push(requests: ProfileInput[][]): Promise<RequestOutcome[]> {
    const outcomes: RequestOutcome[] = requests.map(() => ({ status: 0, message: '', reason: '' }));
    const waits: Promise<void>[][] = requests.map(() => []);
    for (let r = 0; r < requests.length; r++) {
      if (this.stopping) {
        outcomes[r] = { status: 503, message: new ShuttingDownError().message, reason: 'shutting_down' };
        continue;
      }
      try {
        const prepared: Prepared[] = [];
        for (const input of requests[r]!) prepared.push(await this.prepare(input));
        for (const p of new Set(prepared.map((p) => this.add(p)))) waits[r]!.push(p);
      } catch (e) {
        if (!(e instanceof ProfileRejectedError)) throw e;
        outcomes[r] = { status: e.status, message: e.message, reason: e.reason };
      }
    }
    await Promise.all(
      waits.map(async (w, r) => {
        try {
          await Promise.all(w);
        } catch (e) {
          outcomes[r] = { status: 503, message: (e as Error).message, reason: 'segment_flush_failed' };
        }
      }),
    );
    return outcomes;
  }

  /** Stops taking pushes, flushes every open segment, waits for all uploads. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const seg of [...this.open.values()]) this.startFlush(seg);
    while (this.flushing.size > 0) await Promise.allSettled([...this.flushing]);
  }

  private async prepare(input: ProfileInput): Promise<Prepared> {
    const v = this.opts.validation;
    const reject = (message: string, reason: string, status = 400): never => {
      this.metrics.rejected.inc({ reason });
      throw new ProfileRejectedError(message, reason, status);
    };
    let raw: Uint8Array;
    try {
      raw = await maybeGunzip(input.profile, v.maxProfileSizeBytes);
    } catch (e) {
      const err = e as Error;
      if (err instanceof DecompressedTooLargeError) {
        return reject(`the profile with labels '${labelsText(input.labels)}' exceeds the size limit (max_profile_size_byte, limit: ${v.maxProfileSizeBytes}) (err-kiln-profile-size-limit)`, 'profile_size_limit', 413);
      }
      return reject(`malformed profile: ${err.message}`, 'malformed_profile');
    }
    let profile: DecodedProfile;
    try {
      profile = decodePprof(raw, {
        maxSamples: v.maxProfileStacktraceSamples,
        maxSampleLabels: v.maxProfileStacktraceSampleLabels,
        maxStackDepth: v.maxProfileStacktraceDepth,
        maxSymbolLength: v.maxProfileSymbolValueLength,
        maxStrings: v.maxProfileStrings,
        maxLocations: v.maxProfileLocations,
      });
    } catch (e) {
      if (e instanceof PprofLimitError) {
        const [what, flag] = e.reason === 'samples_limit'
          ? ['samples count limit', 'max_profile_stacktrace_samples']
          : ['sample labels limit', 'max_profile_stacktrace_sample_labels'];
        return reject(`the profile with labels '${labelsText(input.labels)}' exceeds the ${what} (${flag}, actual: ${e.actual}, limit: ${e.limit}) (err-kiln-${e.reason.replaceAll('_', '-')})`, e.reason);
      }
      if (e instanceof PprofDecodeError) return reject(`malformed profile: ${e.message}`, 'malformed_profile');
      throw e;
    }
    for (const t of profile.sampleTypeType) {
      if (profile.strings[t]!.includes('-')) reject(`malformed profile: sample type "${profile.strings[t]}" contains -`, 'malformed_profile');
    }

    // Profiles without a time (or with one in 1970, a common SDK bug) take the request's.
    let timeNanos = profile.timeNanos;
    if (timeNanos < 31_536_000_000_000_000n) timeNanos = input.defaultTimeNanos;
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const timeText = () => new Date(Number(timeNanos / 1_000_000n)).toISOString();
    if (v.rejectOlderThan > 0 && timeNanos < nowNs - BigInt(v.rejectOlderThan) * 1_000_000n) {
      reject(`profile with labels '${labelsText(input.labels)}' is outside of the ingestion window: its timestamp ${timeText()} is older than ${v.rejectOlderThan / 1000}s (err-kiln-profile-too-old). To adjust the related limit, configure -validation.reject-older-than, or contact your service administrator.`, 'not_in_time_range');
    }
    if (v.rejectNewerThan > 0 && timeNanos > nowNs + BigInt(v.rejectNewerThan) * 1_000_000n) {
      reject(`profile with labels '${labelsText(input.labels)}' is outside of the ingestion window: its timestamp ${timeText()} is more than ${v.rejectNewerThan / 1000}s in the future (err-kiln-profile-too-new). To adjust the related limit, configure -validation.reject-newer-than, or contact your service administrator.`, 'not_in_time_range');
    }

    const service = input.labels.find(([n]) => n === 'service_name')?.[1] ?? 'unknown_service';
    return { input, service, profile, plan: planSeries(profile, input.labels), meta: { profileId: input.profileId, timeNanos } };
  }

  private add(p: Prepared): Promise<void> {
    const seg = this.segmentFor(p.input.shard);
    const key = `${p.input.tenant}\u0000${p.service}`;
    let head = seg.heads.get(key);
    if (!head) seg.heads.set(key, (head = new DatasetHead(p.input.tenant, p.service)));
    head.append(p.profile, p.plan, p.meta);
    this.metrics.profiles.inc({ tenant: p.input.tenant });
    return seg.done;
  }

  private segmentFor(shard: number): OpenSegment {
    const existing = this.open.get(shard);
    if (existing) return existing;
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Waiters attach later; never let a failed segment become an unhandled rejection.
    done.catch(() => undefined);
    const seg: OpenSegment = { id: this.nextId(), shard, heads: new Map(), done, resolve, reject, timer: undefined as unknown as NodeJS.Timeout };
    seg.timer = setTimeout(() => this.startFlush(seg), this.opts.segmentDuration);
    this.open.set(shard, seg);
    this.metrics.openSegments.set(this.open.size);
    return seg;
  }

  private startFlush(seg: OpenSegment): void {
    if (this.open.get(seg.shard) !== seg) return;
    this.open.delete(seg.shard);
    this.metrics.openSegments.set(this.open.size);
    clearTimeout(seg.timer);
    const f = this.flush(seg).finally(() => this.flushing.delete(f));
    this.flushing.add(f);
  }

  private async flush(seg: OpenSegment): Promise<void> {
    const stopTimer = this.metrics.flushSeconds.startTimer();
    const key = segmentPath(seg.shard, seg.id);
    let uploaded = false;
    try {
      const datasets = [...seg.heads.values()].map((h) => h.content());
      const { bytes, meta } = await encodeBlock({ id: seg.id, shard: seg.shard, compactionLevel: 0, createdBy: this.instanceId }, datasets);
      await this.retry('upload', () => withTimeout(this.bucket.put(key, bytes), this.opts.uploadTimeout, 'upload'));
      uploaded = true;
      await this.retry('register', () => withTimeout(this.registrar.addBlock(meta), this.opts.uploadTimeout, 'registration'));
      this.metrics.segments.inc({ status: 'success' });
      this.metrics.segmentBytes.observe(bytes.length);
      this.logger.debug({ block: seg.id, shard: seg.shard, bytes: bytes.length, datasets: datasets.length }, 'segment flushed');
      seg.resolve();
    } catch (e) {
      this.metrics.segments.inc({ status: 'failed' });
      this.logger.error({ block: seg.id, shard: seg.shard, err: (e as Error).message }, 'segment flush failed; its pushes are answered with an error');
      // An uploaded but unregistered object is invisible to readers; remove it so nothing is half-registered.
      if (uploaded) await this.bucket.delete(key).catch(() => undefined);
      seg.reject(new SegmentFlushError(`failed to store segment ${seg.id}: ${(e as Error).message}`));
    } finally {
      stopTimer();
    }
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

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms <= 0) return p;
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms}ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

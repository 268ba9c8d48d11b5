// The distributor: the edge of the write path. It resolves the tenant,
// validates and normalises labels, decompresses profiles under a size cap,
// applies the tenant's ingestion rate and this process's in-flight limit,
// picks a shard per (tenant, service_name), and hands the whole request to
// the segment writer, which answers once the profiles are durable.

import { randomFillSync } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DecompressedTooLargeError, GzipError, gunzipBounded, gzipDeclaredSize, isGzip } from '../pprof/gzip.js';
import { profileTooLargeMessage } from '../segment/segment-builder.js';
import type { ProfileInput, RequestOutcome } from '../segment/writer.js';
import { IngestError, asIngestError } from './errors.js';
import { type LabelLimits, type LabelList, SERVICE_NAME, getLabel, normaliseLabels } from './labels.js';
import { TenantRateLimiter } from './rate-limit.js';
import { shardFor } from './shard.js';

export interface DistributorOptions {
  labelLimits: LabelLimits;
  numShards: number;
  ingestionRateLimitMb: number;
  ingestionBurstSizeMb: number;
  maxInflightBytes: number;
  maxProfileSizeBytes: number;
}

/**
 * Where the distributor sends a request's profiles: the segment writer of
 * this process, or a remote one over its Push RPC (writer-batcher.ts).
 * Resolves with the request's outcome once it is durable or rejected.
 */
export interface SegmentWriterClient {
  push(profiles: ProfileInput[]): Promise<RequestOutcome>;
}

/** One series of a push: its labels and the raw profiles (pprof, gzip or not). */
export interface SeriesToPush {
  labels: readonly (readonly [string, string])[];
  profiles: { bytes: Uint8Array; id?: string }[];
}

const MiB = 1024 * 1024;

/** Label sets remembered per distributor; past this the memo starts over. */
const SERIES_MEMO_SIZE = 10_000;

/** A validated series: its normalised labels and shard. */
interface KnownSeries {
  labels: LabelList;
  shard: number;
}

/** What a request weighs, for the metrics and the in-flight limit. */
interface RequestSize {
  profiles: number;
  bytes: number;
  /** Counted in the in-flight totals (until the writer answers). */
  admitted: boolean;
}

export class Distributor {
  private readonly limiter: TenantRateLimiter;
  private inflightBytes = 0;
  private inflightRequests = 0;
  private stopping = false;
  private readonly metrics;
  /**
   * (tenant, client labels) → normalised labels and shard. SDKs push the same
   * few series again and again; normalising, validating and hashing them
   * every time cost more than the rest of a small push on this thread. Only
   * valid label sets are remembered, so every rejection is computed afresh.
   */
  private readonly knownSeries = new Map<string, KnownSeries>();

  constructor(
    private readonly opts: DistributorOptions,
    private readonly writer: SegmentWriterClient,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.limiter = new TenantRateLimiter(opts.ingestionRateLimitMb * MiB, opts.ingestionBurstSizeMb * MiB);
    // Set when scraped: no work per push.
    const inflight: Gauge = new Gauge({ name: 'kiln_distributor_inflight_push_requests', help: 'Pushes being stored (admitted, not yet answered).', registers: [registry], collect: () => inflight.set(this.inflightRequests) });
    const inflightBytes: Gauge = new Gauge({ name: 'kiln_distributor_inflight_push_requests_bytes', help: 'Decompressed bytes of the pushes being stored (-distributor.max-inflight-bytes caps it).', registers: [registry], collect: () => inflightBytes.set(this.inflightBytes) });
    this.metrics = {
      received: new Counter({ name: 'kiln_distributor_received_profiles_total', help: 'Profiles received.', labelNames: ['tenant'], registers: [registry] }),
      receivedBytes: new Counter({ name: 'kiln_distributor_received_decompressed_bytes_total', help: 'Decompressed bytes of received profiles.', labelNames: ['tenant'], registers: [registry] }),
      discarded: new Counter({ name: 'kiln_discarded_profiles_total', help: 'Profiles rejected, by reason.', labelNames: ['reason', 'tenant'], registers: [registry] }),
      pushSeconds: new Histogram({ name: 'kiln_distributor_push_duration_seconds', help: 'Time from receiving a push to its durable acknowledgement.', labelNames: ['status'], buckets: [0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30], registers: [registry] }),
    };
  }

  /** After this, pushes are answered 503 so clients retry elsewhere or later. */
  stopAccepting(): void {
    this.stopping = true;
  }

  /**
   * Validates and stores one request; resolves once it is durable. Rejects
   * with IngestError (status + message); nothing is stored when the request
   * is rejected.
   *
   * No async functions here: a push waits for its segment for hundreds of
   * milliseconds, and an async frame (or each promise adopting another)
   * would keep the request's bytes and labels alive, and copied by every
   * young-generation GC, all that time. What waits is the writer's promise
   * and one reaction holding the request's size and tenant.
   */
  push(tenant: string, series: SeriesToPush[], defaultTimeNanos: bigint): Promise<void> {
    const started = performance.now();
    const size: RequestSize = { profiles: 0, bytes: 0, admitted: false };
    let stored: Promise<RequestOutcome>;
    try {
      stored = this.store(tenant, series, defaultTimeNanos, size);
    } catch (e) {
      stored = Promise.reject(e);
    }
    return stored.then(
      (outcome) => {
        this.release(size);
        if (outcome.status !== 0) throw this.rejected(new IngestError(outcome.status, outcome.message, outcome.reason), tenant, size, started);
        this.metrics.received.inc({ tenant }, size.profiles);
        this.metrics.receivedBytes.inc({ tenant }, size.bytes);
        this.metrics.pushSeconds.observe({ status: '2xx' }, (performance.now() - started) / 1000);
      },
      (e: unknown) => {
        // Once admitted, only the writer's RPC can fail; before, the checks throw IngestError.
        const err = size.admitted ? fromWriterError(e) : asIngestError(e);
        this.release(size);
        throw this.rejected(err, tenant, size, started);
      },
    );
  }

  /** Counts and logs a rejected push; returns its error. */
  private rejected(err: IngestError, tenant: string, size: RequestSize, started: number): IngestError {
    this.metrics.discarded.inc({ reason: err.reason, tenant }, Math.max(1, size.profiles));
    this.metrics.pushSeconds.observe({ status: String(err.status) }, (performance.now() - started) / 1000);
    if (err.status >= 500) this.logger.error({ tenant, err: err.message }, 'push failed');
    else this.logger.debug({ tenant, status: err.status, err: err.message }, 'push rejected');
    return err;
  }

  /** Takes an admitted request out of the in-flight totals. */
  private release(size: RequestSize): void {
    if (!size.admitted) return;
    size.admitted = false;
    this.inflightBytes -= size.bytes;
    this.inflightRequests--;
  }

  /**
   * Checks the request and hands it to the segment writer; returns the
   * writer's promise. Throws IngestError when a check fails (or rejects with
   * it, when a profile had to be inflated to learn its size).
   */
  private store(tenant: string, series: SeriesToPush[], defaultTimeNanos: bigint, size: RequestSize): Promise<RequestOutcome> {
    if (this.stopping) throw new IngestError(503, 'server is shutting down', 'shutting_down');
    const inputs: ProfileInput[] = [];
    /** Profiles whose size only inflating can tell, with their labels. */
    let unsized: [Uint8Array, LabelList][] | undefined;
    for (const s of series) {
      const { labels, shard } = this.knownSeriesOf(tenant, s.labels);
      for (const p of s.profiles) {
        size.profiles++;
        const claimed = this.claimedSize(p.bytes, labels);
        if (claimed >= 0) size.bytes += claimed;
        else (unsized ??= []).push([p.bytes, labels]);
        inputs.push({ tenant, labels, profile: p.bytes, profileId: profileIdBytes(p.id), shard, defaultTimeNanos });
      }
    }
    if (size.profiles === 0) throw new IngestError(400, 'no profiles in request', 'invalid_request');
    if (!unsized) return this.admit(tenant, inputs, size);
    return (async () => {
      for (const [bytes, labels] of unsized) size.bytes += await this.inflatedSize(bytes, labels);
      return this.admit(tenant, inputs, size);
    })();
  }

  /** Applies the rate and in-flight limits, then hands the request to the writer. */
  private admit(tenant: string, inputs: ProfileInput[], size: RequestSize): Promise<RequestOutcome> {
    const bytes = size.bytes;
    const wait = this.limiter.take(tenant, bytes);
    if (wait > 0) {
      const rate = this.opts.ingestionRateLimitMb;
      const err = new IngestError(429, `push rate limit (${rate} MiB/s) exceeded while adding ${(bytes / MiB).toFixed(2)} MiB (err-kiln-tenant-max-ingestion-rate). To adjust the related limit, configure -distributor.ingestion-rate-limit-mb and -distributor.ingestion-burst-size-mb, or contact your service administrator.`, 'rate_limited');
      (err as IngestError & { retryAfterSeconds?: number }).retryAfterSeconds = Number.isFinite(wait) ? Math.max(1, Math.ceil(wait)) : 60;
      throw err;
    }
    if (this.opts.maxInflightBytes > 0 && this.inflightBytes + bytes > this.opts.maxInflightBytes && this.inflightBytes > 0) {
      const err = new IngestError(429, `too many in-flight push bytes in this distributor (limit ${this.opts.maxInflightBytes}) (err-kiln-distributor-max-inflight-push-requests-bytes)`, 'inflight_limit');
      (err as IngestError & { retryAfterSeconds?: number }).retryAfterSeconds = 1;
      throw err;
    }
    this.inflightBytes += bytes;
    this.inflightRequests++;
    size.admitted = true;
    return this.writer.push(inputs);
  }

  /** The normalised labels and shard of a client label set; throws IngestError for invalid labels. */
  private knownSeriesOf(tenant: string, labels: SeriesToPush['labels']): KnownSeries {
    // Lengths make the key unambiguous whatever characters names and values hold.
    let key = `${tenant.length}:${tenant}`;
    for (const [name, value] of labels) key += `${name.length}:${name}${value.length}:${value}`;
    let known = this.knownSeries.get(key);
    if (known === undefined) {
      const normalised = normaliseLabels(labels, this.opts.labelLimits);
      known = { labels: normalised, shard: shardFor(tenant, getLabel(normalised, SERVICE_NAME)!, this.opts.numShards) };
      if (this.knownSeries.size >= SERIES_MEMO_SIZE) this.knownSeries.clear();
      this.knownSeries.set(key, known);
    }
    return known;
  }

  /**
   * The decompressed size of a profile, for the size, rate and in-flight
   * limits; -1 when only inflating can tell. A gzipped profile is gunzipped
   * later, in a segment build worker, which rejects it unless it inflates to
   * exactly what its trailer declares (ISIZE, which zlib verifies).
   */
  private claimedSize(bytes: Uint8Array, labels: LabelList): number {
    const max = this.opts.maxProfileSizeBytes;
    if (!isGzip(bytes)) {
      if (bytes.length > max) throw new IngestError(413, profileTooLargeMessage(labels, max, false), 'profile_size_limit');
      return bytes.length;
    }
    const declared = gzipDeclaredSize(bytes);
    return declared >= 0 && declared <= max ? declared : -1;
  }

  /**
   * A gzip whose trailer declares more than the limit (or none): a bomb, or
   * corrupt data. Inflating it, bounded, tells which; either way it is rejected
   * here or, should it fit after all (concatenated members), by its builder.
   */
  private async inflatedSize(bytes: Uint8Array, labels: LabelList): Promise<number> {
    try {
      return (await gunzipBounded(bytes, this.opts.maxProfileSizeBytes)).length;
    } catch (e) {
      if (e instanceof DecompressedTooLargeError) throw new IngestError(413, profileTooLargeMessage(labels, this.opts.maxProfileSizeBytes, true), 'profile_size_limit');
      if (e instanceof GzipError) throw new IngestError(400, `malformed profile: ${e.message}`, 'malformed_profile');
      throw e;
    }
  }
}

/** Random bytes for ids, drawn 4 KiB at a time: one randomFillSync per id cost more than the rest of the id handling. */
let randomPool = new Uint8Array(0);
let randomAt = 0;

/** A RawSample.ID is a UUID string; anything else gets a random id. */
export function profileIdBytes(id: string | undefined): Uint8Array {
  const hex = id?.replaceAll('-', '') ?? '';
  if (/^[0-9a-fA-F]{32}$/.test(hex)) return Uint8Array.from(Buffer.from(hex, 'hex'));
  if (randomAt + 16 > randomPool.length) {
    randomPool = randomFillSync(new Uint8Array(4096));
    randomAt = 0;
  }
  randomAt += 16;
  // A copy: ids are kept (in segment rows) and must not pin or share the pool.
  return randomPool.slice(randomAt - 16, randomAt);
}

/** Maps a failed segment-writer RPC (not a per-request rejection) to the status the client should see. */
function fromWriterError(e: unknown): IngestError {
  const err = ConnectError.from(e);
  switch (err.code) {
    case Code.ResourceExhausted:
      return new IngestError(429, err.rawMessage, 'writer_overloaded');
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return new IngestError(503, err.rawMessage, 'unavailable');
    default:
      return new IngestError(500, err.rawMessage, 'internal');
  }
}

// The distributor: the edge of the write path. It resolves the tenant,
// validates and normalises labels, decompresses profiles under a size cap,
// applies the tenant's ingestion rate and this process's in-flight limit,
// picks a shard per (tenant, service_name), and hands the whole request to
// the segment writer, which answers once the profiles are durable.

import { randomFillSync } from 'node:crypto';
import { Code, ConnectError } from '@connectrpc/connect';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { create } from '@bufbuild/protobuf';
import { PushRequestSchema, type PushRequest as WriterPushRequest, type PushResponse as WriterPushResponse } from '../../gen/segmentwriter/v1/push_pb.js';
import { DecompressedTooLargeError, GzipError, maybeGunzip } from '../pprof/gzip.js';
import { IngestError } from './errors.js';
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

/** Where the distributor sends profiles: the segment writer's Push RPC (batched, see writer-batcher.ts). */
export interface SegmentWriterClient {
  push(req: WriterPushRequest): Promise<WriterPushResponse>;
}

/** One series of a push: its labels and the raw profiles (pprof, gzip or not). */
export interface SeriesToPush {
  labels: readonly (readonly [string, string])[];
  profiles: { bytes: Uint8Array; id?: string }[];
}

const MiB = 1024 * 1024;

export class Distributor {
  private readonly limiter: TenantRateLimiter;
  private inflightBytes = 0;
  private stopping = false;
  private readonly metrics;

  constructor(
    private readonly opts: DistributorOptions,
    private readonly writer: SegmentWriterClient,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.limiter = new TenantRateLimiter(opts.ingestionRateLimitMb * MiB, opts.ingestionBurstSizeMb * MiB);
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
   * Validates and stores one request. Throws IngestError (status + message);
   * nothing is stored when it throws before the segment writer accepted.
   */
  async push(tenant: string, series: SeriesToPush[], defaultTimeNanos: bigint): Promise<void> {
    const stop = this.metrics.pushSeconds.startTimer();
    let profiles = 0;
    try {
      if (this.stopping) throw new IngestError(503, 'server is shutting down', 'shutting_down');
      const req = create(PushRequestSchema, {});
      const prepared: { labels: LabelList; bytes: Uint8Array; id: Uint8Array; shard: number }[] = [];
      let bytes = 0;
      for (const s of series) {
        const labels = normaliseLabels(s.labels, this.opts.labelLimits);
        const shard = shardFor(tenant, getLabel(labels, SERVICE_NAME)!, this.opts.numShards);
        for (const p of s.profiles) {
          profiles++;
          const raw = await this.decompress(p.bytes, labels);
          bytes += raw.length;
          prepared.push({ labels, bytes: raw, id: profileIdBytes(p.id), shard });
        }
      }
      if (profiles === 0) throw new IngestError(400, 'no profiles in request', 'invalid_request');
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
      const defaultTime = defaultTimeNanos;
      for (const p of prepared) {
        req.profiles.push({
          $typeName: 'segmentwriter.v1.ProfileToWrite',
          tenantId: tenant,
          labels: p.labels.map(([name, value]) => ({ $typeName: 'types.v1.LabelPair', name, value })),
          profile: p.bytes,
          profileId: p.id,
          shard: p.shard,
          defaultTimeNanos: defaultTime,
          request: 0,
        });
      }
      this.inflightBytes += bytes;
      let result;
      try {
        result = (await this.writer.push(req)).results[0];
      } catch (e) {
        throw fromWriterError(e);
      } finally {
        this.inflightBytes -= bytes;
      }
      if (!result) throw new IngestError(500, 'segment writer returned no result for the request', 'internal');
      if (result.status !== 0) throw new IngestError(result.status, result.message, result.reason);
      this.metrics.received.inc({ tenant }, profiles);
      this.metrics.receivedBytes.inc({ tenant }, bytes);
      stop({ status: '2xx' });
    } catch (e) {
      const err = e instanceof IngestError ? e : new IngestError(500, (e as Error).message, 'internal');
      this.metrics.discarded.inc({ reason: err.reason, tenant }, Math.max(1, profiles));
      stop({ status: String(err.status) });
      if (err.status >= 500) this.logger.error({ tenant, err: err.message }, 'push failed');
      else this.logger.debug({ tenant, status: err.status, err: err.message }, 'push rejected');
      throw err;
    }
  }

  private async decompress(bytes: Uint8Array, labels: LabelList): Promise<Uint8Array> {
    try {
      return await maybeGunzip(bytes, this.opts.maxProfileSizeBytes);
    } catch (e) {
      if (e instanceof DecompressedTooLargeError) {
        const shown = `{${labels.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(', ')}}`;
        throw new IngestError(413, `the profile with labels '${shown}' exceeds the size limit (max_profile_size_byte, limit: ${this.opts.maxProfileSizeBytes}) (err-kiln-profile-size-limit). To adjust the related limit, configure -validation.max-profile-size-bytes, or contact your service administrator.`, 'profile_size_limit');
      }
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

// Coalesces the pushes that arrive within a few milliseconds (10 ms in `kiln serve`) into one
// Push RPC to a remote segment writer. Pushes wait for their segment (hundreds of ms) anyway, and
// one call per push cost more than half the CPU of ingesting a small profile.
// Each push keeps its own outcome: the writer answers one per request.

import { create } from '@bufbuild/protobuf';
import { type PushRequest, PushRequestSchema, type PushResponse } from '../../gen/segmentwriter/v1/push_pb.js';
import type { ProfileInput, RequestOutcome } from '../segment/writer.js';
import type { SegmentWriterClient } from './distributor.js';

export interface BatcherOptions {
  /** A batch is sent once it holds this many profile bytes… */
  maxBatchBytes: number;
  /** …or this long after its first push. */
  windowMs: number;
}

/** The segment writer's Push RPC. */
export interface SegmentWriterRpc {
  push(req: PushRequest): Promise<PushResponse>;
}

interface Pending {
  profiles: ProfileInput[];
  resolve: (o: RequestOutcome) => void;
  reject: (e: unknown) => void;
}

export class BatchingWriterClient implements SegmentWriterClient {
  private pending: Pending[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly rpc: SegmentWriterRpc,
    private readonly opts: BatcherOptions,
  ) {}

  push(profiles: ProfileInput[]): Promise<RequestOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ profiles, resolve, reject });
      for (const p of profiles) this.bytes += p.profile.length;
      if (this.bytes >= this.opts.maxBatchBytes) this.send();
      else this.timer ??= setTimeout(() => this.send(), this.opts.windowMs);
    });
  }

  private send(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.bytes = 0;
    const req = create(PushRequestSchema, {});
    batch.forEach((p, request) => {
      for (const input of p.profiles) {
        req.profiles.push({
          $typeName: 'segmentwriter.v1.ProfileToWrite',
          tenantId: input.tenant,
          labels: input.labels.map(([name, value]) => ({ $typeName: 'types.v1.LabelPair', name, value })),
          profile: input.profile,
          profileId: input.profileId,
          shard: input.shard,
          defaultTimeNanos: input.defaultTimeNanos,
          request,
        });
      }
    });
    this.rpc.push(req).then(
      (res) =>
        batch.forEach((p, i) => {
          const result = res.results[i];
          if (result) p.resolve({ status: result.status, message: result.message, reason: result.reason });
          else p.reject(new Error('segment writer returned no result for the request'));
        }),
      (e: unknown) => batch.forEach((p) => p.reject(e)),
    );
  }
}

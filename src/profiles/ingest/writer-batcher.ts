// Coalesces the pushes that arrive within a few milliseconds (10 ms in `kiln serve`) into one
// segment-writer RPC. Pushes wait for their segment (hundreds of ms) anyway, and
// one call per push cost more than half the CPU of ingesting a small profile.
// Each push keeps its own result: the writer answers one per request.

import { create } from '@bufbuild/protobuf';
import { type PushRequest, PushRequestSchema, type PushResponse, PushResponseSchema } from '../../gen/segmentwriter/v1/push_pb.js';
import type { SegmentWriterClient } from './distributor.js';

export interface BatcherOptions {
  /** A batch is sent once it holds this many profile bytes… */
  maxBatchBytes: number;
  /** …or this long after its first push. */
  windowMs: number;
}

interface Pending {
  req: PushRequest;
  resolve: (r: PushResponse) => void;
  reject: (e: unknown) => void;
}

export class BatchingWriterClient implements SegmentWriterClient {
  private pending: Pending[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly rpc: SegmentWriterClient,
    private readonly opts: BatcherOptions,
  ) {}

  push(req: PushRequest): Promise<PushResponse> {
    return new Promise((resolve, reject) => {
      this.pending.push({ req, resolve, reject });
      for (const p of req.profiles) this.bytes += p.profile.length;
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
    const merged = create(PushRequestSchema, {});
    batch.forEach((p, i) => {
      for (const profile of p.req.profiles) {
        profile.request = i;
        merged.profiles.push(profile);
      }
    });
    this.rpc.push(merged).then(
      (res) =>
        batch.forEach((p, i) => {
          const result = res.results[i];
          p.resolve(create(PushResponseSchema, { results: result ? [result] : [] }));
        }),
      (e: unknown) => batch.forEach((p) => p.reject(e)),
    );
  }
}

// segmentwriter.v1.SegmentWriterService: the segment writer's RPC face, and
// the same call made directly when the distributor runs in this process.

import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { type PushRequest, type PushResponse, PushResponseSchema, SegmentWriterService } from '../../gen/segmentwriter/v1/push_pb.js';
import type { ProfileInput, SegmentWriter } from './writer.js';

/** A PushRequest's profiles, grouped by their request index. */
function requestsOf(req: PushRequest): ProfileInput[][] {
  const requests: ProfileInput[][] = [];
  for (const p of req.profiles) {
    // A batch holds requests 0..n-1; bound n by the profiles actually sent.
    if (p.request >= req.profiles.length) continue;
    (requests[p.request] ??= []).push({
      tenant: p.tenantId,
      labels: p.labels.map((l) => [l.name, l.value] as const),
      profile: p.profile,
      profileId: p.profileId,
      shard: p.shard,
      defaultTimeNanos: p.defaultTimeNanos,
    });
  }
  return Array.from(requests, (r) => r ?? []);
}

export function segmentWriterServiceImpl(writer: SegmentWriter): ServiceImpl<typeof SegmentWriterService> {
  return {
    async push(req) {
      return { results: await writer.push(requestsOf(req)) };
    },
  };
}

/**
 * The distributor's client for a segment writer in the same process: the
 * request object is handed over as is, without encoding it to protobuf and
 * back over loopback HTTP/2 (that cost about as much CPU as storing a small
 * profile). Split targets use the Connect client; the RPC stays covered by
 * the split-target integration test.
 */
export function inProcessSegmentWriterClient(writer: SegmentWriter): { push(req: PushRequest): Promise<PushResponse> } {
  return {
    async push(req) {
      return create(PushResponseSchema, { results: await writer.push(requestsOf(req)) });
    },
  };
}

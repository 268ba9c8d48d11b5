// segmentwriter.v1.SegmentWriterService: the segment writer's RPC face. A
// distributor in the same process calls SegmentWriter.pushRequest directly.

import type { ServiceImpl } from '@connectrpc/connect';
import { type PushRequest, SegmentWriterService } from '../../gen/segmentwriter/v1/push_pb.js';
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

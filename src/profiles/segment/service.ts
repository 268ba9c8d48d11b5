// segmentwriter.v1.SegmentWriterService: the segment writer's RPC face.

import type { ServiceImpl } from '@connectrpc/connect';
import { SegmentWriterService } from '../../gen/segmentwriter/v1/push_pb.js';
import type { ProfileInput, SegmentWriter } from './writer.js';

export function segmentWriterServiceImpl(writer: SegmentWriter): ServiceImpl<typeof SegmentWriterService> {
  return {
    async push(req) {
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
      const outcomes = await writer.push(Array.from(requests, (r) => r ?? []));
      return { results: outcomes };
    },
  };
}

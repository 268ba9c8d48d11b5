// segmentwriter.v1.SegmentWriterService: the segment writer's RPC face.

import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import { SegmentWriterService } from '../../gen/segmentwriter/v1/push_pb.js';
import { ProfileRejectedError, SegmentFlushError, type SegmentWriter, ShuttingDownError } from './writer.js';

export function segmentWriterServiceImpl(writer: SegmentWriter): ServiceImpl<typeof SegmentWriterService> {
  return {
    async push(req) {
      try {
        await writer.push(
          req.profiles.map((p) => ({
            tenant: p.tenantId,
            labels: p.labels.map((l) => [l.name, l.value] as const),
            profile: p.profile,
            profileId: p.profileId,
            shard: p.shard,
            defaultTimeNanos: p.defaultTimeNanos,
          })),
        );
        return {};
      } catch (e) {
        if (e instanceof ProfileRejectedError) {
          // The reason and HTTP status travel as metadata so the distributor can answer 413 vs 400.
          const meta = new Headers({ 'kiln-reason': e.reason, 'kiln-status': String(e.status) });
          throw new ConnectError(e.message, Code.InvalidArgument, meta);
        }
        if (e instanceof SegmentFlushError || e instanceof ShuttingDownError) throw new ConnectError(e.message, Code.Unavailable);
        throw e;
      }
    },
  };
}

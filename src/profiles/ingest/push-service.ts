// push.v1.PusherService/Push over Connect, gRPC and gRPC-Web: the API of the
// Pyroscope SDKs and Grafana Alloy.

import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import { PusherService } from '../../gen/push/v1/push_pb.js';
import type { Distributor } from './distributor.js';
import { IngestError } from './errors.js';
import { type TenancyOptions, resolveTenant } from './tenant.js';

const CODES: Record<number, Code> = {
  400: Code.InvalidArgument,
  401: Code.Unauthenticated,
  408: Code.DeadlineExceeded,
  413: Code.InvalidArgument,
  429: Code.ResourceExhausted,
  503: Code.Unavailable,
};

function toConnectError(err: IngestError): ConnectError {
  return new ConnectError(err.message, CODES[err.status] ?? Code.Internal);
}

export function pushServiceImpl(distributor: Distributor, tenancy: TenancyOptions): ServiceImpl<typeof PusherService> {
  return {
    async push(req, ctx) {
      try {
        const tenant = resolveTenant(ctx.requestHeader.get('x-scope-orgid'), tenancy);
        await distributor.push(
          tenant,
          req.series.map((s) => ({
            labels: s.labels.map((l) => [l.name, l.value] as const),
            profiles: s.samples.map((sample) => ({ bytes: sample.rawProfile, id: sample.ID })),
          })),
          BigInt(Date.now()) * 1_000_000n,
        );
        return {};
      } catch (e) {
        if (e instanceof IngestError) throw toConnectError(e);
        throw e;
      }
    },
  };
}

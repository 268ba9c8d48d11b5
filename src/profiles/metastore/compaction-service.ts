// metastore.v1.CompactionService over Connect: the worker poll and the admin job list.
import { create } from '@bufbuild/protobuf';
import { createClient, type Client, type ServiceImpl } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import {
  CompactionJobStatus,
  CompactionService,
  ListCompactionJobsResponseSchema,
  PollCompactionJobsResponseSchema,
} from '../../gen/metastore/v1/compactor_pb.js';
import { toConnectError } from './index-service.js';
import type { Metastore } from './metastore.js';

const NS_PER_MS = 1_000_000n;

export function compactionServiceImpl(metastore: Metastore): ServiceImpl<typeof CompactionService> {
  return {
    async pollCompactionJobs(req) {
      let result;
      try {
        result = await metastore.pollCompactionJobs(req.statusUpdates, req.jobCapacity);
      } catch (err) {
        throw toConnectError(err);
      }
      return create(PollCompactionJobsResponseSchema, {
        compactionJobs: result.newJobs.map((j) => ({
          name: j.name,
          shard: j.shard,
          tenant: j.tenant,
          compactionLevel: j.level,
          sourceBlocks: j.sources,
          // The metastore deletes tombstoned objects itself (docs/metastore.md): none ride along.
          tombstones: [],
        })),
        assignments: result.assignments.map((a) => ({ name: a.name, token: BigInt(a.token), leaseExpiresAt: BigInt(a.leaseExpiresAt) * NS_PER_MS })),
      });
    },
    listCompactionJobs() {
      return create(ListCompactionJobsResponseSchema, {
        jobs: metastore.listJobs().map((j) => ({
          name: j.name,
          compactionLevel: j.level,
          status: j.assigned ? CompactionJobStatus.COMPACTION_STATUS_IN_PROGRESS : CompactionJobStatus.COMPACTION_STATUS_UNSPECIFIED,
          token: BigInt(j.token),
          leaseExpiresAt: BigInt(j.leaseExpiresAt) * NS_PER_MS,
          addedAt: BigInt(j.addedAt) * NS_PER_MS,
          failures: j.failures,
          shard: j.shard,
          tenant: j.tenant,
          sourceBlocks: j.sources,
          parked: j.parked,
        })),
      });
    },
  };
}

/** A Connect client of a metastore's CompactionService at `baseUrl` (HTTP/1.1 unless told). */
export function createCompactionClient(baseUrl: string, httpVersion: '1.1' | '2' = '1.1'): Client<typeof CompactionService> {
  return createClient(CompactionService, createConnectTransport({ baseUrl, httpVersion }));
}

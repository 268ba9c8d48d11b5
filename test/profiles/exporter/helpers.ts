// Builders for exporter tests (also used by the crash child process).
import { create, toBinary } from '@bufbuild/protobuf';
import { ObserverResultSchema } from '../../../src/gen/metrics/v1/recorded_pb.js';
import type { JobCommittedEvent } from '../../../src/profiles/metastore/metastore.js';
import type { JobState } from '../../../src/profiles/metastore/store.js';

/** tenant → [[labels...], value][]; labels are [name, value] pairs (sorted here). */
export type TenantSeries = Record<string, Array<[Array<[string, string]>, number]>>;

export function observerResult(timestampMs: number, shard: number, tenants: TenantSeries): Uint8Array {
  return toBinary(
    ObserverResultSchema,
    create(ObserverResultSchema, {
      timestampMs: BigInt(timestampMs),
      shard,
      tenants: Object.keys(tenants)
        .sort()
        .map((tenant) => ({
          tenant,
          series: tenants[tenant]!.map(([labels, value]) => ({
            labels: [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, v]) => ({ name, value: v })),
            value,
          })),
        })),
    }),
  );
}

/** One series per tenant: profiles_recorded_test{tenant=..., job=...} = value. */
export function simpleResult(timestampMs: number, shard: number, job: string, tenants: string[], value = 1): Uint8Array {
  const t: TenantSeries = {};
  for (const tenant of tenants) t[tenant] = [[[['__name__', 'profiles_recorded_test'], ['job_name', job], ['profiles_rule_id', 'r1']], value]];
  return observerResult(timestampMs, shard, t);
}

export function jobState(name: string, shard: number, sources: string[]): JobState {
  return { name, shard, tenant: '', level: 0, sources, addedAt: 0, assigned: true, token: 1, leaseExpiresAt: 0, failures: 0, parked: false };
}

export function commitEvent(job: JobState, observerResult: Uint8Array, committedAt = 1000, replayed = false): JobCommittedEvent {
  return { job, newBlocks: [], observerResult, committedAt, replayed };
}

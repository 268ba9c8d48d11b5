// HA deduplication (spec/tsdb.md §2.6): two Prometheus replicas scrape the same targets and both
// remote-write; per (tenant, cluster) one replica is elected and only its samples are stored.
// Another replica takes over when the elected one has sent nothing for the failover timeout.
//
// Mimir keeps the election in a KV store shared by its distributors; Kiln's receiver runs in one
// process per TSDB, so an in-memory map is the whole story. After a restart the first replica to
// write is elected, which at worst stores a failover's worth of samples from the other replica.

import { withLimit } from './errors.js';
import { LIMIT_FLAGS, type HaTrackerLimits } from './limits.js';

export type HaDecision =
  /** Not HA-tracked (tracker off, or the cluster or replica label is missing): store as is. */
  | { kind: 'untracked' }
  /** From the elected replica: store, without the replica label. */
  | { kind: 'accept' }
  /** From another replica: answer 202 and store nothing. */
  | { kind: 'reject'; message: string }
  /** A new cluster beyond the tenant's limit: 400. */
  | { kind: 'too-many-clusters'; message: string };

interface Election {
  replica: string;
  /** Last time the elected replica sent a request (ms). */
  seenAt: number;
}

export class HaTracker {
  private readonly elections = new Map<string, Map<string, Election>>();

  constructor(
    private readonly limits: HaTrackerLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.limits.enabled;
  }

  get replicaLabel(): string {
    return this.limits.replicaLabel;
  }

  /** Decides on a request from the labels of its first series (as Mimir does). */
  check(tenant: string, firstSeriesLabels: readonly (readonly [string, string])[] | undefined): HaDecision {
    if (!this.limits.enabled || firstSeriesLabels === undefined) return { kind: 'untracked' };
    let cluster = '';
    let replica = '';
    for (const [n, v] of firstSeriesLabels) {
      if (n === this.limits.clusterLabel) cluster = v;
      else if (n === this.limits.replicaLabel) replica = v;
    }
    if (cluster === '' || replica === '') return { kind: 'untracked' };

    const now = this.now();
    let clusters = this.elections.get(tenant);
    if (!clusters) {
      clusters = new Map();
      this.elections.set(tenant, clusters);
    }
    const elected = clusters.get(cluster);
    if (!elected) {
      if (this.limits.maxClusters > 0 && clusters.size >= this.limits.maxClusters) {
        return {
          kind: 'too-many-clusters',
          message: withLimit(`the write request has been rejected because the maximum number of high-availability (HA) clusters has been reached for this tenant (limit: ${this.limits.maxClusters})`, 'tenant-too-many-ha-clusters', LIMIT_FLAGS.haMaxClusters),
        };
      }
      clusters.set(cluster, { replica, seenAt: now });
      return { kind: 'accept' };
    }
    if (elected.replica === replica) {
      elected.seenAt = now;
      return { kind: 'accept' };
    }
    if (now - elected.seenAt > this.limits.failoverTimeoutMs) {
      // Failover: the elected replica went quiet; this one takes over from now on.
      elected.replica = replica;
      elected.seenAt = now;
      return { kind: 'accept' };
    }
    return { kind: 'reject', message: `replicas did not match, rejecting sample: replica=${replica}, elected=${elected.replica}` };
  }

  /** The elected replica of a cluster, for tests and operators. */
  elected(tenant: string, cluster: string): string | undefined {
    return this.elections.get(tenant)?.get(cluster)?.replica;
  }
}

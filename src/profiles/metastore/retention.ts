// Retention: which blocks have outlived their tenants' retention period.
//
// -metastore.retention-period applies to every tenant (0 = keep forever);
// -metastore.retention-period-overrides="tenantA=24h,tenantB=0" sets it per tenant.
// A block is removed whole, and only when every tenant it holds data of is past its period
// (a level-0 segment holds several tenants).
import { parseDuration } from '../../config/flags.js';
import type { BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import { blockTenant, datasetTenants } from './block-index.js';
import type { MetastoreState } from './state.js';

export interface RetentionPolicy {
  /** ms; 0 = keep forever. */
  defaultMs: number;
  /** Per-tenant periods in ms (0 = keep forever). */
  overrides: ReadonlyMap<string, number>;
}

export const KEEP_FOREVER: RetentionPolicy = { defaultMs: 0, overrides: new Map() };

/** "tenantA=24h,tenantB=0" → Map; throws an Error naming the bad entry. */
export function parseRetentionOverrides(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.lastIndexOf('=');
    const tenant = eq < 0 ? '' : entry.slice(0, eq).trim();
    if (tenant === '') throw new Error(`retention override ${JSON.stringify(entry)}: expected tenant=duration, e.g. acme=24h`);
    if (out.has(tenant)) throw new Error(`retention override for tenant ${JSON.stringify(tenant)} is given twice`);
    try {
      out.set(tenant, parseDuration(entry.slice(eq + 1)));
    } catch (err) {
      throw new Error(`retention override ${JSON.stringify(entry)}: ${(err as Error).message}`);
    }
  }
  return out;
}

export function retentionOf(policy: RetentionPolicy, tenant: string): number {
  return policy.overrides.get(tenant) ?? policy.defaultMs;
}

/** True when every tenant of the block keeps data for less time than the block's age. */
export function blockExpired(meta: BlockMeta, policy: RetentionPolicy, now: number): boolean {
  const tenants = datasetTenants(meta);
  const own = blockTenant(meta);
  if (own !== '') tenants.add(own);
  if (tenants.size === 0) tenants.add('');
  const maxTime = Number(meta.maxTime);
  for (const t of tenants) {
    const period = retentionOf(policy, t);
    if (period <= 0 || maxTime >= now - period) return false;
  }
  return true;
}

export interface RetentionPlan {
  blocks: string[];
  /** Parked jobs holding one of the blocks: dropped with them. */
  droppedJobs: string[];
}

/**
 * Expired blocks, at most `limit`. Blocks that are sources of a live (not parked) job are
 * left alone: the job's output will be expired too and is removed on a later pass.
 */
export function planRetention(state: MetastoreState, policy: RetentionPolicy, now: number, limit: number): RetentionPlan {
  const blocks: string[] = [];
  const dropped = new Set<string>();
  if (policy.defaultMs <= 0 && [...policy.overrides.values()].every((v) => v <= 0)) return { blocks, droppedJobs: [] };
  for (const meta of state.index.all()) {
    if (blocks.length >= limit) break;
    if (!blockExpired(meta, policy, now)) continue;
    const job = state.jobOf(meta.id);
    if (job !== undefined) {
      if (!job.parked) continue;
      dropped.add(job.name);
    }
    blocks.push(meta.id);
  }
  return { blocks, droppedJobs: [...dropped].sort() };
}

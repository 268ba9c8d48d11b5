// Admin reads as plain JSON: GET /metastore/blocks?tenant=&level=&shard= and GET /metastore/jobs.
// For people and scripts (and the kiln CLI); the Connect RPCs carry the same data as protobuf.
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { decodeTime } from 'ulid';
import { blockTenant, datasetTenants, type BlockQuery } from './block-index.js';
import type { Metastore } from './metastore.js';

type Res = ServerResponse | Http2ServerResponse;

export interface BlockView {
  id: string;
  /** The block's own tenant; "" for a multi-tenant segment. */
  tenant: string;
  /** Tenants of its datasets, sorted. */
  tenants: string[];
  shard: number;
  level: number;
  minTime: string;
  maxTime: string;
  /** ULID time of the id. */
  createdAt: string;
  size: number;
  datasets: number;
}

export interface JobView {
  name: string;
  status: 'unassigned' | 'in_progress' | 'parked';
  level: number;
  shard: number;
  tenant: string;
  failures: number;
  token: number;
  /** ISO time, or null when never assigned. */
  leaseExpiresAt: string | null;
  /** The lease has expired (the job will be reassigned or parked on the next poll). */
  leaseExpired: boolean;
  parked: boolean;
  addedAt: string;
  sources: string[];
}

const iso = (ms: number | bigint): string => {
  const d = new Date(Number(ms));
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
};

function send(res: Res, status: number, body: unknown): void {
  (res as ServerResponse).writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body, null, 1)}\n`);
}

function intParam(url: URL, name: string): number | undefined | Error {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) return new Error(`query parameter ${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Handles /metastore/* paths; returns false for other paths. */
export function handleMetastoreAdmin(metastore: Metastore, url: URL, method: string, res: Res, now: () => number = Date.now): boolean {
  if (url.pathname !== '/metastore/blocks' && url.pathname !== '/metastore/jobs') return false;
  if (method !== 'GET' && method !== 'HEAD') {
    send(res, 405, { error: `${url.pathname} accepts GET only` });
    return true;
  }
  if (url.pathname === '/metastore/jobs') {
    const t = now();
    const jobs: JobView[] = metastore.listJobs().map((j) => ({
      name: j.name,
      status: j.parked ? 'parked' : j.assigned ? 'in_progress' : 'unassigned',
      level: j.level,
      shard: j.shard,
      tenant: j.tenant,
      failures: j.failures,
      token: j.token,
      leaseExpiresAt: j.assigned ? iso(j.leaseExpiresAt) : null,
      leaseExpired: j.assigned && j.leaseExpiresAt <= t,
      parked: j.parked,
      addedAt: iso(j.addedAt),
      sources: j.sources,
    }));
    send(res, 200, { jobs });
    return true;
  }
  const filter: BlockQuery = {};
  const tenant = url.searchParams.get('tenant');
  if (tenant !== null && tenant !== '') filter.tenant = tenant;
  for (const [name, key] of [['level', 'level'], ['shard', 'shard']] as const) {
    const v = intParam(url, name);
    if (v instanceof Error) {
      send(res, 400, { error: v.message });
      return true;
    }
    if (v !== undefined) filter[key] = v;
  }
  const blocks: BlockView[] = metastore.query(filter).map((b) => ({
    id: b.id,
    tenant: blockTenant(b),
    tenants: [...datasetTenants(b)].sort(),
    shard: b.shard,
    level: b.compactionLevel,
    minTime: iso(b.minTime),
    maxTime: iso(b.maxTime),
    createdAt: iso(safeDecodeTime(b.id)),
    size: Number(b.size),
    datasets: b.datasets.length,
  }));
  send(res, 200, { blocks });
  return true;
}

function safeDecodeTime(id: string): number {
  try {
    return decodeTime(id);
  } catch {
    return 0;
  }
}

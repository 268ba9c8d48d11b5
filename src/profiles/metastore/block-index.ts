// The metastore's block index: which blocks exist, in memory. It changes only through the
// metastore's state fold (state.ts), i.e. only after a change is durable; validation of
// incoming metas lives here too.
import type { BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import type { LogLogger } from './log.js';

export type MetastoreLogger = LogLogger;

/** The BlockMeta is malformed; nothing was stored. */
export class InvalidBlockMetaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidBlockMetaError';
  }
}

export interface BlockQuery {
  /** Blocks whose own tenant is this, or that hold a dataset of it. "" = multi-tenant segments. */
  tenant?: string;
  shard?: number;
  level?: number;
  /** Inclusive ms bounds; a block matches when [min_time, max_time] overlaps them. */
  startMs?: number;
  endMs?: number;
}

// Crockford base32, 26 chars, first char ≤ 7 so the value fits in 128 bits. Upper case only:
// ids are compared as strings (for idempotency and time order), so one spelling per id.
const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

export function stringAt(table: string[], i: number): string {
  return i === 0 ? (table[0] ?? '') : table[i]!;
}

/** Throws InvalidBlockMetaError describing the first problem found. */
export function validateBlockMeta(meta: BlockMeta | undefined): asserts meta is BlockMeta {
  const fail = (msg: string): never => {
    throw new InvalidBlockMetaError(meta?.id ? `block ${meta.id}: ${msg}` : msg);
  };
  if (meta === undefined || meta === null) fail('block meta is missing');
  const m = meta!;
  if (typeof m.id !== 'string' || !ULID_RE.test(m.id)) {
    fail(`id ${JSON.stringify(m.id)} is not a 26-character upper-case ULID`);
  }
  if (!Number.isInteger(m.shard) || m.shard < 1) fail(`shard must be >= 1, got ${m.shard}`);
  const table = m.stringTable;
  if (table.length > 0 && table[0] !== '') fail(`string_table[0] must be "", got ${JSON.stringify(table[0])}`);
  // Index 0 always means "" (even with an empty table); others must point into the table.
  const checkIndex = (what: string, i: number): void => {
    if (!Number.isInteger(i) || i < 0 || (i > 0 && i >= table.length)) {
      fail(`${what} string index ${i} is out of range (string_table has ${table.length} entries)`);
    }
  };
  checkIndex('tenant', m.tenant);
  checkIndex('created_by', m.createdBy);
  if (m.minTime > m.maxTime) fail(`min_time ${m.minTime} is after max_time ${m.maxTime}`);
  m.datasets.forEach((ds, d) => {
    checkIndex(`datasets[${d}].tenant`, ds.tenant);
    checkIndex(`datasets[${d}].name`, ds.name);
    if (ds.minTime > ds.maxTime) fail(`datasets[${d}]: min_time ${ds.minTime} is after max_time ${ds.maxTime}`);
    // labels = n, k1, v1, ..., kn, vn, n', ...
    const labels = ds.labels;
    for (let i = 0; i < labels.length; ) {
      const n = labels[i]!;
      if (n < 0 || i + 1 + 2 * n > labels.length) {
        fail(`datasets[${d}].labels: group at position ${i} announces ${n} pairs but the list is too short`);
      }
      for (let j = i + 1; j < i + 1 + 2 * n; j++) checkIndex(`datasets[${d}].labels[${j}]`, labels[j]!);
      i += 1 + 2 * n;
    }
  });
}

interface Entry {
  meta: BlockMeta;
  tenants: Set<string>;
}

/** Every tenant a block holds data of: its own tenant and its datasets' tenants. */
export function blockTenants(meta: BlockMeta): Set<string> {
  const tenants = new Set<string>([stringAt(meta.stringTable, meta.tenant)]);
  for (const ds of meta.datasets) tenants.add(stringAt(meta.stringTable, ds.tenant));
  return tenants;
}

/** The tenants of a block's datasets (a segment's block-level tenant "" is not one). */
export function datasetTenants(meta: BlockMeta): Set<string> {
  return new Set(meta.datasets.map((ds) => stringAt(meta.stringTable, ds.tenant)));
}

/** The block's own tenant ("" for a multi-tenant segment). */
export function blockTenant(meta: BlockMeta): string {
  return stringAt(meta.stringTable, meta.tenant);
}

function checkFilterNumber(name: string, v: number | undefined): void {
  if (v !== undefined && !Number.isFinite(v)) throw new RangeError(`query ${name} must be a finite number, got ${v}`);
}

export class BlockIndex {
  private readonly blocks = new Map<string, Entry>();
  /** Ids in ascending order; ULIDs sort by creation time. */
  private readonly order: string[] = [];

  get size(): number {
    return this.blocks.size;
  }

  has(id: string): boolean {
    return this.blocks.has(id);
  }

  /** The block's meta (shared; do not mutate), or undefined. */
  get(id: string): BlockMeta | undefined {
    return this.blocks.get(id)?.meta;
  }

  /** Every block, sorted by id. */
  all(): BlockMeta[] {
    return this.order.map((id) => this.blocks.get(id)!.meta);
  }

  /** Adds a block (the index keeps the object); false if the id is already present. */
  add(meta: BlockMeta): boolean {
    const id = meta.id;
    if (this.blocks.has(id)) return false;
    this.blocks.set(id, { meta, tenants: blockTenants(meta) });
    // Ids mostly arrive in time order, so this is usually an append.
    this.order.splice(this.position(id), 0, id);
    return true;
  }

  /** Removes a block and returns its meta, or undefined if it is not present. */
  remove(id: string): BlockMeta | undefined {
    const entry = this.blocks.get(id);
    if (entry === undefined) return undefined;
    this.blocks.delete(id);
    this.order.splice(this.position(id), 1);
    return entry.meta;
  }

  /** Matching blocks sorted by id (metas are shared; do not mutate). */
  query(filter: BlockQuery = {}): BlockMeta[] {
    checkFilterNumber('shard', filter.shard);
    checkFilterNumber('level', filter.level);
    checkFilterNumber('startMs', filter.startMs);
    checkFilterNumber('endMs', filter.endMs);
    const start = filter.startMs === undefined ? undefined : BigInt(Math.floor(filter.startMs));
    const end = filter.endMs === undefined ? undefined : BigInt(Math.ceil(filter.endMs));
    const out: BlockMeta[] = [];
    for (const id of this.order) {
      const { meta, tenants } = this.blocks.get(id)!;
      if (filter.shard !== undefined && meta.shard !== filter.shard) continue;
      if (filter.level !== undefined && meta.compactionLevel !== filter.level) continue;
      if (filter.tenant !== undefined && !tenants.has(filter.tenant)) continue;
      if (start !== undefined && meta.maxTime < start) continue;
      if (end !== undefined && meta.minTime > end) continue;
      out.push(meta);
    }
    return out;
  }

  /** Index of `id` in `order`, or where it would be inserted. */
  private position(id: string): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.order[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

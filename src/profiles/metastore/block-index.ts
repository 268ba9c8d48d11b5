// The metastore's block index: which blocks exist, kept in memory and made durable through a
// MetastoreStore (by default the embedded record log in `dir`).
import { clone } from '@bufbuild/protobuf';
import { BlockMetaSchema, type BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import { FileMetastoreStore } from './file-store.js';
import type { LogLogger } from './log.js';
import { StoreUnavailableError, type MetastoreStore, type StateChange } from './store.js';

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

function stringAt(table: string[], i: number): string {
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

function entryOf(meta: BlockMeta): Entry {
  const tenants = new Set<string>([stringAt(meta.stringTable, meta.tenant)]);
  for (const ds of meta.datasets) tenants.add(stringAt(meta.stringTable, ds.tenant));
  return { meta, tenants };
}

function checkFilterNumber(name: string, v: number | undefined): void {
  if (v !== undefined && !Number.isFinite(v)) throw new RangeError(`query ${name} must be a finite number, got ${v}`);
}

export class BlockIndex {
  private readonly store: MetastoreStore;
  private readonly blocks = new Map<string, Entry>();
  /** Ids in ascending order; ULIDs sort by creation time. */
  private readonly order: string[] = [];
  /** Registrations written but not yet durable, so a concurrent duplicate waits for the first. */
  private readonly inflight = new Map<string, Promise<void>>();
  private closed = false;

  private constructor(store: MetastoreStore) {
    this.store = store;
  }

  /** Opens the embedded index in `dir`, replaying its log. */
  static async open(dir: string, logger?: MetastoreLogger): Promise<BlockIndex> {
    const store = await FileMetastoreStore.open(dir, logger);
    return BlockIndex.openStore(store);
  }

  /** Opens the index over any store (loads it; the index owns and closes it). */
  static async openStore(store: MetastoreStore): Promise<BlockIndex> {
    const index = new BlockIndex(store);
    let changes: StateChange[];
    try {
      changes = await store.load();
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
    for (const c of changes) index.apply(c);
    return index;
  }

  get size(): number {
    return this.blocks.size;
  }

  /**
   * Registers a block. Resolves true once it is durable, false if the id was already known
   * (so a retried registration succeeds without a second write). Rejects with
   * InvalidBlockMetaError for a malformed meta, writing nothing.
   */
  async addBlock(meta: BlockMeta): Promise<boolean> {
    validateBlockMeta(meta);
    if (this.closed) throw new StoreUnavailableError('block index is closed');
    if (this.blocks.has(meta.id)) return false;
    const pending = this.inflight.get(meta.id);
    if (pending !== undefined) {
      await pending;
      return false;
    }
    // Own copy: the caller may reuse its object, and state must match what replay would build.
    const change: StateChange = { type: 'blockAdded', block: clone(BlockMetaSchema, meta) };
    const write = this.store.append(change);
    this.inflight.set(meta.id, write);
    try {
      await write;
    } finally {
      this.inflight.delete(meta.id);
    }
    // Visible only once durable, so no reader ever sees a block a crash could take back.
    this.apply(change);
    return true;
  }

  /** The block's meta (shared; do not mutate), or undefined. */
  get(id: string): BlockMeta | undefined {
    return this.blocks.get(id)?.meta;
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

  /** Waits for in-flight registrations and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.store.close();
  }

  private apply(change: StateChange): void {
    switch (change.type) {
      case 'blockAdded': {
        const id = change.block.id;
        if (this.blocks.has(id)) return;
        this.blocks.set(id, entryOf(change.block));
        // Ids mostly arrive in time order, so this is usually an append.
        let lo = 0;
        let hi = this.order.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (this.order[mid]! < id) lo = mid + 1;
          else hi = mid;
        }
        this.order.splice(lo, 0, id);
        return;
      }
    }
  }
}

// The TSDB's storage (storage.ts Storage): one TenantDb (head + blocks, tenant-db.ts) per
// tenant under `<dir>/<tenant>/`, opened on first use, and a background loop that compacts
// heads into blocks, merges blocks and applies retention for every tenant on disk.
//
// The loop runs every `compactionIntervalMs` (a run never overlaps the next); close() stops it,
// waits for a run in progress and closes every tenant. Maintenance errors are logged and the
// loop goes on: a failed compaction is simply retried on the next run.
import { access, mkdir, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { Registry } from 'prom-client';
import type { TsdbLogger } from './wal/wal.js';
import { TsdbMetrics } from './db-metrics.js';
import { TenantDb } from './tenant-db.js';
import type { AppendOptions, AppendOutcome, LabelMatcher, Querier, SelectedSeries, SeriesSamples, Storage } from './storage.js';

/** Refuses tenant ids that would escape the data directory (the receiver validates the rest). */
function tenantDir(root: string, tenant: string): string {
  if (tenant === '' || tenant === '.' || tenant === '..' || /[/\\\0]/.test(tenant)) {
    throw new Error(`tenant id ${JSON.stringify(tenant)} cannot name a directory`);
  }
  return path.join(root, tenant);
}

const HOUR = 3_600_000;
export const DEFAULT_BLOCK_RANGE_MS = 2 * HOUR;
export const DEFAULT_RETENTION_MS = 15 * 24 * HOUR;
export const DEFAULT_COMPACTION_INTERVAL_MS = 60_000;

export interface TsdbStorageOptions {
  /** Root directory (`-tsdb.dir`); each tenant gets `<dir>/<tenant>/`. */
  dir: string;
  /** `-tsdb.block-range` (default 2h). */
  blockRangeMs?: number;
  /** `-tsdb.retention-period` (default 15d; 0 keeps forever). */
  retentionMs?: number;
  /** `-tsdb.compaction-interval` (default 1m); 0 disables the background loop (tests drive it). */
  compactionIntervalMs?: number;
  logger: TsdbLogger;
  registry?: Registry;
  /** Unix ms; tests inject their own. Used for retention and block ULIDs. */
  clock?: () => number;
  walSegmentBytes?: number;
}

export class TsdbStorage implements Storage {
  private readonly tenants = new Map<string, Promise<TenantDb>>();
  private readonly metrics: TsdbMetrics;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  /** Opened tenant DBs, for the scrape-time gauges. */
  private readonly ready = new Map<string, TenantDb>();

  private constructor(private readonly o: Required<Omit<TsdbStorageOptions, 'registry' | 'walSegmentBytes'>> & TsdbStorageOptions) {
    this.metrics = new TsdbMetrics(o.registry, {
      blocks: () => [...this.ready.values()].reduce((n, db) => n + db.blockMetas().length, 0),
      tenants: () => this.ready.size,
      headSeries: () => [...this.ready.values()].reduce((n, db) => n + db.head.numSeries, 0),
    });
  }

  static async open(options: TsdbStorageOptions): Promise<TsdbStorage> {
    await mkdir(options.dir, { recursive: true });
    const s = new TsdbStorage({
      blockRangeMs: DEFAULT_BLOCK_RANGE_MS,
      retentionMs: DEFAULT_RETENTION_MS,
      compactionIntervalMs: DEFAULT_COMPACTION_INTERVAL_MS,
      clock: Date.now,
      ...options,
    });
    if (!(s.o.blockRangeMs > 0)) throw new Error(`block range must be positive, got ${s.o.blockRangeMs}`);
    s.schedule();
    return s;
  }

  /** The tenant's DB, opened (blocks loaded, WAL replayed) on first use. */
  tenant(tenant: string): Promise<TenantDb> {
    if (this.closed) return Promise.reject(new Error(`TSDB storage ${this.o.dir} is closed`));
    let db = this.tenants.get(tenant);
    if (db === undefined) {
      db = TenantDb.open(tenantDir(this.o.dir, tenant), {
        blockRangeMs: this.o.blockRangeMs,
        retentionMs: this.o.retentionMs,
        logger: this.o.logger,
        clock: this.o.clock,
        metrics: this.metrics,
        walSegmentBytes: this.o.walSegmentBytes,
      });
      this.tenants.set(tenant, db);
      db.then(
        (opened) => this.ready.set(tenant, opened),
        // A failed open is not cached: the next call tries again.
        () => this.tenants.delete(tenant),
      );
    }
    return db;
  }

  async append(tenant: string, series: readonly SeriesSamples[], options: AppendOptions): Promise<AppendOutcome> {
    return (await this.tenant(tenant)).append(series, options);
  }

  querier(tenant: string): Querier {
    // Reading a tenant that never wrote must not create its directory.
    const db = async (): Promise<TenantDb | undefined> => {
      if (!this.tenants.has(tenant)) {
        try {
          await access(tenantDir(this.o.dir, tenant));
        } catch {
          return undefined;
        }
      }
      return this.tenant(tenant);
    };
    return {
      select: async (m: readonly LabelMatcher[], minT: number, maxT: number): Promise<SelectedSeries[]> => (await db())?.querier().select(m, minT, maxT) ?? [],
      labelNames: async (m: readonly LabelMatcher[], minT: number, maxT: number): Promise<string[]> => (await db())?.querier().labelNames(m, minT, maxT) ?? [],
      labelValues: async (name: string, m: readonly LabelMatcher[], minT: number, maxT: number): Promise<string[]> =>
        (await db())?.querier().labelValues(name, m, minT, maxT) ?? [],
    };
  }

  /**
   * One maintenance pass over every tenant on disk (opening those not open yet): head
   * compaction, block compaction, retention. The background loop calls this; tests may too.
   */
  async maintain(): Promise<void> {
    const onDisk = await readdir(this.o.dir, { withFileTypes: true });
    const names = new Set([...this.tenants.keys(), ...onDisk.filter((d) => d.isDirectory()).map((d) => d.name)]);
    for (const name of [...names].sort()) {
      if (this.closed) return;
      try {
        await (await this.tenant(name)).maintain();
      } catch (err) {
        this.o.logger.warn({ tenant: name, err: String(err) }, 'TSDB maintenance failed; retrying on the next run');
      }
    }
  }

  private schedule(): void {
    if (this.closed || this.o.compactionIntervalMs <= 0) return;
    this.timer = setTimeout(() => {
      this.running = this.maintain()
        .catch((err: unknown) => this.o.logger.warn({ err: String(err) }, 'TSDB maintenance failed'))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.o.compactionIntervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
    const dbs = [...this.tenants.values()];
    this.tenants.clear();
    this.ready.clear();
    for (const p of dbs) {
      try {
        await (await p).close();
      } catch {
        // A tenant that failed to open has nothing to close.
      }
    }
  }
}

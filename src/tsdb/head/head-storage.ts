// Storage (storage.ts) over heads only: one Head per tenant in `<dir>/<tenant>/`, opened on
// first use. A stand-in so the receiver can be tested end to end before db.ts (heads + blocks)
// exists; it never writes blocks, so a head grows until truncated by hand.

import * as path from 'node:path';
import { access } from 'node:fs/promises';
import type { AppendOptions, AppendOutcome, LabelMatcher, Querier, SelectedSeries, SeriesSamples, Storage } from '../storage.js';
import type { TsdbLogger } from '../wal/wal.js';
import { Head, type HeadOptions } from './head.js';

/** Refuses tenant ids that would escape the data directory (the receiver validates the rest). */
export function tenantDir(root: string, tenant: string): string {
  if (tenant === '' || tenant === '.' || tenant === '..' || /[/\\\0]/.test(tenant)) {
    throw new Error(`tenant id ${JSON.stringify(tenant)} cannot name a directory`);
  }
  return path.join(root, tenant);
}

export interface HeadStorageOptions {
  logger: TsdbLogger;
  walSegmentBytes?: number;
}

export class HeadStorage implements Storage {
  private readonly heads = new Map<string, Promise<Head>>();
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly options: HeadStorageOptions,
  ) {}

  /** The tenant's head, opened (and its WAL replayed) on first use. */
  head(tenant: string): Promise<Head> {
    if (this.closed) return Promise.reject(new Error(`storage ${this.dir} is closed`));
    let h = this.heads.get(tenant);
    if (h === undefined) {
      const opts: HeadOptions = { logger: this.options.logger, walSegmentBytes: this.options.walSegmentBytes };
      h = (async () => Head.open(tenantDir(this.dir, tenant), opts))();
      this.heads.set(tenant, h);
      // A failed open is not cached: the next call tries again.
      h.catch(() => this.heads.delete(tenant));
    }
    return h;
  }

  async append(tenant: string, series: readonly SeriesSamples[], options: AppendOptions): Promise<AppendOutcome> {
    return (await this.head(tenant)).append(series, options);
  }

  querier(tenant: string): Querier {
    // Reading a tenant that never wrote must not create its directory.
    const head = async (): Promise<Head | undefined> => {
      if (this.heads.has(tenant)) return this.head(tenant);
      const dir = tenantDir(this.dir, tenant);
      try {
        await access(dir);
      } catch {
        return undefined;
      }
      return this.head(tenant);
    };
    return {
      select: async (m: readonly LabelMatcher[], minT: number, maxT: number): Promise<SelectedSeries[]> =>
        (await head())?.querier().select(m, minT, maxT) ?? [],
      labelNames: async (m: readonly LabelMatcher[], minT: number, maxT: number): Promise<string[]> =>
        (await head())?.querier().labelNames(m, minT, maxT) ?? [],
      labelValues: async (name: string, m: readonly LabelMatcher[], minT: number, maxT: number): Promise<string[]> =>
        (await head())?.querier().labelValues(name, m, minT, maxT) ?? [],
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const heads = [...this.heads.values()];
    this.heads.clear();
    for (const h of heads) {
      try {
        await (await h).close();
      } catch {
        // A head that failed to open has nothing to close.
      }
    }
  }
}

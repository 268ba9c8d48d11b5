// The rule store: tenants' API-managed recording rules, one bucket object per
// tenant (rules-object.ts), shared by every process that uses the bucket.
//
// Writes never lose an update, whichever processes make them: each write reads
// the object with its version, applies the change (with the per-rule
// generation check of the API), and writes it back with the bucket's
// compare-and-swap (putIfMatch). If another writer got in between, the write
// re-reads and re-applies, so a concurrent change to a different rule is kept
// and a concurrent change to the same rule turns into a conflict. Writes of one
// tenant in one process also queue behind each other, so the swap only ever
// races other processes.
//
// Reads go through a per-tenant cache that is at most `cacheTtlMs` old; a
// write in this process replaces the cached copy with what it wrote. So this
// process sees its own writes at once and other processes' writes within
// cacheTtlMs.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { RecordingRuleStore } from '../../gen/settings/v1/recording_rules_pb.js';
import { type Bucket, ObjectNotFoundError, PreconditionFailedError } from '../../objstore/bucket.js';
import { validateObjectKey } from '../../objstore/filesystem.js';
import {
  EMPTY_COLLECTION,
  type RulesCollection,
  decodeRulesCollection,
  encodeRulesCollection,
  rulesObjectKey,
  withGeneration,
} from './rules-object.js';

export { CorruptRulesError } from './rules-object.js';

/** Delete of an id the tenant has not stored. */
export class RuleNotFoundError extends Error {
  override name = 'RuleNotFoundError';
  constructor(readonly id: string) {
    super(`no rule with ID='${id}' found`);
  }
}

/** Update whose generation is not the stored one: someone changed the rule since the client read it. */
export class RuleConflictError extends Error {
  override name = 'RuleConflictError';
  constructor() {
    super('conflicting update, please try again');
  }
}

/** Insert beyond -recording-rules.max-rules-per-tenant. */
export class RuleLimitError extends Error {
  override name = 'RuleLimitError';
  constructor(readonly limit: number) {
    super(`recording rules limit (${limit}) exceeded for this tenant`);
  }
}

/** The tenant id cannot name an object (e.g. it starts with ".tmp-", reserved by the bucket). */
export class InvalidTenantError extends Error {
  override name = 'InvalidTenantError';
}

/** Every compare-and-swap attempt lost to another writer. */
export class RuleStoreBusyError extends Error {
  override name = 'RuleStoreBusyError';
  constructor(attempts: number) {
    super(`the recording rules of this tenant changed ${attempts} times during this write, please try again`);
  }
}

export interface RuleStoreOptions {
  maxRulesPerTenant: number;
  /** Age after which a cached copy is re-read from the bucket; 0 = no cache. */
  cacheTtlMs: number;
  logger: Logger;
  registry?: Registry;
  /** Compare-and-swap attempts per write before RuleStoreBusyError (default 20). */
  maxAttempts?: number;
  /** Clock for cache ages (tests). */
  now?: () => number;
}

/** What a write does to the current collection: the new rules list and the value to return. */
type Change<T> = (rules: readonly RecordingRuleStore[]) => { rules: RecordingRuleStore[]; result: T };

interface TenantState {
  cached?: { rules: readonly RecordingRuleStore[]; at: number };
  /** A read in flight and the write epoch it started in (results of older epochs are stale). */
  loading?: { promise: Promise<readonly RecordingRuleStore[]>; epoch: number };
  /** Bumped by every write of this process. */
  epoch: number;
  /** Tail of this tenant's write queue. */
  writes: Promise<unknown>;
  pendingWrites: number;
}

/** Entries beyond this many tenants are pruned of idle, expired ones. */
const MAX_IDLE_TENANTS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RuleStore {
  private readonly tenants = new Map<string, TenantState>();
  private readonly now: () => number;
  private readonly maxAttempts: number;
  private readonly casRetries?: Counter;
  private readonly stored?: Gauge<'tenant'>;
  private readonly getVersioned: NonNullable<Bucket['getVersioned']>;
  private readonly putIfMatch: NonNullable<Bucket['putIfMatch']>;

  constructor(bucket: Bucket, private readonly opts: RuleStoreOptions) {
    if (!bucket.getVersioned || !bucket.putIfMatch) {
      throw new Error('the rule store needs a bucket with conditional writes (getVersioned + putIfMatch)');
    }
    this.getVersioned = bucket.getVersioned.bind(bucket);
    this.putIfMatch = bucket.putIfMatch.bind(bucket);
    this.now = opts.now ?? Date.now;
    this.maxAttempts = opts.maxAttempts ?? 20;
    if (opts.registry) {
      this.casRetries = new Counter({
        name: 'kiln_recording_rules_cas_retries_total',
        help: 'Rule writes that lost a compare-and-swap to another writer and were re-applied.',
        registers: [opts.registry],
      });
      this.stored = new Gauge({
        name: 'kiln_recording_rules_stored',
        help: 'Recording rules a tenant stores through the API, as last read or written by this process.',
        labelNames: ['tenant'],
        registers: [opts.registry],
      });
    }
  }

  /** The tenant's stored rules, from the cache if it is fresh enough. Throws CorruptRulesError or storage errors. */
  async list(tenant: string): Promise<readonly RecordingRuleStore[]> {
    const key = this.key(tenant);
    const s = this.state(tenant);
    if (s.cached && this.now() - s.cached.at < this.opts.cacheTtlMs) return s.cached.rules;
    // Join a read in flight only if no write of ours finished since it started.
    if (s.loading && s.loading.epoch === s.epoch) return s.loading.promise;
    const epoch = s.epoch;
    // The copy is as new as the moment the read started: age it from then, so
    // a write committed before time T is seen by every read after T + cacheTtlMs.
    const startedAt = this.now();
    const promise = this.read(key, tenant).then(
      (c) => {
        if (s.loading?.promise === promise) s.loading = undefined;
        if (s.epoch === epoch) s.cached = { rules: c.rules, at: startedAt };
        return c.rules;
      },
      (err: unknown) => {
        if (s.loading?.promise === promise) s.loading = undefined;
        throw err;
      },
    );
    s.loading = { promise, epoch };
    return promise;
  }

  /**
   * Inserts or updates `rule` (its id must be set; its generation is the one
   * the client saw). Insert: generation 1, refused beyond the limit. Update:
   * only if the generation is the stored one, which then becomes +1.
   * Returns the rule as stored.
   */
  async upsert(tenant: string, rule: RecordingRuleStore): Promise<RecordingRuleStore> {
    return this.write(tenant, (rules) => {
      const i = rules.findIndex((r) => r.id === rule.id);
      if (i < 0) {
        if (rules.length >= this.opts.maxRulesPerTenant) throw new RuleLimitError(this.opts.maxRulesPerTenant);
        const inserted = withGeneration(rule, 1n);
        return { rules: [...rules, inserted], result: inserted };
      }
      const current = rules[i]!;
      if (rule.generation !== current.generation) throw new RuleConflictError();
      const updated = withGeneration(rule, current.generation + 1n);
      return { rules: rules.map((r, j) => (j === i ? updated : r)), result: updated };
    });
  }

  /** Deletes a stored rule; RuleNotFoundError if the tenant has none with this id. */
  async delete(tenant: string, id: string): Promise<void> {
    await this.write(tenant, (rules) => {
      if (!rules.some((r) => r.id === id)) throw new RuleNotFoundError(id);
      return { rules: rules.filter((r) => r.id !== id), result: undefined };
    });
  }

  /** Drops the cached copy, so the next read goes to the bucket. */
  invalidate(tenant: string): void {
    const s = this.tenants.get(tenant);
    if (s) {
      s.cached = undefined;
      s.epoch++;
    }
  }

  private key(tenant: string): string {
    const key = rulesObjectKey(tenant);
    try {
      validateObjectKey(key);
    } catch (err) {
      throw new InvalidTenantError(`tenant ID ${JSON.stringify(tenant)} cannot be stored: ${(err as Error).message}`);
    }
    return key;
  }

  private state(tenant: string): TenantState {
    let s = this.tenants.get(tenant);
    if (!s) {
      if (this.tenants.size >= MAX_IDLE_TENANTS) this.prune();
      s = { epoch: 0, writes: Promise.resolve(), pendingWrites: 0 };
      this.tenants.set(tenant, s);
    }
    return s;
  }

  /** Forgets tenants with nothing in flight and no fresh cache, so many tenants cannot grow the map without bound. */
  private prune(): void {
    const now = this.now();
    for (const [tenant, s] of this.tenants) {
      const fresh = s.cached && now - s.cached.at < this.opts.cacheTtlMs;
      if (!fresh && !s.loading && s.pendingWrites === 0) this.tenants.delete(tenant);
    }
  }

  /** Reads the collection and its version; a missing object is an empty collection. */
  private async readVersioned(key: string, tenant: string): Promise<{ collection: RulesCollection; version: string | null }> {
    let got;
    try {
      got = await this.getVersioned(key);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return { collection: EMPTY_COLLECTION, version: null };
      throw err;
    }
    try {
      const collection = decodeRulesCollection(got.body, key);
      this.stored?.set({ tenant }, collection.rules.length);
      return { collection, version: got.version };
    } catch (err) {
      this.opts.logger.error({ tenant, key, err: (err as Error).message }, 'recording rules object is corrupt');
      throw err;
    }
  }

  private async read(key: string, tenant: string): Promise<RulesCollection> {
    return (await this.readVersioned(key, tenant)).collection;
  }

  /** Queues a write behind this process's other writes of the tenant, then runs it. */
  private write<T>(tenant: string, change: Change<T>): Promise<T> {
    const key = this.key(tenant);
    const s = this.state(tenant);
    s.pendingWrites++;
    const run = s.writes.then(() => this.compareAndSwap(key, tenant, s, change));
    s.writes = run.catch(() => undefined);
    return run.finally(() => {
      s.pendingWrites--;
    });
  }

  /** read → change → putIfMatch, again from the read whenever another writer got in between. */
  private async compareAndSwap<T>(key: string, tenant: string, s: TenantState, change: Change<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const { collection, version } = await this.readVersioned(key, tenant);
      // Throws the API's errors (conflict, not found, limit) against the current state.
      const next = change(collection.rules);
      const written: RulesCollection = { generation: collection.generation + 1n, rules: next.rules };
      try {
        await this.putIfMatch(key, encodeRulesCollection(written), version);
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        this.casRetries?.inc();
        if (attempt >= this.maxAttempts) throw new RuleStoreBusyError(attempt);
        this.opts.logger.debug({ tenant, attempt }, 'recording rules changed during a write; re-applying');
        // Jittered backoff, so writers in different processes stop colliding.
        await sleep(Math.random() * Math.min(200, 5 * 2 ** attempt));
        continue;
      }
      s.epoch++;
      s.cached = { rules: written.rules, at: this.now() };
      this.stored?.set({ tenant }, written.rules.length);
      return next.result;
    }
  }
}

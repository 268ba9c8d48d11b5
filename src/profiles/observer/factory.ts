// Makes the observer of one compaction job (job-runner.ts calls it once per
// attempt of a level-0 job, before the merge): the rules of every tenant in
// the job's source blocks are fetched and compiled up front, because the
// observer's hooks run synchronously inside the merge.
//
// Failure semantics: if the rules of any tenant cannot be read, the job fails
// (RulesUnavailableError) and its lease runs out, so it is retried later,
// here or on another worker. Merging without the rules would record nothing
// for that tenant, and a job's segments are observed only once: the metrics
// would be wrong forever. A rule that does not compile (it was validated when
// stored, so this takes a hand-edited bucket or an older version) is skipped
// with a warning, and the other rules still record. Compiled rules are cached
// (RuleCompiler), so a job costs no selector parsing once its rules are known.

import type { Logger } from 'pino';
import type { CompactionJob } from '../../gen/metastore/v1/compactor_pb.js';
import type { BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import { toBinary } from '@bufbuild/protobuf';
import { type RecordingRule, RecordingRuleSchema } from '../../gen/settings/v1/recording_rules_pb.js';
import { compareStrings } from '../block/labels.js';
import type { JobObserver } from '../compaction/observer.js';
import { compileRule, type CompiledRule } from '../rules/compiled.js';
import { jobStamp } from './instance-label.js';
import type { ObserverMetrics } from './metrics.js';
import { RecordingObserver } from './observer.js';

/** The recording rules of a tenant (rules/source.ts RuleSource, cached there). */
export interface RulesProvider {
  rulesFor(tenant: string): Promise<RecordingRule[]>;
}

/** A tenant's rules could not be read; the job must not run without them. */
export class RulesUnavailableError extends Error {
  override name = 'RulesUnavailableError';
  constructor(readonly tenant: string, cause: unknown) {
    super(`recording rules of tenant ${JSON.stringify(tenant)} are unavailable, so the compaction job cannot record its metrics: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

export interface ObserverFactoryOptions {
  rules: RulesProvider;
  instanceLabelName: string;
  maxSeriesPerRule: number;
  logger: Logger;
  metrics?: ObserverMetrics;
}

export type ObserverFactory = (job: CompactionJob, sources: readonly BlockMeta[]) => Promise<JobObserver | undefined>;

/** Tenants with data in the blocks, sorted. */
export function tenantsOf(sources: readonly BlockMeta[]): string[] {
  const tenants = new Set<string>();
  for (const m of sources) for (const ds of m.datasets) tenants.add(m.stringTable[ds.tenant] ?? '');
  return [...tenants].sort(compareStrings);
}

/**
 * The observer factory for the job runner. Resolves to undefined for jobs
 * above level 0, and when no tenant of the job has a rule (the job then
 * reports no observer_result: nothing to record).
 */
export function createObserverFactory(opts: ObserverFactoryOptions): ObserverFactory {
  const compiler = new RuleCompiler();
  return async (job, sources) => {
    if (job.compactionLevel !== 0 || sources.length === 0) return undefined;
    const t0 = performance.now();
    const tenants = tenantsOf(sources);
    const fetched = await Promise.all(
      tenants.map(async (tenant) => {
        try {
          return await opts.rules.rulesFor(tenant);
        } catch (e) {
          throw new RulesUnavailableError(tenant, e);
        }
      }),
    );
    opts.metrics?.rulesFetchSeconds.observe((performance.now() - t0) / 1000);

    const rules = new Map<string, CompiledRule[]>();
    let count = 0;
    tenants.forEach((tenant, i) => {
      const compiled = compileAll(tenant, fetched[i]!, compiler, opts.logger);
      rules.set(tenant, compiled);
      count += compiled.length;
    });
    if (count === 0) return undefined;
    return new RecordingObserver({
      rules,
      stamp: jobStamp(job.shard, sources),
      instanceLabelName: opts.instanceLabelName,
      maxSeriesPerRule: opts.maxSeriesPerRule,
      logger: opts.logger,
      metrics: opts.metrics,
    });
  };
}

/**
 * compileRule with a cache: parsing a rule's selectors costs tens of microseconds, and every
 * L0 job (several a minute per shard) would otherwise compile every rule of its tenants again.
 * The key is the rule's encoding, so an edited rule (new generation) is compiled afresh. The
 * cache is cleared when it reaches MAX_ENTRIES, which bounds it as rules come and go.
 */
export class RuleCompiler {
  static readonly MAX_ENTRIES = 10_000;
  private readonly cache = new Map<string, CompiledRule | Error>();

  /** The compiled rule, or the error compiling it gave; `fresh` says whether this call compiled it. */
  compile(rule: RecordingRule): { result: CompiledRule | Error; fresh: boolean } {
    const key = Buffer.from(toBinary(RecordingRuleSchema, rule)).toString('latin1');
    const cached = this.cache.get(key);
    if (cached !== undefined) return { result: cached, fresh: false };
    let result: CompiledRule | Error;
    try {
      result = compileRule(rule);
    } catch (e) {
      result = e instanceof Error ? e : new Error(String(e));
    }
    if (this.cache.size >= RuleCompiler.MAX_ENTRIES) this.cache.clear();
    this.cache.set(key, result);
    return { result, fresh: true };
  }
}

/**
 * A tenant's compiled rules. Invalid ones are skipped, with a warning the first time this
 * process sees that version of the rule; a repeated id is skipped with a warning every job.
 */
function compileAll(tenant: string, rules: readonly RecordingRule[], compiler: RuleCompiler, logger: Logger): CompiledRule[] {
  const out: CompiledRule[] = [];
  const ids = new Set<string>();
  for (const rule of rules) {
    const { result: compiled, fresh } = compiler.compile(rule);
    if (compiled instanceof Error) {
      if (fresh) logger.warn({ tenant, rule_id: rule.id, err: compiled.message }, 'skipping a recording rule that does not compile');
      continue;
    }
    // Two rules with one id would write the same series twice with different values.
    if (ids.has(compiled.id)) {
      logger.warn({ tenant, rule_id: compiled.id }, 'skipping a recording rule whose id is already used by an earlier rule');
      continue;
    }
    ids.add(compiled.id);
    out.push(compiled);
  }
  return out;
}

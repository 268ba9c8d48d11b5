// A tenant's effective recording rules: the provisioned ones from the rules/
// folder, then the ones stored through the API. This is what the API lists and
// what the compaction observer evaluates (one rulesFor call per job).
//
// Provisioned rules win an id clash: a stored rule with a provisioned id stays
// in the bucket but is hidden (the API refuses to write such ids, but a bucket
// may come from elsewhere, or the folder may gain the id later).

import { create } from '@bufbuild/protobuf';
import { type RecordingRule, RecordingRuleSchema, type RecordingRuleStore } from '../../gen/settings/v1/recording_rules_pb.js';
import type { ProvisionedRules } from './provisioned.js';
import type { RuleStore } from './store.js';
import { profileTypeOf } from './validate.js';

/** The API view of a stored rule: profile type derived from its matchers, not provisioned. */
export function toApiRule(r: RecordingRuleStore): RecordingRule {
  return create(RecordingRuleSchema, {
    id: r.id,
    metricName: r.metricName,
    profileType: profileTypeOf(r.matchers),
    matchers: r.matchers,
    groupBy: r.groupBy,
    externalLabels: r.externalLabels,
    generation: r.generation,
    stacktraceFilter: r.stacktraceFilter,
    provisioned: false,
  });
}

export class RuleSource {
  constructor(
    private readonly provisioned: ProvisionedRules,
    private readonly store: RuleStore,
  ) {}

  /**
   * Provisioned rules, then stored rules whose id is not provisioned. Stored
   * rules are at most -recording-rules.cache-ttl old. Throws CorruptRulesError
   * (the tenant's object cannot be read) or a storage error.
   */
  async rulesFor(tenant: string): Promise<RecordingRule[]> {
    const fromConfig = this.provisioned.forTenant(tenant);
    const ids = new Set(fromConfig.map((r) => r.id));
    const stored = await this.store.list(tenant);
    return [...fromConfig, ...stored.filter((r) => !ids.has(r.id)).map(toApiRule)];
  }

  /** One rule by id, provisioned first; undefined if neither source has it. */
  async get(tenant: string, id: string): Promise<RecordingRule | undefined> {
    const provisioned = this.provisioned.forTenant(tenant).find((r) => r.id === id);
    if (provisioned) return provisioned;
    const stored = (await this.store.list(tenant)).find((r) => r.id === id);
    return stored && toApiRule(stored);
  }

  /** Whether `id` is a provisioned rule of the tenant (read-only through the API). */
  isProvisioned(tenant: string, id: string): boolean {
    return this.provisioned.forTenant(tenant).some((r) => r.id === id);
  }
}

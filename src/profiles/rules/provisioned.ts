// Provisioned recording rules from the rules/ folder (stub: full implementation follows).
import type { RecordingRule } from '../../gen/settings/v1/recording_rules_pb.js';

export class ProvisionedRulesError extends Error {
  override name = 'ProvisionedRulesError';
}

export interface ProvisionedRules {
  /** Rules of "*" then the tenant's own, all provisioned=true. */
  forTenant(tenant: string): RecordingRule[];
}

export async function loadProvisionedRules(dir: string): Promise<ProvisionedRules> {
  void dir;
  return { forTenant: () => [] };
}

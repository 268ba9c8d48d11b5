// A recording rule compiled for the compaction observer (stub: full implementation follows).
import type { RecordingRule } from '../../gen/settings/v1/recording_rules_pb.js';
import type { LabelMatcher } from './selector.js';

export interface CompiledRule {
  id: string;
  metricName: string;
  matchers: LabelMatcher[];
  profileType: string;
  groupBy: string[];
  externalLabels: Array<[string, string]>;
  functionName?: string;
}

export function compileRule(rule: RecordingRule): CompiledRule {
  return { id: rule.id, metricName: rule.metricName, matchers: [], profileType: rule.profileType, groupBy: [...rule.groupBy], externalLabels: [] };
}

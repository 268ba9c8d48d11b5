// A recording rule in the form the compaction observer uses: matchers parsed, labels of the output
// series settled. Compiling validates the rule again, so a rule that got into storage by some other
// path (an older version, a hand-edited bucket object) cannot reach the observer unchecked.

import type { RecordingRule } from '../../gen/settings/v1/recording_rules_pb.js';
import type { LabelMatcher } from './selector.js';
import { InvalidRuleError, PROFILE_TYPE_LABEL, validateDefinition } from './validate.js';

/** Label of every recorded series naming the rule it came from. */
export const RULE_ID_LABEL = 'profiles_rule_id';

export interface CompiledRule {
  id: string;
  /** Trimmed metric name, `profiles_recorded_...`. */
  metricName: string;
  /** All selectors of the rule, ANDed, in the order written. */
  matchers: LabelMatcher[];
  /** Value of the rule's `__profile_type__ =` matcher. */
  profileType: string;
  groupBy: string[];
  /**
   * Constant labels of every output series, sorted by name: the user's external labels without
   * `__name__` and `profiles_rule_id` (dropped silently), plus `__name__`=metricName and
   * `profiles_rule_id`=id.
   */
  externalLabels: Array<[string, string]>;
  /** Only stacks containing this function count (stacktrace_filter.function_name). */
  functionName?: string;
}

/** Compiles a rule; throws InvalidRuleError if it is not valid (same checks as the API). */
export function compileRule(rule: RecordingRule): CompiledRule {
  const matchers = validateDefinition(rule);
  // validateDefinition guarantees exactly one __profile_type__ matcher and that it is `=`.
  const profileType = matchers.find((m) => m.name === PROFILE_TYPE_LABEL)!.value;
  const id = typeof rule.id === 'string' ? rule.id : '';
  if (id === '') throw new InvalidRuleError(['id is required']);
  const metricName = rule.metricName.trim();

  // Later duplicates of a name win, as the last word of the user; reserved names are ours.
  const labels = new Map<string, string>();
  for (const { name, value } of rule.externalLabels ?? []) {
    if (name === '__name__' || name === RULE_ID_LABEL) continue;
    labels.set(name, value);
  }
  labels.set('__name__', metricName);
  labels.set(RULE_ID_LABEL, id);
  const externalLabels = [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  const compiled: CompiledRule = {
    id,
    metricName,
    matchers,
    profileType,
    groupBy: [...(rule.groupBy ?? [])],
    externalLabels,
  };
  const functionName = rule.stacktraceFilter?.functionName?.functionName;
  if (functionName) compiled.functionName = functionName;
  return compiled;
}

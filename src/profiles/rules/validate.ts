// Validation of recording rules (stub: full implementation follows).
import type { UpsertRecordingRuleRequest, StacktraceFilter } from '../../gen/settings/v1/recording_rules_pb.js';

export class InvalidRuleError extends Error {
  override name = 'InvalidRuleError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid request: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/** The fields that define what a rule records (RecordingRule and UpsertRecordingRuleRequest both have them). */
export interface RuleDefinition {
  metricName: string;
  matchers: readonly string[];
  groupBy: readonly string[];
  externalLabels: ReadonlyArray<{ name: string; value: string }>;
  stacktraceFilter?: StacktraceFilter | undefined;
}

export function validateUpsert(req: UpsertRecordingRuleRequest): void {
  void req;
}

export function generateRuleId(): string {
  return 'aaaaaaaaaa';
}

export function profileTypeOf(matchers: readonly string[]): string {
  void matchers;
  return 'unknown';
}

export function deterministicRuleId(rule: RuleDefinition): string {
  void rule;
  return 'aaaaaaaaaa';
}

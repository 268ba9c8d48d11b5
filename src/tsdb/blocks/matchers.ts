// Label matching for block reads. Matchers are compiled by head/matchers.ts (one set of
// PromQL semantics for head and blocks: anchored regexes, `.` matches newlines, a missing label
// counts as the empty value, invalid regexes throw InvalidMatcherError).
import type { Labels } from '../storage.js';
import type { CompiledMatcher } from '../head/matchers.js';

export { compileMatcher, type CompiledMatcher } from '../head/matchers.js';

export function labelValue(labels: Labels, name: string): string {
  for (const [n, v] of labels) if (n === name) return v;
  return '';
}

/** True when the series has every matcher's label matching (missing labels count as ""). */
export function matchesAll(labels: Labels, matchers: readonly CompiledMatcher[]): boolean {
  for (const m of matchers) if (!m.matches(labelValue(labels, m.name))) return false;
  return true;
}

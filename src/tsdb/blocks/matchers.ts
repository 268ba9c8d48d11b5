// Label matchers as PromQL writes them, compiled once per query. Semantics are Prometheus's: a
// series without the label is matched as if it had the empty value, regexes are anchored and
// `.` matches newlines (Prometheus 3.x).
import type { LabelMatcher, Labels } from '../storage.js';

export interface CompiledMatcher {
  name: string;
  matches(value: string): boolean;
}

export function compileMatcher(m: LabelMatcher): CompiledMatcher {
  switch (m.type) {
    case '=':
      return { name: m.name, matches: (v) => v === m.value };
    case '!=':
      return { name: m.name, matches: (v) => v !== m.value };
    case '=~': {
      const re = new RegExp(`^(?:${m.value})$`, 's');
      return { name: m.name, matches: (v) => re.test(v) };
    }
    case '!~': {
      const re = new RegExp(`^(?:${m.value})$`, 's');
      return { name: m.name, matches: (v) => !re.test(v) };
    }
  }
}

export function labelValue(labels: Labels, name: string): string {
  for (const [n, v] of labels) if (n === name) return v;
  return '';
}

/** True when the series has every matcher's label matching (missing labels count as ""). */
export function matchesAll(labels: Labels, matchers: readonly CompiledMatcher[]): boolean {
  for (const m of matchers) if (!m.matches(labelValue(labels, m.name))) return false;
  return true;
}

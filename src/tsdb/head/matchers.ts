// PromQL label matchers compiled once per query (Prometheus semantics):
// - regexes are anchored at both ends and `.` matches newlines (Prometheus ≥ 2.x "^(?s:…)$");
// - a missing label has the value "", so `x=""`, `x!="a"`, `x=~"|a"` and `x!~"a"` also match
//   series without `x`. `matchesEmpty` tells the index to work by subtraction in that case.

import { compilePromRegex } from '../promql/regex.js';
import type { LabelMatcher } from '../storage.js';

export interface CompiledMatcher {
  readonly name: string;
  readonly type: LabelMatcher['type'];
  readonly value: string;
  matches(value: string): boolean;
  /** True if a series without the label matches. */
  readonly matchesEmpty: boolean;
}

export class InvalidMatcherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidMatcherError';
  }
}

export function compileMatcher(m: LabelMatcher): CompiledMatcher {
  let matches: (v: string) => boolean;
  switch (m.type) {
    case '=':
      matches = (v) => v === m.value;
      break;
    case '!=':
      matches = (v) => v !== m.value;
      break;
    case '=~':
    case '!~': {
      let re: RegExp;
      try {
        // RE2 spellings such as (?i:...) are translated (promql/regex.ts).
        re = compilePromRegex(m.value);
      } catch (err) {
        throw new InvalidMatcherError(`invalid regular expression in matcher ${m.name}${m.type}"${m.value}": ${(err as Error).message}`);
      }
      matches = m.type === '=~' ? (v) => re.test(v) : (v) => !re.test(v);
      break;
    }
    default:
      throw new InvalidMatcherError(`unknown matcher type ${String((m as LabelMatcher).type)}`);
  }
  return { name: m.name, type: m.type, value: m.value, matches, matchesEmpty: matches('') };
}

// PromQL metric selectors for recording rules (stub: full implementation follows).

export interface LabelMatcher {
  name: string;
  type: '=' | '!=' | '=~' | '!~';
  value: string;
}

export class SelectorSyntaxError extends Error {
  override name = 'SelectorSyntaxError';
}

export function parseSelector(text: string): LabelMatcher[] {
  throw new SelectorSyntaxError(`not implemented: ${text}`);
}

export function matcherMatches(m: LabelMatcher, value: string): boolean {
  return m.type === '=' ? value === m.value : m.type === '!=' ? value !== m.value : false;
}

export function matchesAll(ms: readonly LabelMatcher[], get: (name: string) => string): boolean {
  return ms.every((m) => matcherMatches(m, get(m.name)));
}

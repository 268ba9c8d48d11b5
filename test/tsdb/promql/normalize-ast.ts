// A syntax tree with every selector's matchers sorted, for comparing trees across printing:
// formatExpr and prettyExpr sort matchers as Prometheus' String() does.

export function normalizeMatchers(e: unknown): unknown {
  if (Array.isArray(e)) return e.map(normalizeMatchers);
  if (e && typeof e === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) {
      out[k] = k === 'matchers' ? [...(v as Array<{ name: string; type: string; value: string }>)].sort((a, b) => (a.name + a.type + a.value < b.name + b.type + b.value ? -1 : 1)) : normalizeMatchers(v);
    }
    return out;
  }
  return e;
}

// Ground truth for metrics from profiles: the rules a test installs, and the exact totals they
// must record, computed directly from the pushed folded profiles (never by Kiln's code).

import type { FoldedPush } from './folded-pushes.js';

export const CPU_TYPE = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
/** The function the function rule filters on (one of FoldedPushGenerator's). */
export const FILTER_FUNCTION = 'parse';

/**
 * A rules folder for `tenants`: per tenant, CPU by service and region, and the inclusive time in
 * FILTER_FUNCTION of service "api" by region. Each rule carries a `tenant` external label, since
 * a single Prometheus receives every tenant's series.
 */
export function groundTruthRules(tenants: readonly string[]): string {
  const lines = ['tenants:'];
  for (const t of tenants) {
    lines.push(
      `  ${t}:`,
      '    - id: cpuBySvc',
      '      metric_name: profiles_recorded_cpu_nanoseconds',
      `      matchers: ['{__profile_type__="${CPU_TYPE}"}']`,
      '      group_by: [service_name, region]',
      `      external_labels: [{name: tenant, value: ${t}}]`,
      '    - id: parseTime',
      '      metric_name: profiles_recorded_parse_nanoseconds',
      `      matchers: ['{__profile_type__="${CPU_TYPE}", service_name="api"}']`,
      '      group_by: [region]',
      `      external_labels: [{name: tenant, value: ${t}}]`,
      `      stacktrace_filter: {function_name: {function_name: ${FILTER_FUNCTION}}}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** metric → "tenant|service|region" (service "" for parseTime) → exact total. */
export function expectedTotals(pushes: readonly FoldedPush[]): Map<string, Map<string, number>> {
  const cpu = new Map<string, number>();
  const parse = new Map<string, number>();
  for (const p of pushes) {
    let total = 0;
    let inParse = 0;
    for (const [stack, v] of p.stacks) {
      total += v;
      // Inclusive: a stack counts once however often the function appears in it.
      if (stack.split(';').includes(FILTER_FUNCTION)) inParse += v;
    }
    const k = `${p.tenant}|${p.service}|${p.region}`;
    cpu.set(k, (cpu.get(k) ?? 0) + total);
    if (p.service === 'api') {
      const kp = `${p.tenant}||${p.region}`;
      parse.set(kp, (parse.get(kp) ?? 0) + inParse);
    }
  }
  return new Map([
    ['profiles_recorded_cpu_nanoseconds', cpu],
    ['profiles_recorded_parse_nanoseconds', parse],
  ]);
}

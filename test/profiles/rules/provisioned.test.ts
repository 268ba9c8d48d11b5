import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { MetricType } from '../../../src/gen/settings/v1/recording_rules_pb.js';
import { compileRule } from '../../../src/profiles/rules/compiled.js';
import { loadProvisionedRules, ProvisionedRulesError } from '../../../src/profiles/rules/provisioned.js';
import { deterministicRuleId } from '../../../src/profiles/rules/validate.js';

const CPU = `'{__profile_type__="process_cpu:cpu:nanoseconds:cpu:nanoseconds"}'`;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kiln-rules-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(contents: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(contents)) await writeFile(path.join(dir, name), text);
}

/** The ProvisionedRulesError message of loading `dir`. */
async function loadError(): Promise<string> {
  const err = await loadProvisionedRules(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProvisionedRulesError);
  return (err as Error).message;
}

describe('loadProvisionedRules', () => {
  it('merges "*" and the tenant, fills ids, profile type, provisioned and generation', async () => {
    await files({
      'b.yml': `
tenants:
  acme:
    - id: acmeGc
      metric_name: profiles_recorded_gc
      matchers: [${CPU}]
      stacktrace_filter: {function_name: {function_name: runtime.gcBgMarkWorker, metric_type: TOTAL}}
`,
      'a.yaml': `
# comment
tenants:
  "*":
    - metric_name: profiles_recorded_cpu
      matchers: [${CPU}, '{env="prod"}']
      group_by: [service_name]
      external_labels: [{name: team, value: core}]
`,
      'c.txt': 'not a rules file',
      '.hidden.yaml': 'garbage: [',
      'empty.yaml': '# nothing yet\n',
    });
    const rules = await loadProvisionedRules(dir);
    expect(rules.files.map((f) => path.basename(f))).toEqual(['a.yaml', 'b.yml', 'empty.yaml']);

    const acme = rules.forTenant('acme');
    expect(acme.map((r) => r.metricName)).toEqual(['profiles_recorded_cpu', 'profiles_recorded_gc']);
    const [cpu, gc] = acme;
    expect(cpu).toMatchObject({
      id: deterministicRuleId(cpu!),
      profileType: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
      matchers: ['{__profile_type__="process_cpu:cpu:nanoseconds:cpu:nanoseconds"}', '{env="prod"}'],
      groupBy: ['service_name'],
      externalLabels: [{ name: 'team', value: 'core' }],
      generation: 0n,
      provisioned: true,
    });
    expect(cpu!.id).toMatch(/^[a-zA-Z]{10}$/);
    expect(gc).toMatchObject({ id: 'acmeGc', provisioned: true, stacktraceFilter: { functionName: { functionName: 'runtime.gcBgMarkWorker', metricType: MetricType.TOTAL } } });
    expect(compileRule(gc!).functionName).toBe('runtime.gcBgMarkWorker');

    expect(rules.forTenant('other').map((r) => r.metricName)).toEqual(['profiles_recorded_cpu']);
    expect(rules.forTenant('*').map((r) => r.metricName)).toEqual(['profiles_recorded_cpu']);
    // Same id on every load: ids are stable across restarts and replicas.
    expect((await loadProvisionedRules(dir)).forTenant('x')[0]!.id).toBe(cpu!.id);
    // Callers get copies.
    acme[0]!.metricName = 'changed';
    expect(rules.forTenant('acme')[0]!.metricName).toBe('profiles_recorded_cpu');
  });

  it('treats a missing folder as no rules', async () => {
    const rules = await loadProvisionedRules(path.join(dir, 'nope'));
    expect(rules.forTenant('acme')).toEqual([]);
    expect(rules.files).toEqual([]);
  });

  it('fails on a folder that is a file', async () => {
    await files({ 'file': 'x' });
    await expect(loadProvisionedRules(path.join(dir, 'file'))).rejects.toThrow(/cannot read recording rules folder/);
  });

  it('names the file, tenant and position of an invalid rule, with every problem', async () => {
    await files({
      'x.yaml': `
tenants:
  acme:
    - metric_name: profiles_recorded_ok
      matchers: [${CPU}]
    - metric_name: bad
      matchers: ['{a="b"}']
`,
    });
    const message = await loadError();
    expect(message).toContain(`${path.join(dir, 'x.yaml')}: tenants["acme"] rule at pos 1 is not valid: invalid request: `);
    expect(message).toContain('metric_name "bad" must start with profiles_recorded_');
    expect(message).toContain('must select a profile type');
    expect(message).not.toContain('pos 0');
  });

  it('refuses unknown keys at every level', async () => {
    const cases: Array<[string, RegExp]> = [
      [`tenant:\n  "*": []`, /unknown top-level key "tenant"/],
      [`tenants:\n  "*":\n    - metric_name: profiles_recorded_x\n      matchers: [${CPU}]\n      stacktrace_fliter: {function_name: {function_name: f}}`, /rule at pos 0 is not valid: .*unknown key "stacktrace_fliter"/],
      [`tenants:\n  "*":\n    - metric_name: profiles_recorded_x\n      matchers: [${CPU}]\n      stacktrace_filter: {function_name: {function_name: f, metric: TOTAL}}`, /unknown key stacktrace_filter.function_name.metric/],
      [`tenants:\n  "*":\n    - metric_name: profiles_recorded_x\n      matchers: [${CPU}]\n      external_labels: [{name: a, value: b, extra: c}]`, /external_labels\[0\] must be \{name/],
      [`tenants:\n  "*":\n    - metric_name: profiles_recorded_x\n      matchers: [${CPU}]\n      generation: 3`, /unknown key "generation"/],
      [`tenants:\n  "*":\n    - metric_name: profiles_recorded_x\n      matchers: [${CPU}]\n      external_labels: {team: core}`, /external_labels must be a list/],
      [`tenants:\n  "*":\n    - metric_name: profiles_recorded_x\n      matchers: ${CPU}`, /matchers must be a list of strings/],
    ];
    for (const [text, message] of cases) {
      await files({ 'r.yaml': text });
      expect(await loadError(), text).toMatch(message);
    }
  });

  it('refuses broken YAML and wrong shapes', async () => {
    const cases: Array<[string, RegExp]> = [
      ['tenants: [', /invalid YAML/],
      ['tenants:\n  a: 1\n  a: 2', /invalid YAML/], // duplicate keys
      ['- 1\n- 2', /expected a map with a "tenants" key/],
      ['tenants: [1]', /"tenants" must map tenant ids/],
      ['tenants:\n  acme: {metric_name: x}', /tenants\["acme"\]: expected a list of rules/],
      ['tenants:\n  acme: [1]', /rule at pos 0 is not valid: expected a map/],
      ['tenants:\n  "": []', /tenant id must not be empty/],
    ];
    for (const [text, message] of cases) {
      await files({ 'r.yaml': text });
      expect(await loadError(), text).toMatch(message);
    }
  });

  it('refuses duplicate ids within a tenant\'s rules, also across files and with "*"', async () => {
    const rule = (id: string, name: string) => `    - {id: ${id}, metric_name: profiles_recorded_${name}, matchers: [${CPU}]}\n`;
    await files({
      'a.yaml': `tenants:\n  "*":\n${rule('shared', 'a')}  acme:\n${rule('own', 'b')}`,
      'b.yaml': `tenants:\n  acme:\n${rule('shared', 'c')}  globex:\n${rule('own', 'd')}`,
    });
    const message = await loadError();
    expect(message).toContain(`${path.join(dir, 'b.yaml')}: tenants["acme"] rule at pos 0 is not valid: duplicate id "shared", also used by ${path.join(dir, 'a.yaml')}: tenants["*"] rule at pos 0`);
    expect(message).not.toContain('globex'); // "own" in acme and globex do not meet
  });

  it('refuses identical rules without ids (same deterministic id)', async () => {
    const rule = `    - {metric_name: profiles_recorded_x, matchers: [${CPU}]}\n`;
    await files({ 'a.yaml': `tenants:\n  "*":\n${rule}${rule}` });
    expect(await loadError()).toMatch(/rule at pos 1 is not valid: duplicate id/);
  });

  it('survives a large hostile file', async () => {
    const many = Array.from({ length: 10_000 }, () => `    - {metric_name: bad}`).join('\n');
    await files({ 'a.yaml': `tenants:\n  "*":\n${many}\n`, 'b.yaml': `a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\n` });
    const message = await loadError();
    expect(message).toMatch(/^\d+ problems in provisioned recording rules/);
    expect(message).toContain('pos 9999');
  });
});

// kiln rules list|get|create|update|delete|apply — a tenant's recording rules in a running Kiln,
// through settings.v1.RecordingRulesService (Connect).
//
// Rule files are YAML (or JSON) with the snake_case keys of the rules/ folder: one rule, or a
// list of rules. `apply` makes the tenant's API rules equal to the files: rules without an id get
// the same deterministic id as in the rules/ folder, so applying the same files twice changes
// nothing.

import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Code, ConnectError, createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { toJson } from '@bufbuild/protobuf';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { RecordingRuleSchema, RecordingRulesService, type RecordingRule } from '../gen/settings/v1/recording_rules_pb.js';
import { parseRuleEntry } from '../profiles/rules/provisioned.js';
import { parseCommandArgs, printTable, UsageError } from './output.js';

const RULES_HELP = `Usage:
  kiln rules list                  [flags]
  kiln rules get <id>              [flags]
  kiln rules create -f <file>      [flags]   (a rule without an id gets a generated one)
  kiln rules update -f <file>      [flags]   (the rule's id must exist)
  kiln rules delete <id>           [flags]
  kiln rules apply -f <dir|file>   [flags] [-dry-run]
                                   make the tenant's rules match the files: create, update, delete

Flags:
  -address=http://localhost:4040   Kiln's HTTP address
  -tenant=T                        tenant (X-Scope-OrgID); default: none (Kiln's no-auth tenant)
  -username=U -password=P          HTTP basic auth
  -token=T                         bearer token
  -o=table|json|yaml               output format of list and get (default table)
`;

type RulesClient = Client<typeof RecordingRulesService>;

function clientFor(flags: Map<string, string>): RulesClient {
  const headers: Array<[string, string]> = [];
  const tenant = flags.get('tenant');
  if (tenant) headers.push(['X-Scope-OrgID', tenant]);
  const token = flags.get('token');
  const user = flags.get('username');
  if (token) headers.push(['Authorization', `Bearer ${token}`]);
  else if (user !== undefined) headers.push(['Authorization', `Basic ${Buffer.from(`${user}:${flags.get('password') ?? ''}`).toString('base64')}`]);
  const auth: Interceptor = (next) => (req) => {
    for (const [k, v] of headers) req.header.set(k, v);
    return next(req);
  };
  return createClient(RecordingRulesService, createConnectTransport({ baseUrl: flags.get('address') ?? 'http://localhost:4040', httpVersion: '1.1', interceptors: [auth] }));
}

/** The rule as a file holds it (snake_case, defaults omitted): what -o yaml prints and -f reads. */
function ruleEntry(r: RecordingRule): Record<string, unknown> {
  const entry: Record<string, unknown> = { id: r.id, metric_name: r.metricName, matchers: r.matchers };
  if (r.groupBy.length > 0) entry.group_by = r.groupBy;
  if (r.externalLabels.length > 0) entry.external_labels = r.externalLabels.map((l) => ({ name: l.name, value: l.value }));
  const fn = r.stacktraceFilter?.functionName?.functionName;
  if (fn !== undefined) entry.stacktrace_filter = { function_name: { function_name: fn, metric_type: 'TOTAL' } };
  return entry;
}

function print(rules: RecordingRule[], format: string): void {
  switch (format) {
    case 'json':
      process.stdout.write(`${JSON.stringify(rules.map((r) => toJson(RecordingRuleSchema, r)), null, 2)}\n`);
      return;
    case 'yaml':
      process.stdout.write(toYaml(rules.map(ruleEntry)));
      return;
    case 'table':
      printTable(
        ['ID', 'METRIC', 'PROFILE TYPE', 'MATCHERS', 'GROUP BY', 'FUNCTION', 'GENERATION', 'SOURCE'],
        rules.map((r) => [
          r.id,
          r.metricName,
          r.profileType,
          r.matchers.join(' '),
          r.groupBy.join(',') || '-',
          r.stacktraceFilter?.functionName?.functionName || '-',
          String(r.generation),
          r.provisioned ? 'provisioned (read-only)' : 'api',
        ]),
      );
      return;
    default:
      throw new UsageError(`invalid value "${format}" for flag -o: want table, json or yaml`);
  }
}

/** The rules in a file (one rule or a list) or in every .yaml/.yml/.json file of a directory. */
async function readRuleFiles(target: string): Promise<Array<{ rule: RecordingRule; idGiven: boolean; where: string }>> {
  const files = (await stat(target)).isDirectory()
    ? (await readdir(target)).filter((n) => /\.(ya?ml|json)$/.test(n) && !n.startsWith('.')).sort().map((n) => path.join(target, n))
    : [target];
  const out: Array<{ rule: RecordingRule; idGiven: boolean; where: string }> = [];
  for (const file of files) {
    let doc: unknown;
    try {
      doc = parseYaml(await readFile(file, 'utf8'), { maxAliasCount: 100 });
    } catch (e) {
      throw new Error(`${file}: invalid YAML: ${(e as Error).message}`);
    }
    const items = Array.isArray(doc) ? doc : doc === null || doc === undefined ? [] : [doc];
    items.forEach((item: unknown, pos) => {
      const where = items.length === 1 ? file : `${file}: rule at pos ${pos}`;
      try {
        const rule = parseRuleEntry(item);
        rule.provisioned = false;
        const idGiven = typeof (item as { id?: unknown }).id === 'string' && (item as { id: string }).id !== '';
        out.push({ rule, idGiven, where });
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message}`);
      }
    });
  }
  return out;
}

async function oneRuleFile(flags: Map<string, string>): Promise<{ rule: RecordingRule; idGiven: boolean }> {
  const file = flags.get('f');
  if (!file) throw new UsageError('missing -f <file>');
  const rules = await readRuleFiles(file);
  if (rules.length !== 1) throw new UsageError(`${file} holds ${rules.length} rules; create and update take one (use apply for several)`);
  return rules[0]!;
}

const upsertOf = (r: RecordingRule, id: string, generation: bigint) => ({
  id,
  metricName: r.metricName,
  matchers: r.matchers,
  groupBy: r.groupBy,
  externalLabels: r.externalLabels,
  generation,
  stacktraceFilter: r.stacktraceFilter,
});

/** What makes two rules record the same thing (ids and generations aside). */
function sameDefinition(a: RecordingRule, b: RecordingRule): boolean {
  const key = (r: RecordingRule) => JSON.stringify({ ...ruleEntry(r), id: '' });
  return key(a) === key(b);
}

async function apply(client: RulesClient, flags: Map<string, string>): Promise<number> {
  const target = flags.get('f');
  if (!target) throw new UsageError('missing -f <dir|file>');
  const wanted = await readRuleFiles(target);
  const seen = new Map<string, string>();
  for (const w of wanted) {
    const first = seen.get(w.rule.id);
    if (first !== undefined) throw new Error(`rule id ${w.rule.id} appears twice: ${first} and ${w.where}`);
    seen.set(w.rule.id, w.where);
  }
  const existing = (await client.listRecordingRules({})).rules;
  const current = new Map(existing.filter((r) => !r.provisioned).map((r) => [r.id, r]));
  const provisioned = new Set(existing.filter((r) => r.provisioned).map((r) => r.id));

  const creates: RecordingRule[] = [];
  const updates: Array<[RecordingRule, RecordingRule]> = [];
  for (const { rule, where } of wanted) {
    if (provisioned.has(rule.id)) throw new Error(`${where}: rule ${rule.id} is provisioned from the server's rules folder and cannot be applied`);
    const have = current.get(rule.id);
    if (!have) creates.push(rule);
    else if (!sameDefinition(have, rule)) updates.push([have, rule]);
  }
  const deletes = [...current.values()].filter((r) => !seen.has(r.id));
  const dryRun = ['true', '1', 't', 'T', 'TRUE', 'True'].includes(flags.get('dry-run') ?? 'false');

  for (const r of creates) process.stdout.write(`+ create ${r.id} ${r.metricName}\n`);
  for (const [have, r] of updates) process.stdout.write(`~ update ${r.id} ${r.metricName}\n${diffLines(have, r)}`);
  for (const r of deletes) process.stdout.write(`- delete ${r.id} ${r.metricName}\n`);
  process.stdout.write(`${creates.length} to create, ${updates.length} to update, ${deletes.length} to delete${dryRun ? ' (dry run: nothing changed)' : ''}\n`);
  if (dryRun) return 0;

  for (const r of creates) await client.upsertRecordingRule(upsertOf(r, r.id, 0n));
  for (const [have, r] of updates) await client.upsertRecordingRule(upsertOf(r, r.id, have.generation));
  for (const r of deletes) await client.deleteRecordingRule({ id: r.id });
  return 0;
}

/** `    - field: old` / `    + field: new` for each field that differs. */
function diffLines(a: RecordingRule, b: RecordingRule): string {
  const ea = ruleEntry(a);
  const eb = ruleEntry(b);
  let out = '';
  for (const k of new Set([...Object.keys(ea), ...Object.keys(eb)])) {
    const [va, vb] = [JSON.stringify(ea[k] ?? null), JSON.stringify(eb[k] ?? null)];
    if (va !== vb) out += `    - ${k}: ${va}\n    + ${k}: ${vb}\n`;
  }
  return out;
}

async function run(sub: string, flags: Map<string, string>, positional: string[]): Promise<number> {
  const client = clientFor(flags);
  const format = flags.get('o') ?? 'table';
  switch (sub) {
    case 'list':
      print((await client.listRecordingRules({})).rules, format);
      return 0;
    case 'get': {
      if (!positional[0]) throw new UsageError('missing rule id: kiln rules get <id>');
      print([(await client.getRecordingRule({ id: positional[0] })).rule!], format);
      return 0;
    }
    case 'create': {
      const { rule, idGiven } = await oneRuleFile(flags);
      const res = await client.upsertRecordingRule(upsertOf(rule, idGiven ? rule.id : '', 0n));
      process.stdout.write(`created rule ${res.rule!.id}\n`);
      return 0;
    }
    case 'update': {
      const { rule, idGiven } = await oneRuleFile(flags);
      if (!idGiven) throw new UsageError('the rule to update needs its id in the file');
      const have = (await client.getRecordingRule({ id: rule.id })).rule!;
      const res = await client.upsertRecordingRule(upsertOf(rule, rule.id, have.generation));
      process.stdout.write(`updated rule ${res.rule!.id} (generation ${res.rule!.generation})\n`);
      return 0;
    }
    case 'delete':
      if (!positional[0]) throw new UsageError('missing rule id: kiln rules delete <id>');
      await client.deleteRecordingRule({ id: positional[0] });
      process.stdout.write(`deleted rule ${positional[0]}\n`);
      return 0;
    case 'apply':
      return apply(client, flags);
    default:
      process.stderr.write(RULES_HELP);
      return 2;
  }
}

export async function rulesCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-help' || sub === '--help' || sub === '-h') {
    process.stderr.write(RULES_HELP);
    return 2;
  }
  const { flags, positional } = parseCommandArgs(rest, { values: ['address', 'tenant', 'username', 'password', 'token', 'o', 'f'], bools: ['dry-run'] });
  try {
    return await run(sub, flags, positional);
  } catch (e) {
    // The server's message says what was wrong (e.g. "invalid request: ..."); drop Connect's code prefix.
    if (e instanceof ConnectError) throw new Error(e.code === Code.Unavailable ? `cannot reach Kiln at ${flags.get('address') ?? 'http://localhost:4040'}: ${e.rawMessage}` : e.rawMessage);
    throw e;
  }
}

// Provisioned recording rules: the operator's rules, read from YAML files in the folder named by
// -recording-rules.dir (default ./rules). They are read-only through the API (provisioned=true) and
// apply next to each tenant's own rules. docs/recording-rules.md describes the file format:
//
//   tenants:
//     "*":                     # every tenant
//       - metric_name: profiles_recorded_cpu_nanoseconds
//         matchers: ['{__profile_type__="process_cpu:cpu:nanoseconds:cpu:nanoseconds"}']
//         group_by: [service_name]
//     acme:                    # tenant "acme" only (in addition to "*")
//       - id: acmeGc
//         ...
//
// Loading is strict: one invalid rule, unknown key or duplicate id fails the whole load with a
// message naming the file, the tenant key and the rule's position, because a typo that silently
// dropped a filter would record the wrong numbers without anyone noticing.

import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { clone, create } from '@bufbuild/protobuf';
import { parseDocument } from 'yaml';

import {
  MetricType,
  RecordingRuleSchema,
  UpsertRecordingRuleRequestSchema,
  type RecordingRule,
} from '../../gen/settings/v1/recording_rules_pb.js';
import { LabelPairSchema } from '../../gen/types/v1/types_pb.js';
import { deterministicRuleId, InvalidRuleError, profileTypeOf, validateUpsert } from './validate.js';

/** The tenant key whose rules apply to every tenant. */
export const ALL_TENANTS = '*';

/** Generation of every provisioned rule: they are never written through the API. */
export const PROVISIONED_GENERATION = 0n;

/** Largest rules file read, so a stray huge file in the folder fails clearly instead of eating memory. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** The rules folder could not be read or holds an invalid rule; `problems` has one line per problem. */
export class ProvisionedRulesError extends Error {
  override name = 'ProvisionedRulesError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems in provisioned recording rules:\n${problems.join('\n')}`);
    this.problems = problems;
  }
}

export interface ProvisionedRules {
  /** The files read, sorted by name (paths as given by `dir`). */
  readonly files: readonly string[];
  /**
   * The tenant's provisioned rules: those of "*" first, then the tenant's own, each in file order.
   * Fresh copies: callers may modify them.
   */
  forTenant(tenant: string): RecordingRule[];
}

/**
 * Reads every `*.yaml`/`*.yml` file in `dir` (sorted by name; dotfiles ignored). A missing folder
 * means no provisioned rules; an unreadable one, a bad file or an invalid rule throws
 * ProvisionedRulesError listing every problem found.
 */
export async function loadProvisionedRules(dir: string): Promise<ProvisionedRules> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return rulesOf(new Map(), []);
    throw new ProvisionedRulesError([`cannot read recording rules folder ${dir}: ${(err as Error).message}`]);
  }
  const files = names
    .filter((n) => !n.startsWith('.') && (n.endsWith('.yaml') || n.endsWith('.yml')))
    .sort()
    .map((n) => path.join(dir, n));

  const problems: string[] = [];
  const byTenant = new Map<string, Located[]>();
  const read: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      const st = await stat(file);
      if (!st.isFile()) continue; // a folder named x.yaml
      if (st.size > MAX_FILE_BYTES) {
        problems.push(`${file}: larger than ${MAX_FILE_BYTES} bytes`);
        continue;
      }
      text = await readFile(file, 'utf8');
    } catch (err) {
      problems.push(`${file}: cannot read: ${(err as Error).message}`);
      continue;
    }
    read.push(file);
    for (const r of parseRulesFile(file, text, problems)) {
      const list = byTenant.get(r.tenant) ?? [];
      list.push(r);
      byTenant.set(r.tenant, list);
    }
  }

  checkDuplicateIds(byTenant, problems);
  if (problems.length > 0) throw new ProvisionedRulesError(problems);
  const rules = new Map([...byTenant].map(([tenant, list]) => [tenant, list.map((l) => l.rule)]));
  return rulesOf(rules, read);
}

function rulesOf(byTenant: Map<string, RecordingRule[]>, files: string[]): ProvisionedRules {
  return {
    files,
    forTenant(tenant: string): RecordingRule[] {
      const all = byTenant.get(ALL_TENANTS) ?? [];
      const own = tenant === ALL_TENANTS ? [] : (byTenant.get(tenant) ?? []);
      return [...all, ...own].map((r) => clone(RecordingRuleSchema, r));
    },
  };
}

/** A rule and where it was written, for error messages. */
interface Located {
  tenant: string;
  rule: RecordingRule;
  where: string;
}

// ---------------------------------------------------------------------------------------------
// One file

const RULE_KEYS = new Set(['id', 'metric_name', 'matchers', 'group_by', 'external_labels', 'stacktrace_filter']);

/** The rules of one file; problems are appended (with file and position) instead of thrown. */
function parseRulesFile(file: string, text: string, problems: string[]): Located[] {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    problems.push(`${file}: invalid YAML: ${doc.errors[0]!.message}`);
    return [];
  }
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    problems.push(`${file}: invalid YAML: ${(err as Error).message}`);
    return [];
  }
  if (root === null || root === undefined) return []; // an empty file (or only comments)
  if (!isMap(root)) {
    problems.push(`${file}: expected a map with a "tenants" key at the top`);
    return [];
  }
  for (const k of Object.keys(root)) if (k !== 'tenants') problems.push(`${file}: unknown top-level key ${JSON.stringify(k)} (only "tenants")`);
  const tenants = root.tenants ?? {};
  if (!isMap(tenants)) {
    problems.push(`${file}: "tenants" must map tenant ids (or "*") to lists of rules`);
    return [];
  }

  const out: Located[] = [];
  for (const [tenant, list] of Object.entries(tenants)) {
    const at = `${file}: tenants[${JSON.stringify(tenant)}]`;
    if (tenant === '') {
      problems.push(`${at}: the tenant id must not be empty (use "*" for every tenant)`);
      continue;
    }
    if (list === null) continue; // `acme:` with nothing under it
    if (!Array.isArray(list)) {
      problems.push(`${at}: expected a list of rules`);
      continue;
    }
    list.forEach((item: unknown, pos: number) => {
      const where = `${at} rule at pos ${pos}`;
      try {
        out.push({ tenant, rule: parseRuleEntry(item), where });
      } catch (err) {
        problems.push(`${where} is not valid: ${(err as Error).message}`);
      }
    });
  }
  return out;
}

/**
 * One YAML rule → a validated, provisioned RecordingRule. Throws a readable Error on any problem:
 * first the shape (unknown keys, wrong types), then the same validation as the API.
 */
export function parseRuleEntry(item: unknown): RecordingRule {
  if (!isMap(item)) throw new Error('expected a map with metric_name, matchers, ...');
  const shape: string[] = [];
  for (const k of Object.keys(item)) {
    if (!RULE_KEYS.has(k)) shape.push(`unknown key ${JSON.stringify(k)} (allowed: ${[...RULE_KEYS].join(', ')})`);
  }
  const str = (key: string): string => {
    const v = item[key] ?? '';
    if (typeof v !== 'string') shape.push(`${key} must be a string`);
    return typeof v === 'string' ? v : '';
  };
  const strings = (key: string): string[] => {
    const v = item[key] ?? [];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
      shape.push(`${key} must be a list of strings`);
      return [];
    }
    return v as string[];
  };

  const id = str('id');
  const metricName = str('metric_name');
  const matchers = strings('matchers');
  const groupBy = strings('group_by');

  const externalLabels: Array<{ name: string; value: string }> = [];
  const labels = item.external_labels ?? [];
  if (!Array.isArray(labels)) shape.push('external_labels must be a list of {name, value}');
  else {
    labels.forEach((l: unknown, i: number) => {
      if (!isMap(l) || Object.keys(l).some((k) => k !== 'name' && k !== 'value') || typeof l.name !== 'string' || typeof l.value !== 'string') {
        shape.push(`external_labels[${i}] must be {name: <string>, value: <string>}`);
      } else externalLabels.push({ name: l.name, value: l.value });
    });
  }

  let functionName: string | undefined;
  const filter = item.stacktrace_filter;
  if (filter !== undefined && filter !== null) {
    const fn = isMap(filter) ? filter.function_name : undefined;
    if (!isMap(filter) || Object.keys(filter).some((k) => k !== 'function_name') || !isMap(fn)) {
      shape.push('stacktrace_filter must be {function_name: {function_name: <name>, metric_type: TOTAL}}');
    } else {
      for (const k of Object.keys(fn)) if (k !== 'function_name' && k !== 'metric_type') shape.push(`unknown key stacktrace_filter.function_name.${k}`);
      if (typeof fn.function_name !== 'string') shape.push('stacktrace_filter.function_name.function_name must be a string');
      else functionName = fn.function_name;
      const type = fn.metric_type ?? 'TOTAL';
      if (type !== 'TOTAL' && type !== MetricType.TOTAL) shape.push('stacktrace_filter.function_name.metric_type must be TOTAL');
    }
  }
  if (shape.length > 0) throw new InvalidRuleError(shape);

  const fields = {
    id,
    metricName: metricName.trim(),
    matchers,
    groupBy,
    externalLabels: externalLabels.map((l) => create(LabelPairSchema, l)),
    stacktraceFilter: functionName === undefined ? undefined : { functionName: { functionName, metricType: MetricType.TOTAL } },
  };
  // Exactly the API's checks (also rejects a hand-written id that is not letters-only).
  validateUpsert(create(UpsertRecordingRuleRequestSchema, fields));
  return create(RecordingRuleSchema, {
    ...fields,
    id: id === '' ? deterministicRuleId(fields) : id,
    profileType: profileTypeOf(matchers),
    generation: PROVISIONED_GENERATION,
    provisioned: true,
  });
}

/** Within the effective set of each tenant ("*" plus its own), ids must be unique. */
function checkDuplicateIds(byTenant: Map<string, Located[]>, problems: string[]): void {
  const everyone = byTenant.get(ALL_TENANTS) ?? [];
  const sets = [everyone, ...[...byTenant].filter(([t]) => t !== ALL_TENANTS).map(([, own]) => [...everyone, ...own])];
  const reported = new Set<Located>();
  for (const set of sets) {
    const first = new Map<string, Located>();
    for (const r of set) {
      const prev = first.get(r.rule.id);
      if (!prev) first.set(r.rule.id, r);
      else if (!reported.has(r)) {
        reported.add(r);
        problems.push(`${r.where} is not valid: duplicate id ${JSON.stringify(r.rule.id)}, also used by ${prev.where}`);
      }
    }
  }
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

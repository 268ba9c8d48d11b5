// Validation of recording rules, shared by the settings API (UpsertRecordingRule), the provisioned
// rules in the rules/ folder and the compiler that the compaction observer uses.
//
// The checks follow Pyroscope's upsert validation (docs/recording-rules.md, "Validation"): every
// problem is collected, so a client sees all of them in one `invalid request: a; b; c` message.
// On top of Pyroscope's checks, Kiln bounds every size (a rule is evaluated against every series of
// every compaction, and the request arrives from the network), rejects blank selector strings and an
// empty or non-TOTAL stacktrace filter, and never throws anything but InvalidRuleError, whatever
// shape the input has.

import { createHash, randomInt } from 'node:crypto';

import type { UpsertRecordingRuleRequest } from '../../gen/settings/v1/recording_rules_pb.js';
import { MetricType } from '../../gen/settings/v1/recording_rules_pb.js';
import { parseSelector, type LabelMatcher } from './selector.js';

/** A rule that failed validation; `message` is `invalid request: <problem>; <problem>...`. */
export class InvalidRuleError extends Error {
  override name = 'InvalidRuleError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid request: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/** The fields that define what a rule records; RecordingRule and UpsertRecordingRuleRequest both have them. */
export interface RuleDefinition {
  metricName: string;
  matchers: readonly string[];
  groupBy: readonly string[];
  externalLabels: ReadonlyArray<{ name: string; value: string }>;
  stacktraceFilter?: { functionName?: { functionName: string } | undefined } | undefined;
}

// ---------------------------------------------------------------------------------------------
// Names and bounds

/** Every recorded metric carries this prefix, so profile-derived series are recognizable in Prometheus. */
export const METRIC_NAME_PREFIX = 'profiles_recorded_';
export const PROFILE_TYPE_LABEL = '__profile_type__';

// Remote write 1.0 needs "legacy" Prometheus names (Pyroscope #4522).
const LEGACY_METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RULE_ID = /^[a-zA-Z]+$/;
/** Labels every recorded series gets from Kiln; a group_by of them would clash. */
const RESERVED_LABELS = new Set(['__name__', 'profiles_rule_id']);

/** Size bounds; documented in docs/recording-rules.md. Lengths are in UTF-16 code units (JS string length). */
export const LIMITS = {
  idLength: 64,
  metricNameLength: 1024,
  matchers: 100,
  matcherLength: 4096,
  groupBy: 100,
  labelNameLength: 1024,
  externalLabels: 100,
  labelValueLength: 2048,
  functionNameLength: 16384,
} as const;

// ---------------------------------------------------------------------------------------------
// Upsert validation

/**
 * Checks an upsert request and throws InvalidRuleError listing every problem; returns if valid.
 * An empty id is valid (the service generates one). The request may come from JSON, so every
 * field is treated as possibly missing or of the wrong type.
 */
export function validateUpsert(req: UpsertRecordingRuleRequest): void {
  const problems: string[] = [];
  const r = (req ?? {}) as unknown as Record<string, unknown>;

  // id: empty means "create"; otherwise letters only, like generated ids.
  const id = r.id ?? '';
  if (typeof id !== 'string') problems.push('id must be a string');
  else if (id !== '') {
    if (id.length > LIMITS.idLength) problems.push(`id is longer than ${LIMITS.idLength} characters`);
    else if (!RULE_ID.test(id)) problems.push(`id ${show(id)} must contain only letters a-z and A-Z`);
  }

  checkDefinition(r, problems);

  // generation: the client's last seen generation; 0 for a new rule.
  const generation = r.generation ?? 0n;
  if (!isNonNegativeInteger(generation)) problems.push(`generation must be positive (got ${show(String(generation))})`);

  if (problems.length > 0) throw new InvalidRuleError(problems);
}

/**
 * The checks shared by upserts and stored/provisioned rules: metric name, matchers, group_by,
 * external labels and stacktrace filter. Appends a readable message per problem and returns the
 * parsed matchers (of the selectors that parsed).
 */
function checkDefinition(r: Record<string, unknown>, problems: string[]): LabelMatcher[] {
  // metric_name: trimmed (a stray space from a form is not an error), then legacy-valid + prefixed.
  const rawName = r.metricName ?? '';
  if (typeof rawName !== 'string') problems.push('metric_name must be a string');
  else {
    const name = rawName.trim();
    if (name === '') problems.push('metric_name is required');
    else if (name.length > LIMITS.metricNameLength) problems.push(`metric_name is longer than ${LIMITS.metricNameLength} characters`);
    else {
      if (!LEGACY_METRIC_NAME.test(name)) problems.push(`metric_name ${show(name)} must match ${LEGACY_METRIC_NAME.source}`);
      if (!name.startsWith(METRIC_NAME_PREFIX)) problems.push(`metric_name ${show(name)} must start with ${METRIC_NAME_PREFIX}`);
    }
  }

  // matchers: every selector parses; over all of them exactly one __profile_type__ matcher, an `=`.
  const parsed: LabelMatcher[] = [];
  const selectors = stringList(r.matchers, 'matchers', LIMITS.matchers, problems);
  if (selectors) {
    selectors.forEach((text, i) => {
      if (text.trim() === '') return problems.push(`matchers[${i}] is empty (use {} to match every series)`);
      if (text.length > LIMITS.matcherLength) return problems.push(`matchers[${i}] is longer than ${LIMITS.matcherLength} characters`);
      try {
        parsed.push(...parseSelector(text));
      } catch (err) {
        problems.push(`matchers[${i}] is invalid: ${(err as Error).message}`);
      }
      return undefined;
    });
    const profileTypes = parsed.filter((m) => m.name === PROFILE_TYPE_LABEL);
    if (profileTypes.length === 0) {
      problems.push(`matchers must select a profile type, e.g. {${PROFILE_TYPE_LABEL}="process_cpu:cpu:nanoseconds:cpu:nanoseconds"}`);
    } else if (profileTypes.length > 1) {
      problems.push(`matchers must contain exactly one ${PROFILE_TYPE_LABEL} matcher, found ${profileTypes.length}`);
    } else if (profileTypes[0]!.type !== '=') {
      problems.push(`the ${PROFILE_TYPE_LABEL} matcher must be an equality (=), not ${profileTypes[0]!.type}`);
    }
  }

  // group_by: legacy label names (they become labels of the exported series).
  const groupBy = stringList(r.groupBy, 'group_by', LIMITS.groupBy, problems);
  groupBy?.forEach((name, i) => {
    if (name.length > LIMITS.labelNameLength) problems.push(`group_by[${i}] is longer than ${LIMITS.labelNameLength} characters`);
    else if (!LEGACY_LABEL_NAME.test(name)) problems.push(`group_by[${i}] ${show(name)} is not a valid label name (${LEGACY_LABEL_NAME.source})`);
    else if (RESERVED_LABELS.has(name)) problems.push(`group_by[${i}] ${show(name)} is set by Kiln on every recorded series`);
    else if (groupBy.indexOf(name) !== i) problems.push(`group_by[${i}] ${show(name)} is listed twice`);
  });

  // external_labels: legacy names, UTF-8 values. __name__ and profiles_rule_id pass here and are
  // dropped by compileRule (Pyroscope drops them silently too).
  const labels = r.externalLabels ?? [];
  if (!Array.isArray(labels)) problems.push('external_labels must be a list');
  else if (labels.length > LIMITS.externalLabels) problems.push(`external_labels has ${labels.length} entries, at most ${LIMITS.externalLabels} allowed`);
  else {
    const seen = new Set<string>();
    labels.forEach((pair: unknown, i) => {
      const { name, value } = (pair ?? {}) as { name?: unknown; value?: unknown };
      const n = name ?? '';
      const v = value ?? '';
      if (typeof n !== 'string' || typeof v !== 'string') return problems.push(`external_labels[${i}] must have a string name and value`);
      if (n.length > LIMITS.labelNameLength) problems.push(`external_labels[${i}] name is longer than ${LIMITS.labelNameLength} characters`);
      else if (!LEGACY_LABEL_NAME.test(n)) problems.push(`external_labels[${i}] name ${show(n)} is not a valid label name (${LEGACY_LABEL_NAME.source})`);
      else if (seen.has(n)) problems.push(`external_labels[${i}] name ${show(n)} is listed twice`);
      else if (groupBy?.includes(n)) problems.push(`external_labels[${i}] name ${show(n)} is also a group_by label`);
      seen.add(n);
      if (v.length > LIMITS.labelValueLength) problems.push(`external_labels[${i}] value is longer than ${LIMITS.labelValueLength} characters`);
      else if (!isValidUtf8(v)) problems.push(`external_labels[${i}] value is not valid UTF-8`);
      return undefined;
    });
  }

  // stacktrace_filter: optional; if present it must name a function. Kiln only computes TOTAL, so an
  // unknown metric type is refused instead of silently computed as TOTAL.
  const filter = r.stacktraceFilter;
  if (filter !== undefined && filter !== null) {
    const fn = (filter as { functionName?: unknown }).functionName;
    if (fn !== undefined && fn !== null) {
      const { functionName, metricType } = fn as { functionName?: unknown; metricType?: unknown };
      const name = functionName ?? '';
      if (typeof name !== 'string') problems.push('stacktrace_filter.function_name.function_name must be a string');
      else if (name === '') problems.push('stacktrace_filter.function_name.function_name is required when a function filter is given');
      else if (name.length > LIMITS.functionNameLength) problems.push(`stacktrace_filter.function_name.function_name is longer than ${LIMITS.functionNameLength} characters`);
      else if (!isValidUtf8(name)) problems.push('stacktrace_filter.function_name.function_name is not valid UTF-8');
      if ((metricType ?? MetricType.TOTAL) !== MetricType.TOTAL) problems.push('stacktrace_filter.function_name.metric_type must be TOTAL');
    }
  }
  return parsed;
}

/**
 * Validates the definition of a stored or provisioned rule (no id/generation rules) and returns its
 * parsed matchers; throws InvalidRuleError listing every problem. Used by compileRule.
 */
export function validateDefinition(rule: RuleDefinition): LabelMatcher[] {
  const problems: string[] = [];
  const matchers = checkDefinition((rule ?? {}) as unknown as Record<string, unknown>, problems);
  if (problems.length > 0) throw new InvalidRuleError(problems);
  return matchers;
}

/** A list of strings, or undefined (with a problem recorded) if it is not one or too long. */
function stringList(value: unknown, field: string, max: number, problems: string[]): string[] | undefined {
  const list = value ?? [];
  if (!Array.isArray(list)) {
    problems.push(`${field} must be a list of strings`);
    return undefined;
  }
  if (list.length > max) {
    problems.push(`${field} has ${list.length} entries, at most ${max} allowed`);
    return undefined;
  }
  if (!list.every((s) => typeof s === 'string')) {
    problems.push(`${field} must be a list of strings`);
    return undefined;
  }
  return list as string[];
}

function isNonNegativeInteger(v: unknown): boolean {
  if (typeof v === 'bigint') return v >= 0n;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0;
  if (typeof v === 'string') return /^\d{1,19}$/.test(v); // int64 as a JSON string
  return false;
}

/** JS strings are UTF-16; only a lone surrogate has no UTF-8 encoding. */
function isValidUtf8(s: string): boolean {
  return !/\p{Surrogate}/u.test(s);
}

/** A value quoted for a message, shortened so hostile input cannot produce a huge error. */
function show(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

// ---------------------------------------------------------------------------------------------
// Ids and profile type

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ID_LENGTH = 10;

/** A new rule id: 10 letters from [a-zA-Z], uniformly chosen with a cryptographic RNG. */
export function generateRuleId(): string {
  let id = '';
  for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/**
 * The rule's profile type: the value of the first `__profile_type__ =` matcher over the selectors,
 * or "unknown" (also for selectors that do not parse — this is a display field, not a check).
 */
export function profileTypeOf(matchers: readonly string[]): string {
  for (const text of matchers ?? []) {
    if (typeof text !== 'string' || text.length > LIMITS.matcherLength) continue;
    let parsed: LabelMatcher[];
    try {
      parsed = parseSelector(text);
    } catch {
      continue;
    }
    const m = parsed.find((x) => x.name === PROFILE_TYPE_LABEL && x.type === '=');
    if (m) return m.value;
  }
  return 'unknown';
}

/**
 * The id of a provisioned rule that has none, stable across restarts and replicas.
 *
 * SHA-256 over this byte layout, where str(s) is a 4-byte big-endian length followed by the UTF-8
 * bytes of s, and u32(n) is a 4-byte big-endian count (lengths keep "ab"+"c" apart from "a"+"bc"):
 *
 *   str(metric_name trimmed) str(profile_type)
 *   u32(#matchers)        str(m)...   matchers sorted by their UTF-8 bytes
 *   u32(#group_by)        str(g)...   group_by sorted by their UTF-8 bytes
 *   u32(#external_labels) str(name) str(value)...   in the rule's order
 *   str(function_name or "")
 *
 * The first 10 bytes of the digest map to letters: ID_ALPHABET[byte % 52], ID_ALPHABET = a-z then A-Z.
 */
export function deterministicRuleId(rule: RuleDefinition): string {
  const parts: Buffer[] = [];
  const str = (s: string): void => {
    const b = Buffer.from(s, 'utf8');
    parts.push(u32(b.length), b);
  };
  const sortedBytes = (xs: readonly string[]): string[] => [...xs].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

  str(rule.metricName.trim());
  str(profileTypeOf(rule.matchers));
  parts.push(u32(rule.matchers.length));
  for (const m of sortedBytes(rule.matchers)) str(m);
  parts.push(u32(rule.groupBy.length));
  for (const g of sortedBytes(rule.groupBy)) str(g);
  parts.push(u32(rule.externalLabels.length));
  for (const l of rule.externalLabels) {
    str(l.name);
    str(l.value);
  }
  str(rule.stacktraceFilter?.functionName?.functionName ?? '');

  const digest = createHash('sha256').update(Buffer.concat(parts)).digest();
  let id = '';
  for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[digest[i]! % ID_ALPHABET.length];
  return id;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

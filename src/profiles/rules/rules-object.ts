// The bucket object that holds one tenant's API-managed recording rules, in
// Pyroscope's format (docs/recording-rules.md, "Storage"), so a bucket can be
// moved between Pyroscope and Kiln:
//
//   <tenant>/settings/recording_rule.v1.json
//   {"generation":"<int64 as decimal string>","elements":[<RecordingRuleStore as protojson>,...]}
//
// Elements are protojson: lowerCamelCase names, int64 as strings, default
// values omitted. Older writers used the key "rules" instead of "elements".
// Decoding is strict (unknown fields, duplicate ids, wrong types are errors):
// an object Kiln does not fully understand must not be rewritten, because a
// rewrite would drop what it did not understand.

import { create, fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import { type RecordingRuleStore, RecordingRuleStoreSchema } from '../../gen/settings/v1/recording_rules_pb.js';

/** A tenant's stored rules and the collection generation, bumped by every write. */
export interface RulesCollection {
  generation: bigint;
  rules: RecordingRuleStore[];
}

export const EMPTY_COLLECTION: RulesCollection = Object.freeze({ generation: 0n, rules: [] as RecordingRuleStore[] });

/** The object key of a tenant's rules. */
export function rulesObjectKey(tenant: string): string {
  return `${tenant}/settings/recording_rule.v1.json`;
}

/** The object exists but is not a rules collection Kiln can read; it is never overwritten automatically. */
export class CorruptRulesError extends Error {
  override name = 'CorruptRulesError';
  constructor(readonly key: string, reason: string) {
    super(`recording rules object ${key} is corrupt: ${reason}; fix or delete it (writes to this tenant's rules are refused until then)`);
  }
}

export function encodeRulesCollection(c: RulesCollection): Uint8Array {
  const doc = {
    generation: c.generation.toString(),
    elements: c.rules.map((r) => toJson(RecordingRuleStoreSchema, r)),
  };
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

const INT64 = /^-?\d{1,19}$/;

export function decodeRulesCollection(body: Uint8Array, key: string): RulesCollection {
  const fail = (reason: string): never => {
    throw new CorruptRulesError(key, reason);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    return fail(`not JSON (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return fail('not a JSON object');
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['generation', 'elements', 'rules'].includes(k)) fail(`unknown key ${JSON.stringify(k)}`);

  // protojson writes int64 as a string but accepts numbers; a missing field is 0.
  let generation = 0n;
  const g = o.generation;
  if (typeof g === 'string' && INT64.test(g)) generation = BigInt(g);
  else if (typeof g === 'number' && Number.isSafeInteger(g)) generation = BigInt(g);
  else if (g !== undefined && g !== null) fail(`generation ${JSON.stringify(g)} is not an integer`);
  if (generation < 0n) fail(`generation ${generation} is negative`);

  if (o.elements !== undefined && o.rules !== undefined) fail('has both "elements" and "rules"');
  const list = o.elements ?? o.rules ?? [];
  if (!Array.isArray(list)) return fail('"elements" is not a list');

  const ids = new Set<string>();
  const rules = list.map((e: unknown, i) => {
    let rule: RecordingRuleStore;
    try {
      rule = fromJson(RecordingRuleStoreSchema, e as JsonValue);
    } catch (err) {
      return fail(`element ${i}: ${(err as Error).message}`);
    }
    if (rule.id === '') fail(`element ${i} has no id`);
    if (ids.has(rule.id)) fail(`id ${JSON.stringify(rule.id)} appears twice`);
    if (rule.generation < 0n) fail(`element ${i} has a negative generation`);
    ids.add(rule.id);
    return rule;
  });
  return { generation, rules };
}

/** A copy of a rule with another generation (stored rules are treated as immutable values). */
export function withGeneration(rule: RecordingRuleStore, generation: bigint): RecordingRuleStore {
  return create(RecordingRuleStoreSchema, { ...rule, generation });
}

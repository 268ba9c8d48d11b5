// The rule store over a real filesystem bucket: the stored JSON, generation
// semantics, the limit, corrupt objects, the cache bound, and compare-and-swap
// between two store instances (as two processes would have).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { MetricType, type RecordingRuleStore, RecordingRuleStoreSchema } from '../../../src/gen/settings/v1/recording_rules_pb.js';
import type { Bucket } from '../../../src/objstore/bucket.js';
import { FilesystemBucket } from '../../../src/objstore/filesystem.js';
import { CorruptRulesError, rulesObjectKey } from '../../../src/profiles/rules/rules-object.js';
import {
  InvalidTenantError,
  RuleConflictError,
  RuleLimitError,
  RuleNotFoundError,
  RuleStore,
  type RuleStoreOptions,
} from '../../../src/profiles/rules/store.js';

const logger = pino({ level: 'silent' });
const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

async function bucketDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'kiln-rulestore-'));
  temps.push(d);
  return d;
}

const CPU = '{__profile_type__="process_cpu:cpu:nanoseconds:cpu:nanoseconds"}';

function rule(id: string, init: MessageInitShape<typeof RecordingRuleStoreSchema> = {}): RecordingRuleStore {
  return create(RecordingRuleStoreSchema, { id, metricName: `profiles_recorded_${id}`, matchers: [CPU], ...init });
}

function newStore(bucket: Bucket, opts: Partial<RuleStoreOptions> = {}): RuleStore {
  return new RuleStore(bucket, { maxRulesPerTenant: 25, cacheTtlMs: 10_000, logger, ...opts });
}

const text = async (b: Bucket, tenant = 't1') => Buffer.from(await b.get(rulesObjectKey(tenant))).toString('utf8');

describe('RuleStore: stored object', () => {
  it('writes exactly the JSON of the spec: generation string, protojson elements, defaults omitted', async () => {
    const b = new FilesystemBucket(await bucketDir());
    const s = newStore(b);
    await s.upsert('t1', create(RecordingRuleStoreSchema, {
      id: 'abc',
      metricName: 'profiles_recorded_cpu_gc',
      matchers: ['{__profile_type__="process_cpu:cpu:nanoseconds:cpu:nanoseconds", region="emea"}'],
      groupBy: ['service_name'],
      externalLabels: [{ name: 'env', value: 'prod' }],
      generation: 7n, // ignored on insert
      stacktraceFilter: { functionName: { functionName: 'runtime.gcBgMarkWorker', metricType: MetricType.TOTAL } },
    }));
    expect(await text(b)).toBe(
      '{"generation":"1","elements":[{"id":"abc","metricName":"profiles_recorded_cpu_gc",' +
        '"matchers":["{__profile_type__=\\"process_cpu:cpu:nanoseconds:cpu:nanoseconds\\", region=\\"emea\\"}"],' +
        '"groupBy":["service_name"],"externalLabels":[{"name":"env","value":"prod"}],"generation":"1",' +
        '"stacktraceFilter":{"functionName":{"functionName":"runtime.gcBgMarkWorker"}}}]}',
    );
    // The object is at <tenant>/settings/recording_rule.v1.json and nothing else is in the bucket.
    expect((await b.list('')).map((o) => o.key)).toEqual(['t1/settings/recording_rule.v1.json']);
    // And reads back to the same rule (a fresh store has no cache).
    const [back] = await newStore(b).list('t1');
    expect(back?.stacktraceFilter?.functionName?.functionName).toBe('runtime.gcBgMarkWorker');
    expect(back?.externalLabels.map((l) => [l.name, l.value])).toEqual([['env', 'prod']]);
  });

  it('reads the older "rules" key and rewrites it as "elements" with the next generation', async () => {
    const b = new FilesystemBucket(await bucketDir());
    await b.put(rulesObjectKey('t1'), Buffer.from(JSON.stringify({
      generation: '7',
      rules: [{ id: 'old', metricName: 'profiles_recorded_old', matchers: [CPU], generation: '3' }],
    })));
    const s = newStore(b);
    expect((await s.list('t1')).map((r) => [r.id, r.generation])).toEqual([['old', 3n]]);
    await s.upsert('t1', rule('new'));
    const doc = JSON.parse(await text(b)) as { generation: string; elements: { id: string; generation: string }[]; rules?: unknown };
    expect(doc.generation).toBe('8');
    expect(doc.rules).toBeUndefined();
    expect(doc.elements.map((e) => [e.id, e.generation])).toEqual([['old', '3'], ['new', '1']]);
  });

  it('accepts a numeric or missing generation and a missing list', async () => {
    const b = new FilesystemBucket(await bucketDir());
    await b.put(rulesObjectKey('a'), Buffer.from('{"generation":2,"elements":[]}'));
    await b.put(rulesObjectKey('b'), Buffer.from('{}'));
    const s = newStore(b);
    expect(await s.list('a')).toEqual([]);
    expect(await s.list('b')).toEqual([]);
    await s.upsert('b', rule('x'));
    expect(JSON.parse(await text(b, 'b'))).toMatchObject({ generation: '1' });
  });

  it.each([
    ['not JSON', 'nope{', /not JSON/],
    ['a list', '[]', /not a JSON object/],
    ['an unknown key', '{"elements":[],"extra":1}', /unknown key "extra"/],
    ['a bad generation', '{"generation":"x1"}', /generation "x1" is not an integer/],
    ['an element with an unknown field', '{"elements":[{"id":"a","colour":"red"}]}', /element 0: .*colour/],
    ['an element without id', '{"elements":[{"metricName":"profiles_recorded_a"}]}', /element 0 has no id/],
    ['a duplicate id', '{"elements":[{"id":"a"},{"id":"a"}]}', /id "a" appears twice/],
    ['both keys', '{"elements":[],"rules":[]}', /both "elements" and "rules"/],
  ])('refuses reads and writes when the object is %s, and keeps it as it is', async (_, body, why) => {
    const b = new FilesystemBucket(await bucketDir());
    await b.put(rulesObjectKey('t1'), Buffer.from(body));
    const s = newStore(b);
    const err = await s.list('t1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptRulesError);
    expect((err as Error).message).toMatch(why);
    expect((err as Error).message).toContain('recording rules object t1/settings/recording_rule.v1.json is corrupt');
    await expect(s.upsert('t1', rule('x'))).rejects.toBeInstanceOf(CorruptRulesError);
    await expect(s.delete('t1', 'a')).rejects.toBeInstanceOf(CorruptRulesError);
    expect(await text(b)).toBe(body);
    // Other tenants are not affected.
    await s.upsert('t2', rule('x'));
  });

  it('refuses a tenant id that cannot name an object', async () => {
    const s = newStore(new FilesystemBucket(await bucketDir()));
    await expect(s.list('.tmp-x')).rejects.toBeInstanceOf(InvalidTenantError);
    await expect(s.upsert('.tmp-x', rule('a'))).rejects.toThrow(/tenant ID ".tmp-x" cannot be stored/);
  });

  it('needs a bucket with conditional writes', () => {
    const plain = { put: async () => undefined } as unknown as Bucket;
    expect(() => newStore(plain)).toThrow(/needs a bucket with conditional writes/);
  });
});

describe('RuleStore: generations and limit', () => {
  it('inserts at generation 1, updates only from the stored generation, bumps the collection on every write', async () => {
    const b = new FilesystemBucket(await bucketDir());
    const s = newStore(b);
    const gen = async () => (JSON.parse(await text(b)) as { generation: string }).generation;
    expect((await s.upsert('t1', rule('a', { generation: 99n }))).generation).toBe(1n);
    expect(await gen()).toBe('1');
    const updated = await s.upsert('t1', rule('a', { generation: 1n, groupBy: ['x'] }));
    expect(updated.generation).toBe(2n);
    expect(updated.groupBy).toEqual(['x']);
    expect(await gen()).toBe('2');
    // A stale or zero generation is a conflict and changes nothing.
    for (const g of [1n, 0n, 3n]) {
      const err = await s.upsert('t1', rule('a', { generation: g })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RuleConflictError);
      expect((err as Error).message).toBe('conflicting update, please try again');
    }
    expect(await gen()).toBe('2');
    expect((await s.list('t1'))[0]?.groupBy).toEqual(['x']);
    // Delete.
    const missing = await s.delete('t1', 'zzz').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(RuleNotFoundError);
    expect((missing as Error).message).toBe("no rule with ID='zzz' found");
    await s.delete('t1', 'a');
    expect(await s.list('t1')).toEqual([]);
    expect(JSON.parse(await text(b))).toEqual({ generation: '3', elements: [] });
    // A deleted id can be created again, from generation 1.
    expect((await s.upsert('t1', rule('a', { generation: 2n }))).generation).toBe(1n);
  });

  it('refuses an insert at the limit, but still updates and deletes', async () => {
    const b = new FilesystemBucket(await bucketDir());
    const s = newStore(b, { maxRulesPerTenant: 2 });
    await s.upsert('t1', rule('a'));
    await s.upsert('t1', rule('b'));
    const err = await s.upsert('t1', rule('c')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuleLimitError);
    expect((err as Error).message).toBe('recording rules limit (2) exceeded for this tenant');
    expect((await s.list('t1')).map((r) => r.id)).toEqual(['a', 'b']);
    expect((await s.upsert('t1', rule('b', { generation: 1n }))).generation).toBe(2n);
    await s.delete('t1', 'a');
    await s.upsert('t1', rule('c'));
    // Tenants have their own limits and objects.
    await s.upsert('t2', rule('a'));
    expect((await s.list('t2')).map((r) => r.id)).toEqual(['a']);
  });
});

/** A bucket that runs `between` once, after the first versioned read and before the write that follows it. */
function interleaving(inner: FilesystemBucket, between: () => Promise<void>): Bucket {
  let armed = true;
  return Object.assign(Object.create(inner) as FilesystemBucket, {
    async getVersioned(key: string) {
      const got = await inner.getVersioned(key);
      if (armed) {
        armed = false;
        await between();
      }
      return got;
    },
  });
}

describe('RuleStore: compare-and-swap between stores', () => {
  it('keeps both writes when another store changes a different rule in between', async () => {
    const dir = await bucketDir();
    const other = newStore(new FilesystemBucket(dir));
    await other.upsert('t1', rule('a'));
    const registry = new Registry();
    const s = newStore(interleaving(new FilesystemBucket(dir), async () => void (await other.upsert('t1', rule('b')))), { registry });
    await s.upsert('t1', rule('c'));
    expect((await newStore(new FilesystemBucket(dir)).list('t1')).map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(await registry.getSingleMetricAsString('kiln_recording_rules_cas_retries_total')).toMatch(/ 1$/m);
  });

  it('turns a concurrent update of the same rule into a conflict', async () => {
    const dir = await bucketDir();
    const other = newStore(new FilesystemBucket(dir));
    await other.upsert('t1', rule('a'));
    const s = newStore(interleaving(new FilesystemBucket(dir), async () => void (await other.upsert('t1', rule('a', { generation: 1n, groupBy: ['other'] })))));
    await expect(s.upsert('t1', rule('a', { generation: 1n, groupBy: ['mine'] }))).rejects.toBeInstanceOf(RuleConflictError);
    const [a] = await newStore(new FilesystemBucket(dir)).list('t1');
    expect([a?.generation, a?.groupBy]).toEqual([2n, ['other']]);
  });

  it('loses no rule when two stores write many rules at once, and lets one of the same-generation updates win', async () => {
    const dir = await bucketDir();
    const [s1, s2] = [newStore(new FilesystemBucket(dir), { maxRulesPerTenant: 100 }), newStore(new FilesystemBucket(dir), { maxRulesPerTenant: 100 })];
    const ids = (p: string) => Array.from({ length: 15 }, (_, i) => `${p}${String.fromCharCode(97 + i)}`);
    await Promise.all([...ids('x').map((id) => s1.upsert('t1', rule(id))), ...ids('y').map((id) => s2.upsert('t1', rule(id)))]);
    const all = await newStore(new FilesystemBucket(dir)).list('t1');
    expect(all.map((r) => r.id).sort()).toEqual([...ids('x'), ...ids('y')].sort());

    const results = await Promise.allSettled([s1, s2, s1, s2].map((s, i) => s.upsert('t1', rule('xa', { generation: 1n, groupBy: [`w${i}`] }))));
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(RuleConflictError);
    const xa = (await newStore(new FilesystemBucket(dir)).list('t1')).find((r) => r.id === 'xa');
    expect(xa?.generation).toBe(2n);
  });
});

describe('RuleStore: cache', () => {
  it('serves reads from a cache at most cacheTtlMs old; its own writes at once', async () => {
    const dir = await bucketDir();
    let now = 1_000_000;
    const reader = newStore(new FilesystemBucket(dir), { cacheTtlMs: 10_000, now: () => now });
    const writer = newStore(new FilesystemBucket(dir), { cacheTtlMs: 10_000, now: () => now });
    expect(await reader.list('t1')).toEqual([]);
    await writer.upsert('t1', rule('a'));
    expect((await writer.list('t1')).map((r) => r.id)).toEqual(['a']); // read-your-writes
    now += 9_999;
    expect(await reader.list('t1')).toEqual([]); // still within the bound
    now += 1;
    expect((await reader.list('t1')).map((r) => r.id)).toEqual(['a']);
    // invalidate() forces a re-read.
    await writer.delete('t1', 'a');
    reader.invalidate('t1');
    expect(await reader.list('t1')).toEqual([]);
  });

  it('with cacheTtlMs 0 reads the bucket every time', async () => {
    const dir = await bucketDir();
    const reader = newStore(new FilesystemBucket(dir), { cacheTtlMs: 0 });
    const writer = newStore(new FilesystemBucket(dir));
    await reader.list('t1');
    await writer.upsert('t1', rule('a'));
    expect((await reader.list('t1')).map((r) => r.id)).toEqual(['a']);
  });

  it('does not let a read that started before a write overwrite the cache with older rules', async () => {
    const dir = await bucketDir();
    const inner = new FilesystemBucket(dir);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let slowReads = 1;
    const slow = Object.assign(Object.create(inner) as FilesystemBucket, {
      async getVersioned(key: string) {
        const got = await inner.getVersioned(key).catch((e: unknown) => e);
        if (slowReads-- > 0) await gate;
        if (got instanceof Error) throw got;
        return got as Awaited<ReturnType<FilesystemBucket['getVersioned']>>;
      },
    });
    const s = newStore(slow);
    const stale = s.list('t1'); // reads the empty bucket, then waits at the gate
    await new Promise((r) => setTimeout(r, 20));
    const write = s.upsert('t1', rule('a')); // queued writes read again (not gated)
    release();
    expect(await stale).toEqual([]);
    await write;
    expect((await s.list('t1')).map((r) => r.id)).toEqual(['a']);
  });
});

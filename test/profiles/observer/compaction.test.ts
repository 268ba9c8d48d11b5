// The observer on real compactions: level-0 segments built as the segment
// writer builds them (from profiles made in the test and from the testdata
// pprof files), merged by compactBlocks or by the worker's job runner. The
// expected values are computed independently from the source rows.

import { create } from '@bufbuild/protobuf';
import pino from 'pino';
import { decodeTime } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';
import { CompactionJobSchema } from '../../../src/gen/metastore/v1/compactor_pb.js';
import type { BlockMeta } from '../../../src/gen/metastore/v1/types_pb.js';
import type { RecordingRule } from '../../../src/gen/settings/v1/recording_rules_pb.js';
import { compactBlocks } from '../../../src/profiles/compaction/compact.js';
import { createJobRunner } from '../../../src/profiles/compaction/job-runner.js';
import { createObserverFactory, RuleCompiler, RulesUnavailableError } from '../../../src/profiles/observer/factory.js';
import { jobStamp } from '../../../src/profiles/observer/instance-label.js';
import { RecordingObserver } from '../../../src/profiles/observer/observer.js';
import { buildProfile } from '../../../src/profiles/pprof/encode.js';
import type { DecodedProfile } from '../../../src/profiles/pprof/profile.js';
import { compileRule } from '../../../src/profiles/rules/compiled.js';
import { MemoryBucket } from '../block/memory-bucket.js';
import { expectedMerge, ulidAt, writeSegment, type Push } from '../compaction/helpers.js';
import { ALLOC, apiRule, CPU, decode, samples } from './helpers.js';

const SHARD = 5;
const T0 = 1_763_700_000_000;
const silent = pino({ level: 'silent' });

/** A CPU profile from folded stacks ("root;…;leaf" → nanoseconds), as folded ingest builds it. */
function cpu(folded: Record<string, number>): DecodedProfile {
  return buildProfile({
    sampleTypes: [['cpu', 'nanoseconds']],
    periodType: ['cpu', 'nanoseconds'],
    period: 1,
    samples: Object.entries(folded).map(([stack, v]) => ({ stack: stack.split(';').reverse(), values: [v] })),
  });
}
const alloc = (bytes: number) => buildProfile({ sampleTypes: [['alloc_space', 'bytes']], periodType: ['space', 'bytes'], period: 1, samples: [{ stack: ['malloc', 'main'], values: [bytes] }] });

let pid = 0;
const push = (tenant: string, labels: Record<string, string>, file: string | DecodedProfile, ms: number): Push => ({
  tenant,
  labels: Object.entries(labels),
  ...(typeof file === 'string' ? { file } : { file: 'built in the test', profile: file }),
  timeNanos: BigInt(ms) * 1_000_000n,
  profileId: pid++ & 0xff,
});

const cpuUsageCompressWorkers = apiRule({
  id: 'cpuUsageCompressWorkers',
  metricName: 'profiles_recorded_cpu_usage_compress_workers',
  matchers: [`{service_name="worker", job="batch_compress", __profile_type__="${CPU}"}`],
  groupBy: ['region'],
});
const compressInclusive = apiRule({
  id: 'compressInclusive',
  matchers: [`{service_name="worker", __profile_type__="${CPU}"}`],
  groupBy: ['region'],
  functionName: 'compress',
});

/**
 * The seed example: "worker" CPU with job batch_compress in eu, ap and us (eu = 70 + 50, ap =
 * 10 + 20, us = 15 + 25, spread over three segments), memory profiles of the same workers, an
 * "api" CPU profile and a worker of another job, all to be ignored by the rule; a push repeated
 * in two segments (counted once); and a second tenant with the same label sets.
 */
async function seedSegments(bucket: MemoryBucket): Promise<BlockMeta[]> {
  const w = (region: string, pod: string, job = 'batch_compress') => ({ service_name: 'worker', job, region, pod });
  const ms = [T0, T0 + 500, T0 + 1000];
  const repeated = push('acme', w('eu', 'a'), cpu({ 'main;compress;deflate': 60, 'main;read': 10 }), ms[0]! + 1);
  return [
    await writeSegment(bucket, SHARD, ulidAt(ms[0]!, 'S0'), [
      repeated,
      push('acme', w('ap', 'a'), cpu({ 'main;compress;compress': 10 }), ms[0]! + 2),
      push('acme', w('us', 'c'), cpu({ 'main;read': 15 }), ms[0]! + 3),
      push('acme', w('eu', 'a'), alloc(5000), ms[0]! + 4),
      push('acme', { service_name: 'api', job: 'batch_compress', region: 'eu' }, cpu({ 'main;compress': 1000 }), ms[0]! + 5),
    ]),
    await writeSegment(bucket, SHARD, ulidAt(ms[1]!, 'S1'), [
      repeated, // a retried upload: same series, time and profile
      push('acme', w('eu', 'b'), cpu({ 'main;compress': 20, 'main;gzip;compress': 30 }), ms[1]! + 1),
      push('acme', w('ap', 'a'), cpu({ 'main;read': 20 }), ms[1]! + 2),
      push('acme', w('us', 'x', 'batch_other'), cpu({ 'main;compress': 999 }), ms[1]! + 3),
      push('globex', w('eu', 'a'), cpu({ 'main;compress': 7 }), ms[1]! + 4),
    ]),
    await writeSegment(bucket, SHARD, ulidAt(ms[2]!, 'S2'), [
      push('acme', w('us', 'c'), cpu({ 'main;compress': 25 }), ms[2]! + 1),
      push('acme', w('eu', 'b'), alloc(7000), ms[2]! + 2),
      push('globex', w('eu', 'b'), cpu({ 'main;read': 3 }), ms[2]! + 3),
    ]),
  ];
}

function observerFor(rules: Record<string, RecordingRule[]>, sources: readonly BlockMeta[], maxSeriesPerRule = 10_000): RecordingObserver {
  return new RecordingObserver({
    rules: new Map(Object.entries(rules).map(([t, rs]) => [t, rs.map(compileRule)])),
    stamp: jobStamp(SHARD, sources),
    instanceLabelName: 'pyroscope_instance',
    maxSeriesPerRule,
  });
}

describe('observer on compactBlocks', () => {
  let bucket: MemoryBucket;
  let metas: BlockMeta[];
  beforeAll(async () => {
    bucket = new MemoryBucket();
    metas = await seedSegments(bucket);
  });

  it('records the seed example exactly: eu=120, ap=30, us=40; memory, api and other jobs discarded', async () => {
    const rules = { acme: [cpuUsageCompressWorkers], globex: [cpuUsageCompressWorkers] };
    const res = await compactBlocks({ bucket, sources: metas, shard: SHARD, observer: observerFor(rules, metas) });
    expect(res.stats.duplicateRows).toBe(1);
    const result = decode(res.observerResult);
    expect(samples(result)).toEqual({
      acme: {
        'profiles_rule_id=cpuUsageCompressWorkers,region=ap': 30,
        'profiles_rule_id=cpuUsageCompressWorkers,region=eu': 120,
        'profiles_rule_id=cpuUsageCompressWorkers,region=us': 40,
      },
      globex: { 'profiles_rule_id=cpuUsageCompressWorkers,region=eu': 10 },
    });
    // One timestamp: the first source segment's ULID time. One instance: shard + its writer.
    expect(result.timestampMs).toBe(BigInt(T0));
    expect(result.timestampMs).toBe(BigInt(decodeTime(metas[0]!.id)));
    const h = await xxhash();
    const instance = h.h64Raw(new Uint8Array([0, 0, 0, SHARD, ...new TextEncoder().encode('segment-writer-1')]), 0n).toString(16);
    for (const t of result.tenants) {
      for (const s of t.series) {
        expect(s.labels.find((l) => l.name === 'pyroscope_instance')?.value).toBe(instance);
        expect(s.labels.find((l) => l.name === '__name__')?.value).toBe('profiles_recorded_cpu_usage_compress_workers');
      }
    }
  });

  it('records function rules: stacks containing F, each once, 0 for matching series without F', async () => {
    const res = await compactBlocks({ bucket, sources: metas, shard: SHARD, observer: observerFor({ acme: [compressInclusive], globex: [compressInclusive] }, metas) });
    expect(samples(decode(res.observerResult))).toEqual({
      // eu: 60 (pod a, once although pushed twice) + 20 + 30; ap: 10 (compress;compress once);
      // us: 25 + 999 (job batch_other: the rule has no job matcher).
      acme: { 'profiles_rule_id=compressInclusive,region=ap': 10, 'profiles_rule_id=compressInclusive,region=eu': 110, 'profiles_rule_id=compressInclusive,region=us': 1024 },
      globex: { 'profiles_rule_id=compressInclusive,region=eu': 7 },
    });
  });

  it('is deterministic: the same sources give the same bytes', async () => {
    const rules = { acme: [cpuUsageCompressWorkers, compressInclusive], globex: [compressInclusive] };
    const a = await compactBlocks({ bucket, sources: metas, shard: SHARD, observer: observerFor(rules, metas) });
    const b = await compactBlocks({ bucket, sources: metas.slice().reverse(), shard: SHARD, observer: observerFor(rules, metas.slice().reverse()) });
    expect(Buffer.from(a.observerResult!).equals(Buffer.from(b.observerResult!))).toBe(true);
  });

  it('matches totals and inclusive function values computed from the source rows (testdata pprof)', async () => {
    const b = new MemoryBucket();
    const sources: BlockMeta[] = [];
    for (let s = 0; s < 4; s++) {
      const pushes: Push[] = [];
      for (const tenant of ['acme', 'globex']) {
        for (let pod = 0; pod < 3; pod++) {
          pushes.push(push(tenant, { service_name: 'checkout', pod: `p${pod}` }, 'go-cpu.pb.gz', T0 + s * 500 + pod));
          pushes.push(push(tenant, { service_name: 'frontend', pod: `p${pod}` }, 'node-wall-cpu.pb.gz', T0 + s * 500 + pod));
          if (pod === 0) pushes.push(push(tenant, { service_name: 'checkout', pod: `p${pod}` }, 'go-heap.pb.gz', T0 + s * 500 + 9));
        }
      }
      sources.push(await writeSegment(b, SHARD, ulidAt(T0 + s * 500, `P${s}`), pushes));
    }
    const { rows } = await expectedMerge(b, sources);
    const types = new Set([...rows.values()].map((r) => r.labels.find(([n]) => n === '__profile_type__')![1]));
    const goCpu = [...types].find((t) => t.startsWith('process_cpu:cpu:'))!;
    const fns = ['runtime.main', 'main.work', 'Module._compile']; // the last is in Node stacks only: 0 for Go CPU
    const rules = [
      apiRule({ id: 'total', matchers: [`{__profile_type__="${goCpu}"}`], groupBy: ['service_name', 'pod'] }),
      ...fns.map((fn, i) => apiRule({ id: `fn${'abc'[i]}`, matchers: [`{__profile_type__="${goCpu}"}`], groupBy: ['pod'], functionName: fn })),
    ];
    const res = await compactBlocks({ bucket: b, sources, shard: SHARD, observer: observerFor({ acme: rules, globex: rules }, sources) });

    const want: Record<string, Record<string, number>> = { acme: {}, globex: {} };
    const add = (tenant: string, key: string, v: number) => void (want[tenant]![key] = (want[tenant]![key] ?? 0) + v);
    for (const r of rows.values()) {
      const get = (n: string) => r.labels.find(([k]) => k === n)?.[1] ?? '';
      if (get('__profile_type__') !== goCpu) continue;
      add(r.tenant, `pod=${get('pod')},profiles_rule_id=total,service_name=${get('service_name')}`, r.totalValue);
      fns.forEach((fn, i) => add(r.tenant, `pod=${get('pod')},profiles_rule_id=fn${'abc'[i]}`, r.functionStacks.filter(([names]) => names.includes(fn)).reduce((a, [, v]) => a + v, 0)));
    }
    expect(Object.values(want.acme!).some((v) => v > 0)).toBe(true);
    expect(samples(decode(res.observerResult))).toEqual(want);
  });
});

describe('observer through the job runner', () => {
  const job = (sources: BlockMeta[], level = 0) => create(CompactionJobSchema, { name: 'job-1', shard: SHARD, compactionLevel: level, sourceBlocks: sources.map((m) => m.id) });
  const runner = (bucket: MemoryBucket, metas: BlockMeta[], rulesFor: (tenant: string) => Promise<RecordingRule[]>, warned: string[] = []) =>
    createJobRunner({
      bucket,
      blockMetadata: async () => metas,
      observerFor: createObserverFactory({
        rules: { rulesFor },
        instanceLabelName: 'pyroscope_instance',
        maxSeriesPerRule: 100,
        logger: { ...silent, warn: (o: { rule_id: string }) => void warned.push(o.rule_id) } as unknown as pino.Logger,
      }),
      logger: silent,
    });

  it('fetches each tenant\'s rules once per job and reports the result with SUCCESS', async () => {
    const bucket = new MemoryBucket();
    const metas = await seedSegments(bucket);
    const asked: string[] = [];
    const warned: string[] = [];
    const broken = apiRule({ id: 'broken', matchers: ['{service_name="worker"}'] }); // no __profile_type__
    const res = await runner(bucket, metas, async (tenant) => {
      asked.push(tenant);
      return tenant === 'acme' ? [broken, cpuUsageCompressWorkers] : [];
    }, warned)(job(metas), new AbortController().signal);
    expect(asked).toEqual(['acme', 'globex']);
    expect(warned).toEqual(['broken']); // skipped with a warning; the other rule records
    expect(res.newBlocks).toHaveLength(2);
    expect(samples(decode(res.observerResult))).toEqual({
      acme: { 'profiles_rule_id=cpuUsageCompressWorkers,region=ap': 30, 'profiles_rule_id=cpuUsageCompressWorkers,region=eu': 120, 'profiles_rule_id=cpuUsageCompressWorkers,region=us': 40 },
    });
  });

  it('fails the job, writing nothing, when a tenant\'s rules cannot be read', async () => {
    const bucket = new MemoryBucket();
    const metas = await seedSegments(bucket);
    const before = (await bucket.list('')).map((o) => o.key).sort();
    const run = runner(bucket, metas, async (tenant) => {
      if (tenant === 'globex') throw new Error('bucket unavailable');
      return [cpuUsageCompressWorkers];
    });
    await expect(run(job(metas), new AbortController().signal)).rejects.toThrow(RulesUnavailableError);
    await expect(run(job(metas), new AbortController().signal)).rejects.toThrow(/tenant "globex".*bucket unavailable/);
    expect((await bucket.list('')).map((o) => o.key).sort()).toEqual(before);
  });

  it('reports no observer result when no tenant has a rule, and never observes level-1 jobs', async () => {
    const bucket = new MemoryBucket();
    const metas = await seedSegments(bucket);
    const asked: string[] = [];
    const l0 = await runner(bucket, metas, async (t) => (asked.push(t), []))(job(metas), new AbortController().signal);
    expect(l0.observerResult).toBeUndefined();
    expect(asked).toEqual(['acme', 'globex']);

    const l1 = await runner(bucket, l0.newBlocks, async (t) => (asked.push(t), [cpuUsageCompressWorkers]))(job(l0.newBlocks, 1), new AbortController().signal);
    expect(l1.observerResult).toBeUndefined();
    expect(asked).toEqual(['acme', 'globex']);
  });

  it('stamps the job with the first (smallest id) source\'s time and writer', async () => {
    const bucket = new MemoryBucket();
    const a = await writeSegment(bucket, SHARD, ulidAt(T0 + 500, 'B'), [push('acme', { service_name: 'worker', job: 'batch_compress', region: 'eu' }, cpu({ main: 1 }), T0 + 501)], 'writer-a');
    const b = await writeSegment(bucket, SHARD, ulidAt(T0, 'A'), [push('acme', { service_name: 'worker', job: 'batch_compress', region: 'eu' }, cpu({ main: 2 }), T0 + 1)], 'writer-b');
    expect(jobStamp(SHARD, [a, b])).toEqual({ shard: SHARD, timestampMs: T0, createdBy: 'writer-b' });
    const res = await runner(bucket, [a, b], async () => [cpuUsageCompressWorkers])(job([a, b]), new AbortController().signal);
    const result = decode(res.observerResult);
    const h = await xxhash();
    const instance = h.h64Raw(new Uint8Array([0, 0, 0, SHARD, ...new TextEncoder().encode('writer-b')]), 0n).toString(16);
    expect(result.timestampMs).toBe(BigInt(T0));
    expect(result.tenants[0]!.series).toHaveLength(1);
    expect(result.tenants[0]!.series[0]!.value).toBe(3);
    expect(result.tenants[0]!.series[0]!.labels.find((l) => l.name === 'pyroscope_instance')?.value).toBe(instance);
  });
});

// The memory profiles really are in the segments (so "discarded" above means the rule skipped them).
it('the seed segments hold the memory profiles the rule must discard', async () => {
  const bucket = new MemoryBucket();
  const metas = await seedSegments(bucket);
  const { rows } = await expectedMerge(bucket, metas);
  const memory = [...rows.values()].filter((r) => r.labels.some(([n, v]) => n === '__profile_type__' && v === ALLOC));
  expect(memory.map((r) => r.totalValue).sort()).toEqual([5000, 7000]);
});

describe('RuleCompiler', () => {
  it('compiles a rule version once and remembers failures', () => {
    const c = new RuleCompiler();
    expect(c.compile(apiRule({ id: 'a', matchers: [`{__profile_type__="${CPU}"}`] })).fresh).toBe(true);
    const again = c.compile(apiRule({ id: 'a', matchers: [`{__profile_type__="${CPU}"}`] }));
    expect(again.fresh).toBe(false);
    expect((again.result as { id: string }).id).toBe('a');
    const edited = apiRule({ id: 'a', matchers: [`{__profile_type__="${CPU}"}`] });
    edited.generation = 2n;
    expect(c.compile(edited).fresh).toBe(true);
    const broken = apiRule({ id: 'b', matchers: ['{job="x"}'] });
    expect(c.compile(broken).result).toBeInstanceOf(Error);
    expect(c.compile(broken).fresh).toBe(false);
  });
});

// npm run bench:observer — what the metrics observer adds to an L0 → L1
// compaction job: the job of helpers/segments.ts (20 segments, 3 tenants × 4
// services × 4 pods) compacted without an observer, with 25 label rules and
// with 25 function rules per tenant, interleaved, median of BENCH_RUNS runs.
//
// The rules are realistic: they select profile types that the data has,
// narrow by service_name and region in the ways people write (=, =~, !=),
// group by pod, region or service, and the function rules filter on functions
// that occur in the testdata stacks (frequent and rare ones), so a large share
// of rows matches and every stack is resolved. Targets: ≤ 5% overhead for
// label rules, ≤ 20% for function rules.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { ObserverResultSchema } from '../../src/gen/metrics/v1/recorded_pb.js';
import type { RecordingRule } from '../../src/gen/settings/v1/recording_rules_pb.js';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import type { Labels } from '../../src/profiles/block/model.js';
import { compactBlocks } from '../../src/profiles/compaction/compact.js';
import type { JobObserver, ObservedRow } from '../../src/profiles/compaction/observer.js';
import { jobStamp } from '../../src/profiles/observer/instance-label.js';
import { RecordingObserver } from '../../src/profiles/observer/observer.js';
import type { DecodedProfile } from '../../src/profiles/pprof/profile.js';
import { compileRule } from '../../src/profiles/rules/compiled.js';
import { guessProfileName } from '../../src/profiles/segment/series.js';
import { profile } from '../profiles/compaction/helpers.js';
import { apiRule } from '../profiles/observer/helpers.js';
import { buildSegments, median, PODS, SEGMENTS, SERVICES, SHARD, TENANTS } from './helpers/segments.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const RULES = 25;

/** 0 → "a", 25 → "z", 26 → "ba": rule ids must be letters only. */
const letters = (i: number): string => (i < 26 ? '' : letters(Math.floor(i / 26) - 1)) + String.fromCharCode(97 + (i % 26));

/** The __profile_type__ values ingest gives a profile's sample types (segment/series.ts). */
function profileTypes(p: DecodedProfile): string[] {
  const name = guessProfileName(p);
  const period = `${p.strings[p.periodTypeType]}:${p.strings[p.periodTypeUnit]}`;
  return Array.from(p.sampleTypeType, (t, i) => `${name}:${p.strings[t]}:${p.strings[p.sampleTypeUnit[i]!]}:${period}`);
}

/** Services that push `file`, as a regex alternation. */
const servicesWith = (file: string): string => SERVICES.filter(([, files]) => files.includes(file)).map(([s]) => s).join('|');

function labelRules(): RecordingRule[] {
  const types = [...new Set(SERVICES.flatMap(([, files]) => files).flatMap((f) => profileTypes(profile(f))))].sort();
  const services = ['service_name="checkout"', 'service_name=~"pay.*|search"', 'service_name!="frontend"', ''];
  const regions = ['region="eu"', '', 'region=~"eu|us"'];
  const groupBys = [['region'], ['pod'], ['service_name', 'region'], []];
  return Array.from({ length: RULES }, (_, i) => {
    const matchers = [`__profile_type__="${types[i % types.length]}"`, services[i % services.length], regions[i % regions.length]].filter(Boolean);
    return apiRule({ id: `label${letters(i)}`, matchers: [`{${matchers.join(', ')}}`], groupBy: groupBys[i % groupBys.length]! });
  });
}

/** Function names by how many samples of `file` contain them, most first. */
function functionsByFrequency(file: string): string[] {
  const p = profile(file);
  const count = new Map<string, number>();
  for (let s = 0; s < p.sampleCount; s++) {
    const seen = new Set<string>();
    for (let k = p.sampleLocationStart[s]!; k < p.sampleLocationStart[s + 1]!; k++) {
      const loc = p.sampleLocations[k]!;
      for (let l = p.locationLineStart[loc]!; l < p.locationLineStart[loc + 1]!; l++) seen.add(p.strings[p.functionName[p.lineFunction[l]!]!]!);
    }
    for (const f of seen) count.set(f, (count.get(f) ?? 0) + 1);
  }
  return [...count].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([f]) => f);
}

function functionRules(): RecordingRule[] {
  // Per profile file: its first sample type, and functions from frequent (near the root) to rare.
  const sources = ['go-cpu.pb.gz', 'node-wall-cpu.pb.gz', 'go-heap.pb.gz'].map((file) => {
    const fns = functionsByFrequency(file);
    const picks = Array.from({ length: 9 }, (_, k) => fns[Math.floor((k * (fns.length - 1)) / 8)]!);
    return { file, type: profileTypes(profile(file)).at(-1)!, picks };
  });
  return Array.from({ length: RULES }, (_, i) => {
    const src = sources[i % sources.length]!;
    const fn = src.picks[Math.floor(i / sources.length)]!;
    const svc = i % 2 === 0 ? `, service_name=~"${servicesWith(src.file)}"` : '';
    return apiRule({ id: `function${letters(i)}`, matchers: [`{__profile_type__="${src.type}"${svc}}`], groupBy: i % 3 === 0 ? ['pod'] : ['region'], functionName: fn });
  });
}

type Call = { kind: 'tenant'; name: string } | { kind: 'dataset'; name: string } | { kind: 'series'; labels: Labels } | { kind: 'row'; row: ObservedRow };

/** Compacts once with an observer that accepts everything and keeps a copy of every call. */
async function capture(bucket: FilesystemBucket, metas: Parameters<typeof compactBlocks>[0]['sources'], tmpDir: string): Promise<Call[]> {
  const calls: Call[] = [];
  const recorder: JobObserver = {
    beginTenant: (name) => (calls.push({ kind: 'tenant', name }), true),
    beginDataset: (name) => (calls.push({ kind: 'dataset', name }), true),
    beginSeries: (labels) => (calls.push({ kind: 'series', labels }), true),
    // The row object is reused and its arrays are scratch: copy them. The resolver stays valid
    // after the merge (its dataset's symbols only grow), so it can be kept.
    row: (r) => void calls.push({ kind: 'row', row: { ...r, stacktraceIds: r.stacktraceIds.slice(), values: r.values.slice() } }),
    finish: () => undefined,
  };
  await compactBlocks({ bucket, sources: metas, shard: SHARD, tmpDir, observer: recorder });
  return calls;
}

/** Makes the captured calls on `o`, skipping what its begin calls decline, as the merge does. */
function replay(calls: Call[], o: JobObserver): void {
  let level = 3; // the deepest level whose begin call was accepted: 0 none, 1 tenant, 2 dataset, 3 series
  for (const c of calls) {
    if (c.kind === 'tenant') level = o.beginTenant(c.name) ? 1 : 0;
    else if (c.kind === 'dataset') level = level >= 1 && o.beginDataset(c.name) ? 2 : Math.min(level, 1);
    else if (c.kind === 'series') level = level >= 2 && o.beginSeries(c.labels) ? 3 : Math.min(level, 2);
    else if (level === 3) o.row(c.row);
  }
  o.finish();
}

const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-observer-'));
try {
  const bucket = new FilesystemBucket(join(dir, 'bucket'));
  const metas = await buildSegments(bucket);
  const stamp = jobStamp(SHARD, metas);
  const configs: { name: string; rules: RecordingRule[] }[] = [
    { name: 'no observer (0 rules)', rules: [] },
    { name: `${RULES} label rules`, rules: labelRules() },
    { name: `${RULES} function rules`, rules: functionRules() },
  ];
  // Rules are compiled once, as the worker's factory caches them across jobs (factory.ts).
  const compiled = new Map(configs.map((c) => [c.rules, c.rules.map(compileRule)]));
  const observer = (rules: RecordingRule[]) =>
    rules.length === 0
      ? undefined
      : new RecordingObserver({ rules: new Map(TENANTS.map((t) => [t, compiled.get(rules)!])), stamp, instanceLabelName: 'pyroscope_instance', maxSeriesPerRule: 10_000 });

  const times = configs.map(() => [] as number[]);
  const recorded = configs.map(() => ({ series: 0, nonZero: 0 }));
  let rows = 0;
  // Interleaved, and the order rotated every run, so drift and GC hit every configuration alike.
  for (let i = 0; i < RUNS + 2; i++) {
    for (let k = 0; k < configs.length; k++) {
      const c = (i + k) % configs.length;
      const config = configs[c]!;
      const t = performance.now();
      const res = await compactBlocks({ bucket, sources: metas, shard: SHARD, tmpDir: dir, observer: observer(config.rules) });
      if (i >= 2) times[c]!.push(performance.now() - t);
      rows = res.stats.outputRows;
      if (res.observerResult) {
        const series = fromBinary(ObserverResultSchema, res.observerResult).tenants.flatMap((x) => x.series);
        recorded[c] = { series: series.length, nonZero: series.filter((s) => s.value !== 0).length };
      }
    }
  }
  // The observer alone: the hook calls of one compaction, captured and replayed many times. The
  // wall-clock difference above is the honest total but noisy on a shared machine; this is the
  // observer's own cost without the noise.
  const calls = await capture(bucket, metas, dir);
  const observerMs = configs.map((config) => {
    if (config.rules.length === 0) return 0;
    const runs: number[] = [];
    for (let i = 0; i < RUNS * 3 + 2; i++) {
      const o = observer(config.rules)!;
      const t = performance.now();
      replay(calls, o);
      if (i >= 2) runs.push(performance.now() - t);
    }
    return median(runs);
  });

  const seriesCalls = calls.filter((c) => c.kind === 'series').length;
  console.log(`kiln observer benchmark: ${SEGMENTS} segments → ${rows} merged rows of ${seriesCalls} series; ${TENANTS.length} tenants × ${SERVICES.length} services × ${PODS} pods; rules per tenant; median of ${RUNS} runs after 2 warm-ups; node ${process.version}`);
  const base = median(times[0]!);
  for (const [c, config] of configs.entries()) {
    const ms = median(times[c]!);
    const own = c === 0 ? 0 : observerMs[c]!;
    const overhead = c === 0 ? '' : `  wall +${(((ms - base) / base) * 100).toFixed(1).padStart(5)}%   observer alone ${own.toFixed(1).padStart(5)} ms = ${((own / base) * 100).toFixed(1).padStart(4)}%`;
    const out = c === 0 ? '' : `  (${recorded[c]!.series} series, ${recorded[c]!.nonZero} non-zero)`;
    console.log(`  ${config.name.padEnd(24)} ${ms.toFixed(1).padStart(8)} ms${overhead}${out}`);
  }
  console.log('  targets: label rules ≤ 5%, function rules ≤ 20%');
} finally {
  await rm(dir, { recursive: true, force: true });
}

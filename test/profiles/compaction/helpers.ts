// Real segments for compaction tests, built as the segment writer builds them
// (decodePprof → planSeries → DatasetHead → encodeBlock → segments/… key),
// and the expected merge computed independently: every row of the sources
// read back with BlockReader, stacks resolved to full frame descriptions.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { BlockMeta } from '../../../src/gen/metastore/v1/types_pb.js';
import type { Bucket } from '../../../src/objstore/bucket.js';
import type { Labels, Symbols } from '../../../src/profiles/block/model.js';
import { segmentPath } from '../../../src/profiles/block/paths.js';
import { BlockReader } from '../../../src/profiles/block/reader.js';
import { encodeBlock } from '../../../src/profiles/block/writer.js';
import { decodePprof } from '../../../src/profiles/pprof/decode.js';
import type { DecodedProfile } from '../../../src/profiles/pprof/profile.js';
import { DatasetHead } from '../../../src/profiles/segment/head.js';
import { planSeries } from '../../../src/profiles/segment/series.js';

const root = path.resolve(import.meta.dirname, '../../..');
const decoded = new Map<string, DecodedProfile>();

/** A testdata profile, decoded once. */
export function profile(file: string): DecodedProfile {
  let p = decoded.get(file);
  if (p === undefined) decoded.set(file, (p = decodePprof(gunzipSync(readFileSync(path.join(root, 'testdata/profiles', file))))));
  return p;
}

export function rawProfile(file: string): Uint8Array {
  return readFileSync(path.join(root, 'testdata/profiles', file));
}

export interface Push {
  tenant: string;
  /** Request labels; service_name required. Sorted here. */
  labels: Labels;
  /** A testdata profile file name (a label only when `profile` is given). */
  file: string;
  /** A profile built in the test (e.g. with buildProfile), used instead of `file`. */
  profile?: DecodedProfile;
  timeNanos: bigint;
  /** Byte 15 of the profile id. */
  profileId: number;
}

/** A ULID with the given ms time and a fixed random part ending in `tag`. */
export function ulidAt(ms: number, tag: string): string {
  const A = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let t = '';
  for (let i = 0, v = ms; i < 10; i++, v = Math.floor(v / 32)) t = A[v % 32]! + t;
  return t + tag.padStart(16, '0');
}

/** Builds and uploads one level-0 segment of the pushes; returns its meta (size set). */
export async function writeSegment(bucket: Bucket, shard: number, id: string, pushes: Push[], createdBy = 'segment-writer-1'): Promise<BlockMeta> {
  const heads = new Map<string, DatasetHead>();
  for (const p of pushes) {
    const labels = p.labels.slice().sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const service = labels.find(([n]) => n === 'service_name')![1];
    const key = `${p.tenant}\u0000${service}`;
    let head = heads.get(key);
    if (head === undefined) heads.set(key, (head = new DatasetHead(p.tenant, service)));
    const prof = p.profile ?? profile(p.file);
    const profileId = new Uint8Array(16);
    profileId[0] = 0xc0;
    profileId[15] = p.profileId;
    head.append(prof, planSeries(prof, labels), { profileId, timeNanos: p.timeNanos });
  }
  const { bytes, meta } = await encodeBlock({ id, shard, compactionLevel: 0, createdBy }, [...heads.values()].map((h) => h.content()));
  await bucket.put(segmentPath(shard, id), bytes);
  return meta;
}

/** Every frame of a stack trace, leaf first: mapping, address and every line with its function. */
export function describeStack(s: Symbols, id: number): string {
  const frames: string[] = [];
  for (let i = id === 0 ? 0 : s.stacktraceEnd[id - 1]!; i < s.stacktraceEnd[id]!; i++) {
    const loc = s.stacktraceLocations[i]!;
    const m = s.locationMapping[loc]! - 1;
    const mapping = m < 0 ? '-' : [s.strings[s.mappingFilename[m]!], s.strings[s.mappingBuildId[m]!], s.mappingMemoryStart[m], s.mappingMemoryLimit[m], s.mappingFileOffset[m], s.mappingFlags[m]].join(',');
    const lines: string[] = [];
    for (let j = loc === 0 ? 0 : s.locationLineEnd[loc - 1]!; j < s.locationLineEnd[loc]!; j++) {
      const f = s.lineFunction[j]!;
      lines.push(`${s.strings[s.functionName[f]!]}/${s.strings[s.functionSystemName[f]!]}@${s.strings[s.functionFilename[f]!]}:${s.functionStartLine[f]}:${s.lineNumber[j]}`);
    }
    frames.push(`[${mapping}] 0x${s.locationAddress[loc]!.toString(16)} ${lines.join('|')}`);
  }
  return frames.join(' <- ');
}

/** Function names of a stack trace, leaf first (independent of the code under test). */
export function functionNames(s: Symbols, id: number): string[] {
  const out: string[] = [];
  for (let i = id === 0 ? 0 : s.stacktraceEnd[id - 1]!; i < s.stacktraceEnd[id]!; i++) {
    const loc = s.stacktraceLocations[i]!;
    for (let j = loc === 0 ? 0 : s.locationLineEnd[loc - 1]!; j < s.locationLineEnd[loc]!; j++) out.push(s.strings[s.functionName[s.lineFunction[j]!]!]!);
  }
  return out;
}

export interface TruthRow {
  tenant: string;
  dataset: string;
  labels: Labels;
  timeNanos: bigint;
  profileId: string;
  durationNanos: bigint;
  period: bigint;
  totalValue: number;
  /** describeStack → summed value. */
  stacks: Map<string, number>;
  /** Function names per sample (leaf first) with its value, sorted by names. */
  functionStacks: [string[], number][];
}

export const rowKey = (r: { tenant: string; dataset: string; labels: Labels; timeNanos: bigint }): string =>
  `${r.tenant}\u0000${r.dataset}\u0000${JSON.stringify(r.labels)}\u0000${r.timeNanos}`;

/** Every row of a block, resolved through its own symbols. */
export async function readRows(bucket: Bucket, key: string): Promise<TruthRow[]> {
  const reader = await BlockReader.open(bucket, key);
  const out: TruthRow[] = [];
  for (const ds of reader.datasets()) {
    const series = await reader.readSeries(ds);
    const symbols = await reader.readSymbols(ds);
    for await (const row of reader.rows(ds)) {
      const stacks = new Map<string, number>();
      const functionStacks: [string[], number][] = [];
      row.stacktraceIds.forEach((id, k) => {
        const d = describeStack(symbols, id);
        stacks.set(d, (stacks.get(d) ?? 0) + row.values[k]!);
        functionStacks.push([functionNames(symbols, id), row.values[k]!]);
      });
      // Stack ids differ between blocks: order the samples by content.
      functionStacks.sort((a, b) => (a[0].join(';') < b[0].join(';') ? -1 : a[0].join(';') > b[0].join(';') ? 1 : a[1] - b[1]));
      out.push({
        tenant: ds.tenant,
        dataset: ds.name,
        labels: series[row.seriesIndex]!,
        timeNanos: row.timeNanos,
        profileId: Buffer.from(row.profileId).toString('hex'),
        durationNanos: row.durationNanos,
        period: row.period,
        totalValue: row.totalValue,
        stacks,
        functionStacks,
      });
    }
  }
  return out;
}

/**
 * The expected merge of `sources` (any order): rows of all sources in block-id
 * order; a row whose (tenant, dataset, labels, time) was already seen is a
 * duplicate and dropped.
 */
export async function expectedMerge(bucket: Bucket, sources: readonly BlockMeta[]): Promise<{ rows: Map<string, TruthRow>; duplicates: number; sourceRows: number }> {
  const rows = new Map<string, TruthRow>();
  let duplicates = 0;
  let sourceRows = 0;
  for (const m of sources.slice().sort((a, b) => (a.id < b.id ? -1 : 1))) {
    for (const r of await readRows(bucket, segmentPath(m.shard, m.id))) {
      sourceRows++;
      const k = rowKey(r);
      if (rows.has(k)) duplicates++;
      else rows.set(k, r);
    }
  }
  return { rows, duplicates, sourceRows };
}

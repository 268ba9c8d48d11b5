// How one decoded profile becomes series: one per (pprof sample-label set,
// sample type), labelled as Pyroscope labels them (__profile_type__ =
// name:type:unit:period_type:period_unit, __type__, __unit__, ...).

import type { Labels } from '../block/model.js';
import type { DecodedProfile } from '../pprof/profile.js';
import { HASH_SEED, mix32 } from './hash-index.js';

/** Sample labels that identify one sample (tracing), not a series. */
const SAMPLE_ONLY_LABELS = new Set(['span_id', 'trace_id', 'profile_id']);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DERIVED_LABELS = new Set(['__name__', '__service_name__', '__period_type__', '__period_unit__', '__profile_type__', '__type__', '__unit__']);

/** Pyroscope's guess of a profile's metric name from its sample types. */
export function guessProfileName(p: DecodedProfile): string {
  const types = Array.from(p.sampleTypeType, (i) => p.strings[i]!);
  const period = p.strings[p.periodTypeType] ?? '';
  if (types.includes('wall') || period === 'wall') return 'wall';
  if (types.some((t) => t.includes('cpu')) || period === 'cpu') return 'process_cpu';
  if (types.some((t) => t.startsWith('alloc_') || t.startsWith('inuse_') || t === 'space' || t === 'objects')) return 'memory';
  if (types.some((t) => t.startsWith('mutex_'))) return 'mutex';
  if (types.some((t) => t.startsWith('block_'))) return 'block';
  if (types.some((t) => t === 'contentions' || t === 'delay')) return 'mutex';
  if (types.some((t) => t.startsWith('goroutine'))) return 'goroutine';
  return 'unknown';
}

export interface SeriesPlan {
  /** Sample indexes of each group (samples sharing one sample-label set). */
  groups: Uint32Array[];
  /** labels[g][t]: the series labels of group g, sample type t. */
  labels: Labels[][];
  /** profileTypes[t]: the __profile_type__ value of sample type t. */
  profileTypes: string[];
}

function compareLabel(a: readonly [string, string], b: readonly [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/**
 * Splits a profile into series. `base` holds the validated request labels
 * (sorted, service_name present, __name__ optional). Sample labels never
 * override request labels.
 */
export function planSeries(p: DecodedProfile, base: Labels): SeriesPlan {
  const name = base.find(([n]) => n === '__name__')?.[1] ?? guessProfileName(p);
  const baseNames = new Set(base.map(([n]) => n));
  const serviceName = base.find(([n]) => n === 'service_name')?.[1] ?? 'unknown_service';
  const periodType = p.strings[p.periodTypeType]!;
  const periodUnit = p.strings[p.periodTypeUnit]!;
  const profileTypes: string[] = [];
  const typeLabels: [string, string][][] = [];
  for (let t = 0; t < p.sampleTypeType.length; t++) {
    const type = p.strings[p.sampleTypeType[t]!]!;
    const unit = p.strings[p.sampleTypeUnit[t]!]!;
    const profileType = `${name}:${type}:${unit}:${periodType}:${periodUnit}`;
    profileTypes.push(profileType);
    // Sorted by name, ready to be merged with the other labels.
    typeLabels.push([
      ['__name__', name],
      ['__period_type__', periodType],
      ['__period_unit__', periodUnit],
      ['__profile_type__', profileType],
      ['__service_name__', serviceName],
      ['__type__', type],
      ['__unit__', unit],
    ]);
  }

  // Group samples by their string sample labels (most profiles have none).
  // Whether a label key becomes a series label is decided once per string index.
  const keyName: (string | null | undefined)[] = [];
  const seriesKey = (k: number): string | null => {
    let name = keyName[k];
    if (name === undefined) {
      const n = p.strings[k]!.replaceAll('.', '_');
      name = SAMPLE_ONLY_LABELS.has(n) || baseNames.has(n) || n.startsWith('__') || !LABEL_NAME.test(n) ? null : n;
      keyName[k] = name;
    }
    return name;
  };
  // A group key lists (key index, value index) pairs, sorted by key name; the
  // first value of a repeated key wins.
  const keyOf = (i: number): string => {
    const start = p.sampleLabelStart[i]!;
    const end = p.sampleLabelStart[i + 1]!;
    let parts: [string, number, number][] | undefined;
    for (let k = start; k < end; k++) {
      const value = p.labelStr[k]!;
      if (value === 0) continue; // numeric label
      const key = p.labelKey[k]!;
      const name = seriesKey(key);
      if (name === null || parts?.some(([n]) => n === name)) continue;
      (parts ??= []).push([name, key, value]);
    }
    if (!parts) return '';
    if (parts.length > 1) sortSmall(parts, (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return parts.map(([, key, value]) => `${key}:${value}`).join(',');
  };
  // Labels derived from the profile type win over request labels of the same name.
  const kept = sortSmall(base.filter(([n]) => !DERIVED_LABELS.has(n)), compareLabel);
  // Most profiles carry no sample labels at all: then every sample is in one
  // group, and building a key per sample would be the slowest part of planning.
  if (p.labelKey.length === 0) {
    const all = new Uint32Array(p.sampleCount);
    for (let i = 0; i < all.length; i++) all[i] = i;
    return { groups: [all], labels: [typeLabels.map((tl) => mergeByName(kept, tl))], profileTypes };
  }

  // Each sample's group, first by key (keyOf): samples with the same label
  // pairs, in the same order, share a key (keyOf reads nothing else), and most
  // samples repeat a few label sets, so their pairs are hashed and compared
  // with an earlier sample's instead of building the key again.
  const keys: string[] = [];
  const keyGroup = new Map<string, number>();
  if (groupScratch.length < p.sampleCount) groupScratch = new Uint32Array(Math.max(p.sampleCount, groupScratch.length * 2));
  const groupOf = groupScratch;
  const { sampleLabelStart: ls, labelKey: lk, labelStr: lv } = p;
  const seen = new Map<number, number[]>();
  for (let i = 0; i < p.sampleCount; i++) {
    const start = ls[i]!;
    const n = ls[i + 1]! - start;
    let h = HASH_SEED ^ n;
    for (let k = start; k < start + n; k++) h = mix32(mix32(h, lk[k]!), lv[k]!);
    h &= 0x3fffffff; // a small-integer key: Map hashes those fastest
    let reps = seen.get(h);
    let g = -1;
    if (reps) {
      for (const r of reps) {
        const from = ls[r]!;
        if (ls[r + 1]! - from !== n) continue;
        let k = 0;
        while (k < n && lk[from + k] === lk[start + k] && lv[from + k] === lv[start + k]) k++;
        if (k === n) {
          g = groupOf[r]!;
          break;
        }
      }
    } else {
      seen.set(h, (reps = []));
    }
    if (g < 0) {
      const key = keyOf(i);
      g = keyGroup.get(key) ?? -1;
      if (g < 0) {
        g = keys.length;
        keys.push(key);
        keyGroup.set(key, g);
      }
      reps.push(i);
    }
    groupOf[i] = g;
  }
  // A profile without samples still records that it was received.
  if (keys.length === 0) keys.push('');

  // Keys hold string indexes; a string table may repeat a string, so keys
  // with the same label text are one group, and groups are ordered by that
  // text (independent of sample order).
  const byText = new Map<string, { labels: Labels; text: string; rank: number }>();
  const entryOf = keys.map((key) => {
    const labels: Labels = key === '' ? [] : key.split(',').map((kv) => {
      const [k, v] = kv.split(':');
      return [seriesKey(Number(k))!, p.strings[Number(v)]!] as const;
    });
    const text = labels.map(([n, v]) => `${n}\u0000${v}`).join('\u0001');
    let entry = byText.get(text);
    if (!entry) byText.set(text, (entry = { labels, text, rank: 0 }));
    return entry;
  });
  const entries = [...byText.values()];
  sortSmall(entries, (a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  entries.forEach((e, rank) => (e.rank = rank));

  // The groups' sample indexes, ascending, as consecutive runs of one array.
  const ends = new Uint32Array(entries.length);
  for (let i = 0; i < p.sampleCount; i++) ends[(groupOf[i] = entryOf[groupOf[i]!]!.rank)]!++;
  for (let r = 1; r < ends.length; r++) ends[r]! += ends[r - 1]!;
  const samples = new Uint32Array(p.sampleCount);
  const at = ends.map((_, r) => (r === 0 ? 0 : ends[r - 1]!));
  for (let i = 0; i < p.sampleCount; i++) samples[at[groupOf[i]!]!++] = i;
  const groups = entries.map((_, r) => samples.subarray(r === 0 ? 0 : ends[r - 1]!, ends[r]!));
  const labels = entries.map((e) => {
    const withSample = mergeByName(kept, e.labels);
    return typeLabels.map((tl) => mergeByName(withSample, tl));
  });
  return { groups, labels, profileTypes };
}

/**
 * Sorts in place; a few elements (a profile's label sets, a request's labels,
 * usually sorted already) by insertion, which allocates nothing, where
 * Array.prototype.sort allocated a work array per call: together a tenth of
 * what a build worker allocated per profile.
 */
function sortSmall<T>(a: T[], cmp: (x: T, y: T) => number): T[] {
  if (a.length > 16) return a.sort(cmp);
  for (let i = 1; i < a.length; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && cmp(a[j]!, v) > 0) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
  return a;
}

/** Each sample's group while planSeries runs (reused: planning is synchronous). */
let groupScratch = new Uint32Array(1024);

/** Two label lists sorted by name, merged into one sorted list; on equal names a's comes first (as a stable sort of a then b would order them). */
function mergeByName(a: Labels, b: Labels): Labels {
  const out: (readonly [string, string])[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(compareLabel(b[j]!, a[i]!) < 0 ? b[j++]! : a[i++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

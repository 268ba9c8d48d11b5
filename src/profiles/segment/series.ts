// How one decoded profile becomes series: one per (pprof sample-label set,
// sample type), labelled as Pyroscope labels them (__profile_type__ =
// name:type:unit:period_type:period_unit, __type__, __unit__, ...).

import { compareLabels } from '../block/labels.js';
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
  const periodType = p.strings[p.periodTypeType]!;
  const periodUnit = p.strings[p.periodTypeUnit]!;
  const profileTypes: string[] = [];
  // What a series' labels depend on besides its sample labels: the profile's
  // types and the request's labels. Lengths and separators that label names
  // cannot hold make the text unambiguous.
  let prefix = `${name.length}:${name}${periodType.length}:${periodType}${periodUnit.length}:${periodUnit}`;
  for (let t = 0; t < p.sampleTypeType.length; t++) {
    const type = p.strings[p.sampleTypeType[t]!]!;
    const unit = p.strings[p.sampleTypeUnit[t]!]!;
    profileTypes.push(`${name}:${type}:${unit}:${periodType}:${periodUnit}`);
    prefix += `${type.length}:${type}${unit.length}:${unit}`;
  }
  prefix += baseKey(base);

  // The labels of the series of one sample-label set (`id` names it
  // unambiguously), per sample type: remembered, so that a series pushed
  // again gets the same arrays (DatasetHead finds its id by identity)
  // without merging and sorting them again.
  let derived: { kept: Labels; typeLabels: Labels[] } | undefined;
  const seriesLabels = (sampleLabels: Labels, id: string): Labels[] => {
    const key = prefix + id;
    let labels = seriesLabelsMemo.get(key);
    if (labels === undefined) {
      derived ??= derivedLabels(p, base, name, periodType, periodUnit, profileTypes);
      const withSample = mergeByName(derived.kept, sampleLabels);
      labels = derived.typeLabels.map((tl) => mergeByName(withSample, tl));
      if (seriesLabelsMemo.size >= SERIES_MEMO_SIZE) seriesLabelsMemo.clear();
      seriesLabelsMemo.set(key, labels);
    }
    return labels;
  };

  // Most profiles carry no sample labels at all: then every sample is in one
  // group, and building a key per sample would be the slowest part of planning.
  if (p.labelKey.length === 0) {
    const all = new Uint32Array(p.sampleCount);
    for (let i = 0; i < all.length; i++) all[i] = i;
    return { groups: [all], labels: [seriesLabels([], '')], profileTypes };
  }

  // Group samples by their string sample labels.
  // Whether a label key becomes a series label is decided once per string index.
  const baseNames = new Set(base.map(([n]) => n));
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
  // A sample's series labels, sorted by name; the first value of a repeated key wins.
  const labelsOf = (i: number): Labels => {
    const start = p.sampleLabelStart[i]!;
    const end = p.sampleLabelStart[i + 1]!;
    const labels: (readonly [string, string])[] = [];
    for (let k = start; k < end; k++) {
      const value = p.labelStr[k]!;
      if (value === 0) continue; // numeric label
      const name = seriesKey(p.labelKey[k]!);
      if (name === null || labels.some(([n]) => n === name)) continue;
      labels.push([name, p.strings[value]!]);
    }
    return sortSmall(labels, compareLabel);
  };

  // Each sample's group. Samples with the same label pairs, in the same order,
  // are in one (labelsOf reads nothing else), and most samples repeat a few
  // label sets, so their pairs are hashed and compared with an earlier
  // sample's: only the first of each sequence builds its labels. A string
  // table may repeat a string, so sequences with equal labels share a group.
  const entries: { labels: Labels; id: string; rank: number }[] = [];
  const byLabels = new Map<string, number>();
  if (groupScratch.length < p.sampleCount) groupScratch = new Uint32Array(Math.max(p.sampleCount, groupScratch.length * 2));
  const groupOf = groupScratch;
  const { sampleLabelStart: ls, labelKey: lk, labelStr: lv } = p;
  // The first sample of each distinct label-pair sequence, by the sequence's
  // hash: open addressing over reused typed arrays (a Map of arrays cost more
  // than the hashing).
  let size = 16;
  while (size < 2 * p.sampleCount) size *= 2;
  const [reps, repHash] = repTables(size);
  const mask = size - 1;
  for (let i = 0; i < p.sampleCount; i++) {
    const start = ls[i]!;
    const n = ls[i + 1]! - start;
    let h = HASH_SEED ^ n;
    for (let k = start; k < start + n; k++) h = mix32(mix32(h, lk[k]!), lv[k]!);
    let slot = h & mask;
    let g = -1;
    for (let r = reps[slot]!; r >= 0; slot = (slot + 1) & mask, r = reps[slot]!) {
      if (repHash[slot] !== h) continue;
      const from = ls[r]!;
      if (ls[r + 1]! - from !== n) continue;
      let k = 0;
      while (k < n && lk[from + k] === lk[start + k] && lv[from + k] === lv[start + k]) k++;
      if (k === n) {
        g = groupOf[r]!;
        break;
      }
    }
    if (g < 0) {
      const labels = labelsOf(i);
      const id = labelsKey(labels);
      g = byLabels.get(id) ?? -1;
      if (g < 0) {
        g = entries.length;
        entries.push({ labels, id, rank: 0 });
        byLabels.set(id, g);
      }
      reps[slot] = i;
      repHash[slot] = h;
    }
    groupOf[i] = g;
  }
  // A profile without samples still records that it was received.
  if (entries.length === 0) entries.push({ labels: [], id: labelsKey([]), rank: 0 });
  // Groups are ordered by their labels, independent of sample order.
  const ordered = sortSmall([...entries], (a, b) => compareLabels(a.labels, b.labels));
  ordered.forEach((e, rank) => (e.rank = rank));

  // The groups' sample indexes, ascending, as consecutive runs of one array.
  const ends = new Uint32Array(entries.length);
  for (let i = 0; i < p.sampleCount; i++) ends[(groupOf[i] = entries[groupOf[i]!]!.rank)]!++;
  for (let r = 1; r < ends.length; r++) ends[r]! += ends[r - 1]!;
  const samples = new Uint32Array(p.sampleCount);
  const at = ends.map((_, r) => (r === 0 ? 0 : ends[r - 1]!));
  for (let i = 0; i < p.sampleCount; i++) samples[at[groupOf[i]!]!++] = i;
  const groups = ordered.map((_, r) => samples.subarray(r === 0 ? 0 : ends[r - 1]!, ends[r]!));
  return { groups, labels: ordered.map((e) => seriesLabels(e.labels, e.id)), profileTypes };
}

/**
 * An unambiguous text of a label list, to key maps by: label names hold no
 * \u0000, and each value is preceded by its length.
 */
export function labelsKey(labels: Labels): string {
  let key = '';
  for (const [n, v] of labels) key += `${n}\u0000${v.length}:${v}`;
  return key;
}

/** Request label sets' keys by the array: a batch's profiles of one series share it (see packBatch). */
const baseKeys = new WeakMap<Labels, string>();

/** The request labels' part of a series' memo key, between two \u0002 (which no label name or length holds). */
function baseKey(base: Labels): string {
  let key = baseKeys.get(base);
  if (key === undefined) baseKeys.set(base, (key = `\u0002${labelsKey(base)}\u0002`));
  return key;
}

/** Series labels by what they are made of (see planSeries); past this many the memo starts over. */
const SERIES_MEMO_SIZE = 10_000;
const seriesLabelsMemo = new Map<string, Labels[]>();

/** The request labels a series keeps, and per sample type the labels derived from the profile type (sorted by name). */
function derivedLabels(p: DecodedProfile, base: Labels, name: string, periodType: string, periodUnit: string, profileTypes: string[]): { kept: Labels; typeLabels: Labels[] } {
  const serviceName = base.find(([n]) => n === 'service_name')?.[1] ?? 'unknown_service';
  const typeLabels = profileTypes.map((profileType, t): Labels => [
    ['__name__', name],
    ['__period_type__', periodType],
    ['__period_unit__', periodUnit],
    ['__profile_type__', profileType],
    ['__service_name__', serviceName],
    ['__type__', p.strings[p.sampleTypeType[t]!]!],
    ['__unit__', p.strings[p.sampleTypeUnit[t]!]!],
  ]);
  // Labels derived from the profile type win over request labels of the same name.
  return { kept: sortSmall(base.filter(([n]) => !DERIVED_LABELS.has(n)), compareLabel), typeLabels };
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

/** planSeries' hash table of label-pair sequences (sample index, -1 = empty; hash), reused up to this many slots. */
const KEPT_REP_SLOTS = 1 << 16;
let repScratch = new Int32Array(1024);
let repHashScratch = new Int32Array(1024);

/** An empty table of `size` slots: the reused one, or for a profile of very many samples a table of its own. */
function repTables(size: number): [Int32Array, Int32Array] {
  if (size > KEPT_REP_SLOTS) return [new Int32Array(size).fill(-1), new Int32Array(size)];
  if (repScratch.length < size) {
    repScratch = new Int32Array(size);
    repHashScratch = new Int32Array(size);
  }
  return [repScratch.fill(-1, 0, size), repHashScratch];
}

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

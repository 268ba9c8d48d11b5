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
    typeLabels.push([
      ['__name__', name],
      ['__service_name__', serviceName],
      ['__period_type__', periodType],
      ['__period_unit__', periodUnit],
      ['__profile_type__', profileType],
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
    if (parts.length > 1) parts.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return parts.map(([, key, value]) => `${key}:${value}`).join(',');
  };
  // Most profiles carry no sample labels at all: then every sample is in one
  // group, and building a key per sample would be the slowest part of planning.
  if (p.labelKey.length === 0) {
    const all = new Uint32Array(p.sampleCount);
    for (let i = 0; i < all.length; i++) all[i] = i;
    const kept = base.filter(([n]) => !DERIVED_LABELS.has(n));
    return { groups: [all], labels: [typeLabels.map((tl) => [...kept, ...tl].sort(compareLabel) as Labels)], profileTypes };
  }
  const byKey = new Map<string, number[]>();
  // Samples with the same label pairs, in the same order, share a key (keyOf
  // reads nothing else): most samples repeat a few label sets, so their pairs
  // are hashed and compared with an earlier sample's instead of building the key again.
  const { sampleLabelStart: ls, labelKey: lk, labelStr: lv } = p;
  const seen = new Map<number, { sample: number; list: number[] }[]>();
  for (let i = 0; i < p.sampleCount; i++) {
    const start = ls[i]!;
    const n = ls[i + 1]! - start;
    let h = HASH_SEED ^ n;
    for (let k = start; k < start + n; k++) h = mix32(mix32(h, lk[k]!), lv[k]!);
    let reps = seen.get(h);
    let list: number[] | undefined;
    if (reps) {
      for (const r of reps) {
        const from = ls[r.sample]!;
        if (ls[r.sample + 1]! - from !== n) continue;
        let k = 0;
        while (k < n && lk[from + k] === lk[start + k] && lv[from + k] === lv[start + k]) k++;
        if (k === n) {
          list = r.list;
          break;
        }
      }
    } else {
      seen.set(h, (reps = []));
    }
    if (!list) {
      const key = keyOf(i);
      list = byKey.get(key);
      if (!list) byKey.set(key, (list = []));
      reps.push({ sample: i, list });
    }
    list.push(i);
  }
  // A profile without samples still records that it was received.
  if (byKey.size === 0) byKey.set('', []);

  // Keys hold string indexes; a string table may repeat a string, so merge
  // groups by their label text, then order them by it (independent of sample order).
  const byText = new Map<string, { labels: [string, string][]; text: string; samples: number[] }>();
  for (const [key, samples] of byKey) {
    const labels: [string, string][] = key === '' ? [] : key.split(',').map((kv) => {
      const [k, v] = kv.split(':');
      return [seriesKey(Number(k))!, p.strings[Number(v)]!];
    });
    const text = labels.map(([n, v]) => `${n}\u0000${v}`).join('\u0001');
    const seen = byText.get(text);
    if (seen) seen.samples.push(...samples);
    else byText.set(text, { labels, text, samples });
  }
  const entries = [...byText.values()].sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  const groups = entries.map((e) => Uint32Array.from(e.samples));
  const labels = entries.map(({ labels: sampleLabels }) => {
    // Labels derived from the profile type win over request labels of the same name.
    const kept = base.filter(([n]) => !DERIVED_LABELS.has(n));
    return typeLabels.map((tl) => [...kept, ...sampleLabels, ...tl].sort(compareLabel) as Labels);
  });
  return { groups, labels, profileTypes };
}

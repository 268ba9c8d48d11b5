// Shared by the PromQL oracle (test/interop/promql-oracle.test.ts) and bench:promql: pushing one
// dataset by remote write to several receivers (Prometheus 2.42 and Kiln) in time order, calling
// their Prometheus HTTP APIs, and comparing the answers.

import { encodeWriteRequest, type RemoteWriteSeries } from '../../src/profiles/exporter/remote-write-encoding.js';
import { snappyCompress } from '../../src/profiles/exporter/snappy.js';

/**
 * A value that stands for a stale marker in generated data. JS cannot be trusted to carry the
 * marker's signalling-NaN bits through a Float64 write, so the encoder writes this placeholder and
 * its 8 bytes are swapped for the marker's (0x7ff0000000000002) in the encoded request.
 */
export const STALE = -9.87654321e-300;

export interface DataSeries {
  labels: Record<string, string>;
  /** Unix ms, ascending. */
  timestamps: number[];
  /** STALE for a stale marker. */
  values: number[];
}

const PLACEHOLDER_BYTES = (() => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(STALE);
  return b;
})();
const STALE_MARKER_BYTES = Buffer.from('7ff0000000000002', 'hex').reverse();

function withStaleMarkers(body: Uint8Array): Uint8Array {
  const out = Buffer.from(body);
  for (let at = out.indexOf(PLACEHOLDER_BYTES); at >= 0; at = out.indexOf(PLACEHOLDER_BYTES, at + 8)) STALE_MARKER_BYTES.copy(out, at);
  return out;
}

export const REMOTE_WRITE_HEADERS = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

/**
 * Snappy-compressed remote-write requests for `series`, grouped so that sending the groups one
 * after the other is in time order for every series: group g holds every sample with timestamp in
 * [t0 + g·windowMs, t0 + (g+1)·windowMs), split into requests of at most `seriesPerRequest`
 * series. The requests of one group touch disjoint series, so they may be sent concurrently.
 */
export function encodeInTimeOrder(series: readonly DataSeries[], windowMs: number, seriesPerRequest = 2000): Uint8Array[][] {
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const s of series) {
    if (s.timestamps.length === 0) continue;
    t0 = Math.min(t0, s.timestamps[0]!);
    t1 = Math.max(t1, s.timestamps[s.timestamps.length - 1]!);
  }
  if (t0 === Infinity) return [];
  const labelLists = series.map((s) => Object.entries(s.labels).map(([name, value]) => ({ name, value })));
  const cursor = new Array<number>(series.length).fill(0);
  const groups: Uint8Array[][] = [];
  for (let from = t0; from <= t1; from += windowMs) {
    const to = from + windowMs;
    const group: Uint8Array[] = [];
    let batch: RemoteWriteSeries[] = [];
    const flush = () => {
      if (batch.length === 0) return;
      group.push(snappyCompress(withStaleMarkers(encodeWriteRequest(batch))));
      batch = [];
    };
    for (let i = 0; i < series.length; i++) {
      const s = series[i]!;
      let j = cursor[i]!;
      const samples = [];
      while (j < s.timestamps.length && s.timestamps[j]! < to) {
        samples.push({ timestampMs: s.timestamps[j]!, value: s.values[j]! });
        j++;
      }
      cursor[i] = j;
      if (samples.length === 0) continue;
      batch.push({ labels: labelLists[i]!, samples });
      if (batch.length >= seriesPerRequest) flush();
    }
    flush();
    groups.push(group);
  }
  return groups;
}

/** Sends the groups in order to one receiver (the requests of a group concurrently); throws on any non-2xx. */
export async function pushGroups(writeUrl: string, groups: readonly Uint8Array[][]): Promise<void> {
  for (const group of groups) {
    await Promise.all(
      group.map(async (body) => {
        const res = await fetch(writeUrl, { method: 'POST', body, headers: REMOTE_WRITE_HEADERS });
        const text = await res.text();
        if (res.status >= 300) throw new Error(`remote write to ${writeUrl}: ${res.status} ${text.slice(0, 300)}`);
      }),
    );
  }
}

// ---- The Prometheus HTTP API ----

export interface ApiBody {
  status: 'success' | 'error';
  data?: unknown;
  errorType?: string;
  error?: string;
  warnings?: string[];
  infos?: string[];
}

export interface ApiAnswer {
  httpStatus: number;
  body: ApiBody;
}

/** `base` is the API root: `http://host:port` for Prometheus, `http://host:port/prometheus` for Kiln. */
export async function apiCall(base: string, endpoint: string, params: Record<string, string | string[]>, method: 'GET' | 'POST' = 'GET'): Promise<ApiAnswer> {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) form.append(k, one);
  const url = `${base}/api/v1/${endpoint}`;
  const res =
    method === 'GET'
      ? await fetch(`${url}?${form}`)
      : await fetch(url, { method: 'POST', body: form.toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  const text = await res.text();
  let body: ApiBody;
  try {
    body = JSON.parse(text) as ApiBody;
  } catch {
    body = { status: 'error', errorType: `http ${res.status}`, error: text.slice(0, 200) };
  }
  return { httpStatus: res.status, body };
}

/** API times: Unix seconds as a decimal string (ms precision). */
export const apiTime = (ms: number): string => String(ms / 1000);

export function instantQuery(base: string, query: string, timeMs: number): Promise<ApiAnswer> {
  return apiCall(base, 'query', { query, time: apiTime(timeMs) }, 'POST');
}

export function rangeQuery(base: string, query: string, startMs: number, endMs: number, stepMs: number): Promise<ApiAnswer> {
  return apiCall(base, 'query_range', { query, start: apiTime(startMs), end: apiTime(endMs), step: String(stepMs / 1000) }, 'POST');
}

// ---- Comparing answers ----

/** Equal within relative 1e-9; NaN equals NaN; an absolute 1e-12 floor absorbs summation-order noise around 0. */
export function sameFloat(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  const diff = Math.abs(a - b);
  return diff <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) || diff <= 1e-12;
}

/** Canonical text of a label set: `{a="1", b="2"}` with names sorted. */
export function labelKey(metric: Record<string, string>): string {
  return `{${Object.keys(metric)
    .sort()
    .map((k) => `${k}=${JSON.stringify(metric[k])}`)
    .join(', ')}}`;
}

type Sample = [number, string];
interface VectorItem {
  metric: Record<string, string>;
  value: Sample;
}
interface MatrixItem {
  metric: Record<string, string>;
  values: Sample[];
}

const fmt = (s: Sample | undefined) => (s === undefined ? '∅' : `${s[1]}@${s[0]}`);

/**
 * Differences between two answers to the same request, as short lines (empty when equal).
 * `ordered`: the order of a vector result matters (sort(), sort_desc()); otherwise vectors and
 * lists are compared as sets, since neither server promises an order for them.
 */
export function diffAnswers(want: ApiAnswer, got: ApiAnswer, ordered = false, maxLines = 6): string[] {
  const out: string[] = [];
  const w = want.body;
  const g = got.body;
  if (w.status !== g.status) {
    return [`status: prometheus ${w.status}${w.error ? ` (${w.errorType}: ${w.error})` : ''}, kiln ${g.status}${g.error ? ` (${g.errorType}: ${g.error})` : ''} [http ${want.httpStatus} vs ${got.httpStatus}]`];
  }
  if (w.status === 'error') {
    if (w.errorType !== g.errorType || want.httpStatus !== got.httpStatus) out.push(`error: prometheus ${want.httpStatus} ${w.errorType} (${w.error}), kiln ${got.httpStatus} ${g.errorType} (${g.error})`);
    return out;
  }
  const wd = w.data as { resultType?: string; result?: unknown } | unknown[];
  const gd = g.data as { resultType?: string; result?: unknown } | unknown[];
  if (Array.isArray(wd) || Array.isArray(gd)) return diffLists(wd, gd, maxLines);
  const wt = wd.resultType;
  if (wt !== gd.resultType) return [`resultType: prometheus ${wt}, kiln ${gd.resultType}`];
  const push = (line: string) => {
    if (out.length < maxLines) out.push(line);
    else if (out.length === maxLines) out.push('…');
  };
  if (wt === 'scalar' || wt === 'string') {
    const [ws, gs] = [wd.result as Sample, gd.result as Sample];
    if (ws[0] !== gs[0] || (wt === 'scalar' ? !sameFloat(Number(ws[1]), Number(gs[1])) : ws[1] !== gs[1])) push(`${wt}: prometheus ${fmt(ws)}, kiln ${fmt(gs)}`);
    return out;
  }
  if (wt === 'vector') {
    const wv = wd.result as VectorItem[];
    const gv = gd.result as VectorItem[];
    if (!Array.isArray(gv)) return [`kiln result is not an array: ${JSON.stringify(gd.result).slice(0, 100)}`];
    if (ordered) {
      const wk = wv.map((s) => labelKey(s.metric)).join(' ');
      const gk = gv.map((s) => labelKey(s.metric)).join(' ');
      if (wk !== gk) push(`order: prometheus ${wk}, kiln ${gk}`);
    }
    const gm = new Map(gv.map((s) => [labelKey(s.metric), s]));
    if (gm.size !== gv.length) push(`kiln answered duplicate label sets`);
    for (const s of wv) {
      const k = labelKey(s.metric);
      const o = gm.get(k);
      gm.delete(k);
      if (o === undefined) push(`only in prometheus: ${k} ${fmt(s.value)}`);
      else if (s.value[0] !== o.value[0] || !sameFloat(Number(s.value[1]), Number(o.value[1]))) push(`${k}: prometheus ${fmt(s.value)}, kiln ${fmt(o.value)}`);
    }
    for (const [k, o] of gm) push(`only in kiln: ${k} ${fmt(o.value)}`);
    return out;
  }
  if (wt === 'matrix') {
    const wm = wd.result as MatrixItem[];
    const gm = new Map((gd.result as MatrixItem[]).map((s) => [labelKey(s.metric), s]));
    for (const s of wm) {
      const k = labelKey(s.metric);
      const o = gm.get(k);
      gm.delete(k);
      if (o === undefined) {
        push(`only in prometheus: ${k} (${s.values.length} points from ${fmt(s.values[0])})`);
        continue;
      }
      const ot = new Map(o.values.map((p) => [p[0], p[1]]));
      let shown = 0;
      let differing = 0;
      const examples: string[] = [];
      for (const p of s.values) {
        const ov = ot.get(p[0]);
        ot.delete(p[0]);
        if (ov === undefined || !sameFloat(Number(p[1]), Number(ov))) {
          differing++;
          if (shown++ < 2) examples.push(`@${p[0]} prometheus ${p[1]} kiln ${ov ?? '∅'}`);
        }
      }
      for (const [t, v] of ot) {
        differing++;
        if (shown++ < 2) examples.push(`@${t} prometheus ∅ kiln ${v}`);
      }
      if (differing > 0) push(`${k}: ${differing} points differ (${s.values.length} vs ${o.values.length}): ${examples.join('; ')}`);
    }
    for (const [k, o] of gm) push(`only in kiln: ${k} (${o.values.length} points from ${fmt(o.values[0])})`);
    return out;
  }
  return [`unknown resultType ${wt}`];
}

/** Lists (label names, label values, series): compared as sets of their JSON-canonical items. */
function diffLists(w: unknown, g: unknown, maxLines: number): string[] {
  if (!Array.isArray(w) || !Array.isArray(g)) return [`data: prometheus ${JSON.stringify(w).slice(0, 80)}, kiln ${JSON.stringify(g).slice(0, 80)}`];
  const key = (x: unknown) => (typeof x === 'string' ? JSON.stringify(x) : labelKey(x as Record<string, string>));
  const ws = new Set(w.map(key));
  const gs = new Set(g.map(key));
  const out: string[] = [];
  for (const k of ws) if (!gs.has(k)) out.push(`only in prometheus: ${k}`);
  for (const k of gs) if (!ws.has(k)) out.push(`only in kiln: ${k}`);
  if (out.length === 0 && g.length !== gs.size) out.push(`kiln answered duplicates (${g.length} items, ${gs.size} distinct)`);
  return out.length > maxLines ? [...out.slice(0, maxLines), `… ${out.length - maxLines} more`] : out;
}

/** Series and points of a successful answer (vectors: points = series), for the benchmark's sanity check. */
export function countSeriesAndPoints(a: ApiAnswer): { series: number; points: number } {
  if (a.body.status !== 'success') return { series: -1, points: -1 };
  const d = a.body.data as { resultType: string; result: unknown };
  if (d.resultType === 'matrix') {
    const m = d.result as MatrixItem[];
    return { series: m.length, points: m.reduce((n, s) => n + s.values.length, 0) };
  }
  if (d.resultType === 'vector') {
    const v = d.result as VectorItem[];
    return { series: v.length, points: v.length };
  }
  return { series: 1, points: 1 };
}

// Reference encoding for the receiver's tests: protobufjs with .proto files written from the
// spec (fixtures/), snappy from snappyjs, and a fake Storage with the TSDB head's sample rules.
import path from 'node:path';
import protobuf from 'protobufjs';
import { Registry } from 'prom-client';
import { snappyCompress } from '../../../src/profiles/exporter/snappy.js';
import { TsdbDistributor } from '../../../src/tsdb/distributor/distributor.js';
import { HaTracker } from '../../../src/tsdb/distributor/ha-tracker.js';
import { type TenantLimits, limitsFromConfig, haLimitsFromConfig, type HaTrackerLimits } from '../../../src/tsdb/distributor/limits.js';
import { MetadataStore } from '../../../src/tsdb/distributor/metadata-store.js';
import { DistributorMetrics } from '../../../src/tsdb/distributor/metrics.js';
import type { AppendOptions, AppendOutcome, Labels, Querier, SeriesSamples, Storage } from '../../../src/tsdb/storage.js';
import { defaultConfig } from '../../../src/config/config.js';

const fixtures = path.join(import.meta.dirname, 'fixtures');
const root = protobuf.loadSync([path.join(fixtures, 'prompb.proto'), path.join(fixtures, 'write_v2.proto')]);
export const WriteRequestV1 = root.lookupType('prometheus.WriteRequest');
export const RequestV2 = root.lookupType('io.prometheus.write.v2.Request');

/** The stale marker's bit pattern, and the double it reads as. */
export const STALE_HEX = '7ff0000000000002';
export function staleNaN(): number {
  const b = Buffer.from(STALE_HEX, 'hex');
  return b.readDoubleBE(0);
}
/**
 * JS numbers cannot be trusted to carry the stale marker: it is a signalling NaN and V8 may set
 * its quiet bit (0x7ff8…) on the way. So tests encode a placeholder value and swap its 8 bytes
 * for the marker's in the encoded body, as a Go sender would have written them.
 */
export const STALE_PLACEHOLDER = 1234.5678;
export function withStaleMarkers(body: Uint8Array): Buffer {
  const out = Buffer.from(body);
  const needle = Buffer.alloc(8);
  needle.writeDoubleLE(STALE_PLACEHOLDER);
  const marker = Buffer.from(STALE_HEX, 'hex').reverse();
  for (let at = out.indexOf(needle); at >= 0; at = out.indexOf(needle, at + 8)) marker.copy(out, at);
  return out;
}
export function bitsOf(v: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return b.toString('hex');
}
export function bitsAt(values: Float64Array, i: number): string {
  const w = new Uint32Array(values.buffer, values.byteOffset + i * 8, 2);
  return w[1]!.toString(16).padStart(8, '0') + w[0]!.toString(16).padStart(8, '0');
}

export interface TestSeries {
  labels: Record<string, string> | [string, string][];
  samples?: [timestampMs: number, value: number][];
  exemplars?: number;
  histograms?: number;
}

const pairs = (l: TestSeries['labels']) => (Array.isArray(l) ? l : Object.entries(l));

/** A WriteRequest (1.0) encoded by protobufjs; not compressed. */
export function encodeV1(series: TestSeries[], metadata: { type?: number; metricFamilyName?: string; help?: string; unit?: string }[] = []): Uint8Array {
  const msg = WriteRequestV1.fromObject({
    timeseries: series.map((s) => ({
      labels: pairs(s.labels).map(([name, value]) => ({ name, value })),
      samples: (s.samples ?? []).map(([timestamp, value]) => ({ value, timestamp })),
      exemplars: Array.from({ length: s.exemplars ?? 0 }, (_, i) => ({ labels: [{ name: 'trace_id', value: `t${i}` }], value: 1, timestamp: 1 })),
      histograms: Array.from({ length: s.histograms ?? 0 }, () => ({ countInt: 1, sum: 1, schema: 0, timestamp: Date.now() })),
    })),
    metadata,
  });
  return WriteRequestV1.encode(msg).finish();
}

/** An io.prometheus.write.v2.Request encoded by protobufjs (symbols built from the labels). */
export function encodeV2(series: (TestSeries & { metadata?: { type: number; help: string; unit: string } })[]): Uint8Array {
  const symbols = [''];
  const index = new Map<string, number>([['', 0]]);
  const ref = (s: string) => {
    let i = index.get(s);
    if (i === undefined) {
      i = symbols.length;
      symbols.push(s);
      index.set(s, i);
    }
    return i;
  };
  const timeseries = series.map((s) => ({
    labelsRefs: pairs(s.labels).flatMap(([n, v]) => [ref(n), ref(v)]),
    samples: (s.samples ?? []).map(([timestamp, value]) => ({ value, timestamp })),
    exemplars: Array.from({ length: s.exemplars ?? 0 }, () => ({ labelsRefs: [ref('trace_id'), ref('abc')], value: 1, timestamp: 1 })),
    histograms: Array.from({ length: s.histograms ?? 0 }, () => ({ countInt: 1, sum: 1, schema: 0, timestamp: Date.now() })),
    ...(s.metadata && { metadata: { type: s.metadata.type, helpRef: ref(s.metadata.help), unitRef: ref(s.metadata.unit) } }),
  }));
  return RequestV2.encode(RequestV2.fromObject({ symbols, timeseries })).finish();
}

export const snappy = (raw: Uint8Array): Buffer => Buffer.from(snappyCompress(raw));

/**
 * A Storage with the head's append rules (spec/tsdb.md §2.7), in memory: same timestamp and
 * same bits → accepted silently; same timestamp, other value → duplicate; older → out of order
 * (or accepted within the window); new series beyond the limit → max_series_per_user.
 */
export class FakeStorage implements Storage {
  readonly series = new Map<string, Map<string, { labels: Labels; ts: number[]; bits: string[] }>>();
  calls = 0;
  fail: Error | undefined;

  async append(tenant: string, input: readonly SeriesSamples[], options: AppendOptions): Promise<AppendOutcome> {
    this.calls++;
    if (this.fail) throw this.fail;
    let t = this.series.get(tenant);
    if (!t) this.series.set(tenant, (t = new Map()));
    const out: AppendOutcome = { appended: 0, rejected: [] };
    input.forEach((s, i) => {
      // The series' samples are [from, to) of its arrays (storage.ts).
      const from = s.from ?? 0;
      const to = s.to ?? s.timestamps.length;
      const key = JSON.stringify(s.labels);
      let stored = t.get(key);
      if (!stored) {
        if (options.maxSeriesPerUser > 0 && t.size >= options.maxSeriesPerUser) {
          for (let j = from; j < to; j++) out.rejected.push({ series: i, timestampMs: s.timestamps[j]!, reason: 'max_series_per_user' });
          return;
        }
        stored = { labels: s.labels, ts: [], bits: [] };
        t.set(key, stored);
      }
      const values = s.values instanceof Float64Array ? s.values : Float64Array.from(s.values);
      for (let j = from; j < to; j++) {
        const ts = s.timestamps[j]!;
        const bits = bitsAt(values, j);
        const last = stored.ts.length - 1;
        if (last >= 0 && ts === stored.ts[last]) {
          if (bits !== stored.bits[last]) out.rejected.push({ series: i, timestampMs: ts, reason: 'duplicate_timestamp' });
          continue;
        }
        if (last >= 0 && ts < stored.ts[last]!) {
          if (ts < stored.ts[last]! - options.outOfOrderWindowMs) {
            out.rejected.push({ series: i, timestampMs: ts, reason: options.outOfOrderWindowMs > 0 ? 'too_old' : 'out_of_order' });
            continue;
          }
          const at = stored.ts.findIndex((x) => x > ts);
          stored.ts.splice(at, 0, ts);
          stored.bits.splice(at, 0, bits);
          out.appended++;
          continue;
        }
        stored.ts.push(ts);
        stored.bits.push(bits);
        out.appended++;
      }
    });
    return out;
  }

  querier(): Querier {
    throw new Error('not used');
  }

  async close(): Promise<void> {}

  /** A tenant's series as `name{...}` → [ts, bits][]. */
  dump(tenant = 'anonymous'): Record<string, [number, string][]> {
    const out: Record<string, [number, string][]> = {};
    for (const s of this.series.get(tenant)?.values() ?? []) out[JSON.stringify(Object.fromEntries(s.labels))] = s.ts.map((t, i) => [t, s.bits[i]!]);
    return out;
  }
}

export function testLimits(over: Partial<TenantLimits> = {}): TenantLimits {
  return { ...limitsFromConfig(defaultConfig().tsdb), ...over };
}

export function testDistributor(opts: { limits?: Partial<TenantLimits>; ha?: Partial<HaTrackerLimits>; now?: () => number; storage?: FakeStorage } = {}) {
  const storage = opts.storage ?? new FakeStorage();
  const registry = new Registry();
  const metrics = new DistributorMetrics(registry);
  const metadata = new MetadataStore();
  const now = opts.now ?? Date.now;
  const ha = new HaTracker({ ...haLimitsFromConfig(defaultConfig().tsdb), ...opts.ha }, now);
  const distributor = new TsdbDistributor({ storage, limits: testLimits(opts.limits), ha, metadata, metrics, now });
  return { storage, registry, metrics, metadata, ha, distributor };
}

// What both remote-write decoders (1.0 and 2.0) produce: one shape for the rest of the pipeline.
//
// Samples are not objects: a request's float samples live in two typed arrays (timestamps,
// values) shared by all its series, and each series holds subarrays of them. Values are copied
// as raw 64-bit patterns, never through a JS number, so NaN payloads — above all Prometheus's
// stale marker 0x7ff0000000000002 — reach storage bit for bit.

import os from 'node:os';
import type { SeriesMemo } from '../storage.js';
import type { CachedSeries } from './series-cache.js';

// The raw copy below writes the two little-endian 32-bit halves of each double; every platform
// Node runs on for us (x64, arm64) is little-endian. Refuse to run silently wrong elsewhere.
if (os.endianness() !== 'LE') throw new Error('the remote-write decoder assumes a little-endian platform');

export type MetricType = 'unknown' | 'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset';

/** Both versions number the metric types the same way (0 = unknown/unspecified). */
export const METRIC_TYPES: readonly MetricType[] = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'];

export interface MetricMetadata {
  metricFamilyName: string;
  type: MetricType;
  help: string;
  unit: string;
}

/**
 * One series of a request. It is also what the distributor hands to storage (a SeriesSamples):
 * one object per series, no per-series arrays. Its samples are `timestamps`/`values`
 * [from, to): the arrays are the whole request's (decoders) or the series' own (from, to absent).
 */
export interface DecodedSeries {
  /** As received: maybe unsorted, maybe with empty values (validation.ts normalises). */
  labels: [string, string][];
  timestamps: Float64Array;
  values: Float64Array;
  from?: number;
  to?: number;
  /** Native histogram samples received for this series (not stored; see docs/tsdb.md). */
  histograms: number;
  exemplars: number;
  /** Name of the first label whose value is not valid UTF-8, if any. */
  invalidUtf8Label?: string;
  /**
   * The label set from the tenant's cache (series-cache.ts) when the labels' bytes are a known
   * key; `labels` is then left empty (nothing was decoded).
   */
  cached?: CachedSeries;
  /** The labels' bytes in `body`, [keyStart, keyEnd), when they can be a cache key (else −1 or absent). */
  keyStart?: number;
  keyEnd?: number;
  /** Storage's memo for the label set (storage.ts SeriesMemo), set by the distributor. */
  memo?: SeriesMemo;
}

/** The number of samples of a series. */
export function sampleCount(s: { timestamps: ArrayLike<number>; from?: number; to?: number }): number {
  return (s.to ?? s.timestamps.length) - (s.from ?? 0);
}

export interface DecodedRequest {
  series: DecodedSeries[];
  metadata: MetricMetadata[];
  samples: number;
  histograms: number;
  exemplars: number;
  /** The decompressed body (the cache keys point into it). */
  body?: Uint8Array;
}

const EMPTY = new Float64Array(0);

/**
 * Collects the samples of a request while it is decoded. Capacity doubles as needed, so the
 * arrays never outgrow twice the samples actually present (and a sample needs at least two
 * body bytes, so a body of N bytes can never make us hold more than ~16 N bytes here).
 */
export class SampleCollector {
  private ts = new Float64Array(256);
  private vals = new Float64Array(256);
  private words = new Uint32Array(this.vals.buffer);
  private n = 0;
  private open: DecodedSeries | undefined;

  get count(): number {
    return this.n;
  }

  /** Starts collecting the samples of `series` (call end() after its last sample). */
  begin(series: DecodedSeries): void {
    series.from = this.n;
    this.open = series;
  }

  /** Adds one sample; the value's 8 bytes are copied from `buf` at `at` exactly. */
  add(timestampMs: number, buf: Uint8Array, at: number): void {
    if (this.n === this.ts.length) this.grow();
    const i = this.n++;
    this.ts[i] = timestampMs;
    const w = this.words;
    w[2 * i] = buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24);
    w[2 * i + 1] = buf[at + 4]! | (buf[at + 5]! << 8) | (buf[at + 6]! << 16) | (buf[at + 7]! << 24);
  }

  /** Adds a sample whose value field was absent: proto3's default 0. */
  addZero(timestampMs: number): void {
    if (this.n === this.ts.length) this.grow();
    const i = this.n++;
    this.ts[i] = timestampMs;
    this.words[2 * i] = 0;
    this.words[2 * i + 1] = 0;
  }

  end(): void {
    this.open!.to = this.n;
    this.open = undefined;
  }

  /** Points every series at the final arrays (after the last grow); their ranges index them. */
  finish(series: readonly DecodedSeries[]): void {
    for (const s of series) {
      s.timestamps = this.ts;
      s.values = this.vals;
    }
  }

  private grow(): void {
    const size = this.ts.length * 2;
    const ts = new Float64Array(size);
    ts.set(this.ts);
    const words = new Uint32Array(size * 2);
    words.set(this.words);
    this.ts = ts;
    this.words = words;
    this.vals = new Float64Array(words.buffer);
  }
}

/** The labels of a series before any is decoded (shared; decoders replace it before adding one). */
export const NO_LABELS: [string, string][] = Object.freeze([]) as unknown as [string, string][];

export function newSeries(): DecodedSeries {
  return {
    labels: NO_LABELS,
    timestamps: EMPTY,
    values: EMPTY,
    from: 0,
    to: 0,
    histograms: 0,
    exemplars: 0,
    invalidUtf8Label: undefined,
    cached: undefined,
    keyStart: -1,
    keyEnd: -1,
    memo: undefined,
  };
}

// The TSDB's distributor: one decoded remote-write request in, samples in storage and an answer
// out, following Mimir's push pipeline (spec/tsdb.md §2.3):
//
//   1. HA dedupe          non-elected replica → 202, nothing stored; elected → replica label dropped
//   2. normalise labels   drop empty values, sort
//   3. validate           per series (labels) and per sample (time); invalid ones are skipped and
//                         the first failure remembered; in-request duplicate timestamps dropped
//   4. rate limit         token bucket over the valid samples + metadata → 429, nothing stored
//   5. append             storage stores what it can; its first rejection wins over (3)'s error
//
// So a request with good and bad series stores the good ones and answers 400 with one message,
// as Mimir does (not Prometheus's all-or-nothing). Storage owns durability: append resolves only
// once the samples are in the WAL, and only then do we answer 2xx.

import { formatDuration } from '../../config/flags.js';
import { TenantRateLimiter } from '../../profiles/ingest/rate-limit.js';
import type { AppendOutcome, Labels, RejectedSample, SeriesSamples, Storage } from '../storage.js';
import { type DecodedRequest, type MetricMetadata, sampleCount } from './decoded-request.js';
import { formatLabels, formatTimestamp, reasonOf, withId, withLimit } from './errors.js';
import type { HaTracker } from './ha-tracker.js';
import { LIMIT_FLAGS, type TenantLimits } from './limits.js';
import type { MetadataStore } from './metadata-store.js';
import { SeriesCache } from './series-cache.js';
import type { DistributorMetrics } from './metrics.js';
import { type Invalid, metricName, normalizeLabels, validateLabels, validateMetadata, validateSampleTime } from './validation.js';

export interface PushResult {
  /** 200 when everything was stored; else 202 (HA), 400, 429 or 500. */
  status: number;
  /** The first error, for the response body. */
  message?: string;
  retryAfterSeconds?: number;
  samplesWritten: number;
  histogramsWritten: number;
  exemplarsWritten: number;
}

export interface DistributorOptions {
  storage: Storage;
  limits: TenantLimits;
  ha: HaTracker;
  metadata: MetadataStore;
  metrics: DistributorMetrics;
  now?: () => number;
}

const NATIVE_HISTOGRAMS = 'native-histograms-unsupported';
/** Label sets a tenant's cache holds at most when the tenant has no series limit. */
const UNLIMITED_CACHE_ENTRIES = 1 << 21;

export class TsdbDistributor {
  private readonly rateLimiter: TenantRateLimiter;
  private readonly now: () => number;
  private readonly caches = new Map<string, SeriesCache>();

  constructor(private readonly o: DistributorOptions) {
    this.now = o.now ?? Date.now;
    this.rateLimiter = new TenantRateLimiter(o.limits.ingestionRate, o.limits.ingestionBurstSize, this.now);
  }

  async push(tenant: string, req: DecodedRequest): Promise<PushResult> {
    const { limits, metrics } = this.o;
    metrics.receivedSeries.inc({ tenant }, req.series.length);
    metrics.receivedSamples.inc({ tenant }, req.samples);
    if (req.exemplars > 0) metrics.receivedExemplars.inc({ tenant }, req.exemplars);
    if (req.histograms > 0) metrics.receivedHistograms.inc({ tenant }, req.histograms);
    if (req.metadata.length > 0) metrics.receivedMetadata.inc({ tenant }, req.metadata.length);
    const result: PushResult = { status: 200, samplesWritten: 0, histogramsWritten: 0, exemplarsWritten: 0 };

    // 1. HA dedupe, on the first series' labels.
    const first = req.series[0];
    const ha = this.o.ha.check(tenant, first?.cached?.labels ?? first?.labels);
    if (ha.kind === 'reject') {
      metrics.haRejectedRequests.inc({ tenant });
      return { ...result, status: 202, message: ha.message };
    }
    if (ha.kind === 'too-many-clusters') {
      this.discard(tenant, 'too_many_ha_clusters', req.samples + req.histograms);
      return { ...result, status: 400, message: ha.message };
    }
    const dropLabel = ha.kind === 'accept' ? this.o.ha.replicaLabel : undefined;

    // 2–3. Normalise and validate each series; collect what may be stored.
    let firstError: Invalid | undefined;
    const valid: SeriesSamples[] = [];
    let samples = 0;
    const now = this.now();
    // Label sets that pass validation are remembered by their bytes (series-cache.ts); a series
    // the decoder found there skips normalising and validating. Not with HA dedupe, which
    // changes the labels per request.
    const cache = dropLabel === undefined ? this.seriesCache(tenant) : undefined;
    const body = req.body;
    for (const series of req.series) {
      if (series.exemplars > 0) metrics.discardedExemplars.inc({ reason: 'exemplars_disabled', tenant }, series.exemplars);
      // What goes to storage: the series itself for a known label set (the common case, no
      // allocation), else a new object with the normalised labels.
      let out: SeriesSamples;
      let labels: Labels;
      const cached = series.cached;
      if (cached !== undefined && dropLabel === undefined) {
        labels = cached.labels;
        series.labels = labels as [string, string][];
        series.memo = cached;
        out = series;
      } else {
        // (A cached label set with HA dedupe on: only if decoded with a cache, not by the push handler.)
        let raw = cached !== undefined ? (cached.labels as [string, string][]) : series.labels;
        if (dropLabel !== undefined) raw = raw.filter(([n]) => n !== dropLabel);
        const normalized = normalizeLabels(raw);
        if (normalized.length === 0) continue; // nothing left to name a series by: dropped, as Mimir does
        const invalid = validateLabels(normalized, limits, series.invalidUtf8Label);
        if (invalid) {
          firstError ??= invalid;
          this.discard(tenant, reasonOf(invalid.id), sampleCount(series) + series.histograms);
          continue;
        }
        labels = normalized;
        const keyStart = series.keyStart ?? -1;
        const memo = cache !== undefined && body !== undefined && keyStart >= 0 ? cache.add(body, keyStart, series.keyEnd!, labels) : undefined;
        out = { labels, timestamps: series.timestamps, values: series.values, from: series.from, to: series.to, memo };
      }
      if (series.histograms > 0) {
        firstError ??= {
          id: NATIVE_HISTOGRAMS,
          message: withId(`received native histogram samples, which this Kiln version does not store; series: '${formatLabels(labels)}'`, NATIVE_HISTOGRAMS),
        };
        this.discard(tenant, reasonOf(NATIVE_HISTOGRAMS), series.histograms);
      }
      const from = series.from ?? 0;
      const to = series.to ?? series.timestamps.length;
      if (to === from) continue;
      const kept = this.checkSamples(tenant, series.timestamps, series.values, from, to, now, labels);
      if (kept === undefined) {
        valid.push(out);
        samples += to - from;
        continue;
      }
      if (kept.error) firstError ??= kept.error;
      if (kept.timestamps.length > 0) {
        valid.push({ labels, timestamps: kept.timestamps, values: kept.values, memo: out.memo });
        samples += kept.timestamps.length;
      }
    }
    const metadata: MetricMetadata[] = [];
    for (const md of req.metadata) {
      const invalid = validateMetadata(md, limits);
      if (invalid) {
        firstError ??= invalid;
        metrics.discardedMetadata.inc({ reason: reasonOf(invalid.id), tenant });
      } else {
        metadata.push(md);
      }
    }

    // 4. Rate limit over what passed validation (exemplars are dropped before, so not counted).
    const wait = this.rateLimiter.take(tenant, samples + metadata.length);
    if (wait > 0) {
      this.discard(tenant, 'rate_limited', samples);
      metrics.discardedMetadata.inc({ reason: 'rate_limited', tenant }, metadata.length);
      return {
        ...result,
        status: 429,
        message: `the request has been rejected because the tenant exceeded the ingestion rate limit, set to ${limits.ingestionRate} items/s with a maximum allowed burst of ${limits.ingestionBurstSize}. This limit is applied on the total number of samples, exemplars and metadata received across all distributors (err-kiln-tenant-max-ingestion-rate). To adjust the related per-tenant limits, configure -${LIMIT_FLAGS.ingestionRate} and -${LIMIT_FLAGS.ingestionBurstSize}, or contact your service administrator.`,
        // A request bigger than the burst can never pass: no point suggesting a time.
        ...(Number.isFinite(wait) && { retryAfterSeconds: Math.max(1, Math.ceil(wait)) }),
      };
    }
    this.o.metadata.add(tenant, metadata);

    // 5. Append; storage's rejections are the ingester's errors and take precedence.
    if (valid.length === 0) return firstError ? { ...result, status: 400, message: firstError.message } : result;
    const failed = (e: unknown): PushResult => {
      this.discard(tenant, 'storage_error', samples);
      return { ...result, status: 500, message: `failed to store samples: ${(e as Error).message}` };
    };
    let appending: Promise<AppendOutcome>;
    try {
      appending = this.o.storage.append(tenant, valid, { outOfOrderWindowMs: limits.outOfOrderWindowMs, maxSeriesPerUser: limits.maxSeriesPerUser });
    } catch (e) {
      return failed(e);
    }
    // While the WAL write is awaited only the label sets are kept (for a rejection's message),
    // not the request and its per-series objects: nothing here awaits, the callbacks below see
    // only what they name, so a few requests in flight keep little alive across a scavenge.
    const labelSets = valid.map((s) => s.labels);
    return appending.then((outcome) => {
      result.samplesWritten = outcome.appended;
      if (outcome.rejected.length > 0) {
        for (const r of outcome.rejected) this.discard(tenant, STORAGE_REASONS[r.reason], 1);
        return { ...result, status: 400, message: this.rejectionMessage(outcome.rejected[0]!, labelSets) };
      }
      if (firstError) return { ...result, status: 400, message: firstError.message };
      return result;
    }, failed);
  }

  /**
   * Per-sample checks of one series: timestamps too far in the future (or past), and repeated
   * timestamps within the request (the first is kept, later ones dropped silently, as Mimir
   * does). The common all-good case returns undefined: keep the input arrays as they are.
   */
  private checkSamples(tenant: string, ts: Float64Array, values: Float64Array, from: number, to: number, now: number, labels: Labels): { timestamps: Float64Array; values: Float64Array; error?: Invalid } | undefined {
    let drop: Uint8Array | undefined;
    let error: Invalid | undefined;
    const limits = this.o.limits;
    // The bounds validateSampleTime checks, so the common case needs no metric name.
    const newest = now + limits.createGracePeriodMs;
    const oldest = limits.pastGracePeriodMs > 0 ? now - limits.pastGracePeriodMs - limits.outOfOrderWindowMs : -Infinity;
    for (let i = from; i < to; i++) {
      const t = ts[i]!;
      let reason: string | undefined;
      if (i > from && t === ts[i - 1]) {
        reason = 'sample_duplicate_timestamp';
      } else if (t > newest || t < oldest) {
        const invalid = validateSampleTime(t, now, limits, metricName(labels) ?? '');
        if (invalid) {
          error ??= invalid;
          reason = reasonOf(invalid.id);
        }
      }
      if (reason !== undefined) {
        (drop ??= new Uint8Array(to - from))[i - from] = 1;
        this.discard(tenant, reason, 1);
      }
    }
    if (!drop) return undefined;
    // Copy the kept samples, values as raw words so NaN payloads (stale markers) survive.
    let n = 0;
    for (let i = 0; i < drop.length; i++) if (drop[i] === 0) n++;
    const outTs = new Float64Array(n);
    const outWords = new Uint32Array(n * 2);
    const inWords = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
    for (let i = 0, j = 0; i < drop.length; i++) {
      if (drop[i] === 1) continue;
      outTs[j] = ts[from + i]!;
      outWords[2 * j] = inWords[2 * (from + i)]!;
      outWords[2 * j + 1] = inWords[2 * (from + i) + 1]!;
      j++;
    }
    return { timestamps: outTs, values: new Float64Array(outWords.buffer), ...(error && { error }) };
  }

  private rejectionMessage(r: RejectedSample, labelSets: readonly Labels[]): string {
    if (r.reason === 'max_series_per_user') {
      return withLimit(`per-user series limit of ${this.o.limits.maxSeriesPerUser} exceeded`, 'max-series-per-user', LIMIT_FLAGS.maxSeriesPerUser);
    }
    let text: string;
    let id: string;
    if (r.reason === 'out_of_order') {
      id = 'sample-out-of-order';
      text = 'the sample has been rejected because another sample with a more recent timestamp has already been ingested and out-of-order samples are not allowed';
    } else if (r.reason === 'duplicate_timestamp') {
      id = 'sample-duplicate-timestamp';
      text = 'the sample has been rejected because another sample with the same timestamp, but a different value, has already been ingested';
    } else {
      id = 'sample-timestamp-too-old';
      const window = this.o.limits.outOfOrderWindowMs;
      text = window > 0
        ? `the sample has been rejected because another sample with a more recent timestamp has already been ingested and this sample is beyond the out-of-order time window of ${formatDuration(window)}`
        : 'the sample has been rejected because its timestamp is too old';
    }
    const labels = labelSets[r.series] ?? [];
    return `${withId(text, id)}. The affected sample has timestamp ${formatTimestamp(r.timestampMs)} and is from series ${formatLabels(labels)}`;
  }

  /**
   * The tenant's cache of known label sets, for the decoder and push(); none while HA dedupe is
   * on. Emptied when the label limits change, bounded by twice the series limit.
   */
  seriesCache(tenant: string): SeriesCache | undefined {
    if (this.o.ha.enabled) return undefined;
    const l = this.o.limits;
    let cache = this.caches.get(tenant);
    if (cache === undefined) {
      cache = new SeriesCache(l.maxSeriesPerUser > 0 ? Math.max(1024, 2 * l.maxSeriesPerUser) : UNLIMITED_CACHE_ENTRIES);
      this.caches.set(tenant, cache);
    }
    cache.useLimits(`${l.maxLabelNamesPerSeries} ${l.maxLabelNamesPerInfoSeries} ${l.maxLengthLabelName} ${l.maxLengthLabelValue}`);
    return cache;
  }

  private discard(tenant: string, reason: string, n: number): void {
    if (n > 0) this.o.metrics.discardedSamples.inc({ reason, tenant }, n);
  }
}

/** Storage's rejection → Mimir's discard reason. */
const STORAGE_REASONS: Record<RejectedSample['reason'], string> = {
  out_of_order: 'sample_out_of_order',
  duplicate_timestamp: 'sample_duplicate_timestamp',
  too_old: 'sample_timestamp_too_old',
  max_series_per_user: 'per_user_series_limit',
};

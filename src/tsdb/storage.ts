// The seam between the TSDB's receiver (src/tsdb/distributor/) and its storage (head, WAL,
// blocks): what the receiver hands over, what storage answers, and the querier the PromQL
// engine reads through. Storage is per tenant; every method names the tenant.

/** A label set sorted by name, names unique, no empty values (the receiver normalises). */
export type Labels = ReadonlyArray<readonly [name: string, value: string]>;

/**
 * The float samples of one series in one request, in the order received. Timestamps in ms. The
 * samples are timestamps/values [from, to) (all of them without from/to), so the series of a
 * request can share two arrays.
 */
export interface SeriesSamples {
  labels: Labels;
  timestamps: readonly number[] | Float64Array;
  values: readonly number[] | Float64Array;
  from?: number;
  to?: number;
  /** Kept by the caller with this label set across requests, for storage's own use (below). */
  memo?: SeriesMemo;
}

/**
 * Where storage may remember what it found for one label set (the head: its series), so the
 * next request with the same label set skips the lookup. The caller keeps the memo with the
 * label set and never reads it; storage must check a memo is still valid (its own, and nothing
 * removed since) before trusting it.
 */
export interface SeriesMemo {
  owner: unknown;
  epoch: number;
  series: unknown;
}

/** Why storage refused a sample (Prometheus TSDB's errors; spec/tsdb.md §2.7). */
export type SampleRejection =
  /** Older than the series' newest sample, outside the out-of-order window. */
  | 'out_of_order'
  /** Same timestamp as the series' newest sample but a different value. */
  | 'duplicate_timestamp'
  /** Older than the head's max time − 1 h (or the OOO window), series new or not. */
  | 'too_old'
  /** A new series beyond the tenant's series limit. */
  | 'max_series_per_user';

export interface RejectedSample {
  /** Index into the request's series. */
  series: number;
  timestampMs: number;
  reason: SampleRejection;
}

export interface AppendOptions {
  /** Out-of-order window in ms (0: none, as Prometheus and Mimir by default). */
  outOfOrderWindowMs: number;
  /** Series the tenant may have in the head (0: unlimited). */
  maxSeriesPerUser: number;
}

export interface AppendOutcome {
  /** Samples stored (a same-value duplicate is accepted but not counted). */
  appended: number;
  rejected: RejectedSample[];
}

/** A label matcher as PromQL writes it; regexes are anchored (Prometheus semantics). */
export interface LabelMatcher {
  name: string;
  type: '=' | '!=' | '=~' | '!~';
  value: string;
}

/** One series and its samples within the selected range, timestamps ascending. */
export interface SelectedSeries {
  labels: Labels;
  timestamps: Float64Array;
  values: Float64Array;
}

export interface Querier {
  /** Series matching every matcher with their samples in [minT, maxT] (ms, inclusive), sorted by labels. */
  select(matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<SelectedSeries[]>;
  /** Label names of series matching the matchers (all series when none) in the range, sorted. */
  labelNames(matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<string[]>;
  /** Values of one label over matching series in the range, sorted. */
  labelValues(name: string, matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<string[]>;
}

export interface Storage {
  /**
   * Appends one request's samples for a tenant. Valid samples are stored even when others are
   * rejected. Resolves only when the stored samples are in the WAL (durable per the fsync policy).
   */
  append(tenant: string, series: readonly SeriesSamples[], options: AppendOptions): Promise<AppendOutcome>;
  /** Reads a tenant's data (head and blocks merged). */
  querier(tenant: string): Querier;
  close(): Promise<void>;
}

// The hook through which a level-0 → level-1 compaction shows every merged
// profile row to the metrics recorder (DESIGN.md §3). The merge calls it in
// merge order: tenants sorted, then datasets (service_name) sorted, then series
// in label order, then time. Exact duplicates are already dropped, so a
// profile stored twice (a retried segment upload) is seen once.
//
// Call sequence for one job (→ means "then"; [] means "may repeat"):
//
//   [ beginTenant → [ beginDataset → [ beginSeries → [ row ] ] ] ] → finish
//
// A `false` from a begin call skips everything inside it (the rows of that
// tenant, dataset or series are never shown), so an observer with no rule
// for a tenant or service costs nothing per row. The next begin call at the
// same or an outer level starts fresh: state kept per series or dataset must
// be reset there (Pyroscope's observer did not reset on a tenant switch and
// lost rows; see spec/pyroscope.md §1.3).
//
// Every call is synchronous and on the merge's hot path. Objects passed in
// (labels, row, symbols) are only valid during the call: copy what you keep.
//
// `finish` runs once, after every output block has been written to the
// bucket. Its bytes go into CompactionJobStatusUpdate.observer_result with the
// job's SUCCESS report. If the job fails or is aborted, `finish` is never
// called and whatever the observer collected must be discarded: the job runs
// again (here or on another worker) and is observed again from the start.

import type { Labels } from '../block/model.js';

/** Resolves stack traces of the dataset being merged through its output (deduplicated) symbols. */
export interface StackResolver {
  /**
   * Function names of output stack trace `id`, leaf first: every line of
   * every location, inlined functions before their caller.
   */
  functionNames(id: number): string[];
  /**
   * The same as indexes into the output dataset's string table. The table
   * only grows during a dataset and is deduplicated, so one string has one
   * index for the whole dataset: compare integers, and cache per stack
   * trace id (ids are also stable for the dataset).
   */
  functionNameIds(id: number): number[];
  /** The string at index `i` of the output dataset's string table. */
  string(i: number): string;
}

/** One merged profile row (one profile of one series). */
export interface ObservedRow {
  readonly tenant: string;
  /** The dataset name (service_name). */
  readonly dataset: string;
  /** The series labels, sorted by name (as given to beginSeries). */
  readonly labels: Labels;
  /** Profile time, ns since the epoch. */
  readonly timeNanos: bigint;
  /** Sum of `values`: the profile's total for its sample type. */
  readonly totalValue: number;
  /** Output stack trace ids, strictly ascending; resolve them with `symbols`. */
  readonly stacktraceIds: Uint32Array;
  /** Value per stack trace id (same length). */
  readonly values: Float64Array;
  readonly symbols: StackResolver;
}

export interface JobObserver {
  /** A new tenant starts. Return false to skip all its rows. */
  beginTenant(tenant: string): boolean;
  /** A new dataset (service_name) of the current tenant starts. Return false to skip its rows. */
  beginDataset(dataset: string): boolean;
  /** A new series of the current dataset starts (labels sorted by name). Return false to skip its rows. */
  beginSeries(labels: Labels): boolean;
  /** One merged row of the current series, in time order. */
  row(row: ObservedRow): void;
  /** The job's output is stored: return what the worker reports as observer_result (or nothing). */
  finish(): Uint8Array | undefined;
}

// The limits a query runs under, from -tsdb.querier.* (Mimir's -querier.* names and defaults),
// and the per-request checks Prometheus' API makes before and after running one.

import type { Config } from '../../config/config.js';
import type { QueryValue } from '../promql/engine.js';
import { ApiError, invalidParam } from './api-error.js';

export interface QueryLimits {
  /** Default and cap of a query's `timeout` parameter. */
  timeoutMs: number;
  /** Samples one query may hold in memory at once. */
  maxSamples: number;
  /** How far back an instant selector looks for a sample (the `lookback_delta` default). */
  lookbackDeltaMs: number;
  /** Step of subqueries written without one (`x[1h:]`). */
  defaultEvaluationIntervalMs: number;
}

export const DEFAULT_QUERY_LIMITS: Readonly<QueryLimits> = {
  timeoutMs: 120_000,
  maxSamples: 50_000_000,
  lookbackDeltaMs: 300_000,
  defaultEvaluationIntervalMs: 60_000,
};

export function queryLimitsFromConfig(tsdb: Config['tsdb']): QueryLimits {
  const q = tsdb.querier;
  return { timeoutMs: q.timeout, maxSamples: q.maxSamples, lookbackDeltaMs: q.lookbackDelta, defaultEvaluationIntervalMs: q.defaultEvaluationInterval };
}

/** Prometheus keeps a range query to this many points per series. */
export const MAX_POINTS_PER_SERIES = 11_000;

/** The timeout of one query: the `timeout` parameter (ms) capped by the configured one. */
export function effectiveTimeoutMs(requestedMs: number | undefined, limits: QueryLimits): number {
  return requestedMs === undefined ? limits.timeoutMs : Math.min(requestedMs, limits.timeoutMs);
}

/**
 * query_range's checks of start, end and step (ms; step may be fractional), in Prometheus' order
 * and words. Returns the step the engine evaluates with: whole ms, as Prometheus truncates it.
 */
export function checkRange(startMs: number, endMs: number, stepMs: number): number {
  if (endMs < startMs) throw invalidParam('end', 'end timestamp must not be before start time');
  if (!(stepMs > 0)) throw invalidParam('step', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
  // Prometheus divides the range by the step as integer nanoseconds.
  if (Math.floor(((endMs - startMs) * 1e6) / Math.round(stepMs * 1e6)) > MAX_POINTS_PER_SERIES) {
    throw new ApiError('bad_data', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
  }
  const wholeMs = Math.trunc(stepMs);
  // A step under 1 ms would be 0 ms to the engine: a grid that never advances. Prometheus
  // accepts it (and never finishes); Kiln answers as for a zero step.
  if (wholeMs === 0 && endMs > startMs) throw invalidParam('step', 'zero or negative query resolution step widths are not accepted. Try a positive integer');
  return Math.max(wholeMs, 1);
}

export const TRUNCATED_WARNING = 'results truncated due to limit';

/** The `limit` parameter of query and query_range: the first `limit` series of a vector or matrix. */
export function truncateResult(value: QueryValue, limit: number): { value: QueryValue; truncated: boolean } {
  if (limit <= 0) return { value, truncated: false };
  if ((value.resultType === 'vector' || value.resultType === 'matrix') && value.series.length > limit) {
    return { value: { ...value, series: value.series.slice(0, limit) } as QueryValue, truncated: true };
  }
  return { value, truncated: false };
}

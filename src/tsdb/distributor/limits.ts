// Per-tenant limits of the TSDB receiver, with Mimir's defaults (spec/tsdb.md §2.4). Every
// tenant gets the same values from the -tsdb.* flags; the type is per tenant so that overrides
// can be added later without touching the pipeline.

import type { Config } from '../../config/config.js';

export interface TenantLimits {
  maxLabelNamesPerSeries: number;
  maxLabelNamesPerInfoSeries: number;
  maxLengthLabelName: number;
  maxLengthLabelValue: number;
  createGracePeriodMs: number;
  /** 0: off. */
  pastGracePeriodMs: number;
  maxMetadataLength: number;
  /** Samples + metadata per second (0: off). */
  ingestionRate: number;
  ingestionBurstSize: number;
  /** 0: unlimited. */
  maxSeriesPerUser: number;
  outOfOrderWindowMs: number;
}

export interface HaTrackerLimits {
  enabled: boolean;
  clusterLabel: string;
  replicaLabel: string;
  failoverTimeoutMs: number;
  /** 0: unlimited. */
  maxClusters: number;
}

/** The flags behind each limit, named in error messages. */
export const LIMIT_FLAGS = {
  maxLabelNamesPerSeries: 'tsdb.validation.max-label-names-per-series',
  maxLabelNamesPerInfoSeries: 'tsdb.validation.max-label-names-per-info-series',
  maxLengthLabelName: 'tsdb.validation.max-length-label-name',
  maxLengthLabelValue: 'tsdb.validation.max-length-label-value',
  createGracePeriod: 'tsdb.validation.create-grace-period',
  pastGracePeriod: 'tsdb.validation.past-grace-period',
  maxMetadataLength: 'tsdb.validation.max-metadata-length',
  ingestionRate: 'tsdb.distributor.ingestion-rate-limit',
  ingestionBurstSize: 'tsdb.distributor.ingestion-burst-size',
  maxSeriesPerUser: 'tsdb.ingester.max-global-series-per-user',
  maxRecvMsgSize: 'tsdb.distributor.max-recv-msg-size',
  haMaxClusters: 'tsdb.distributor.ha-tracker.max-clusters',
} as const;

export function limitsFromConfig(tsdb: Config['tsdb']): TenantLimits {
  const v = tsdb.validation;
  return {
    maxLabelNamesPerSeries: v.maxLabelNamesPerSeries,
    maxLabelNamesPerInfoSeries: v.maxLabelNamesPerInfoSeries,
    maxLengthLabelName: v.maxLengthLabelName,
    maxLengthLabelValue: v.maxLengthLabelValue,
    createGracePeriodMs: v.createGracePeriod,
    pastGracePeriodMs: v.pastGracePeriod,
    maxMetadataLength: v.maxMetadataLength,
    ingestionRate: tsdb.distributor.ingestionRateLimit,
    ingestionBurstSize: tsdb.distributor.ingestionBurstSize,
    maxSeriesPerUser: tsdb.ingester.maxGlobalSeriesPerUser,
    outOfOrderWindowMs: tsdb.ingester.outOfOrderTimeWindow,
  };
}

export function haLimitsFromConfig(tsdb: Config['tsdb']): HaTrackerLimits {
  const h = tsdb.distributor.haTracker;
  return { enabled: h.enabled, clusterLabel: h.clusterLabel, replicaLabel: h.replicaLabel, failoverTimeoutMs: h.failoverTimeout, maxClusters: h.maxClusters };
}

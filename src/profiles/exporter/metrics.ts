// The exporter's self-metrics (docs/metrics-from-profiles.md "Metrics").
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Outbox } from './outbox.js';

const NAMES = [
  'kiln_metrics_exporter_series_sent_total',
  'kiln_metrics_exporter_samples_sent_total',
  'kiln_metrics_exporter_requests_total',
  'kiln_metrics_exporter_failed_attempts_total',
  'kiln_metrics_exporter_dropped_series_total',
  'kiln_metrics_exporter_outbox_entries',
  'kiln_metrics_exporter_outbox_oldest_entry_age_seconds',
  'kiln_metrics_exporter_export_lag_seconds',
];

export type DropReason = 'series_limit' | 'undecodable' | `http_${number}`;

export class ExporterMetrics {
  readonly seriesSent: Counter;
  readonly samplesSent: Counter;
  /** Every request, by HTTP status ("network" / "timeout" when there was none). */
  readonly requests: Counter<'code'>;
  readonly failedAttempts: Counter<'reason'>;
  readonly droppedSeries: Counter<'reason'>;
  /** Metastore commit → last part acknowledged, per (job, tenant). */
  readonly exportLag: Histogram;

  constructor(registry: Registry, outbox: () => Outbox | undefined, clock: () => number = Date.now) {
    const registers = [registry];
    // Reopened in the same process (tests): take the metrics over.
    for (const name of NAMES) registry.removeSingleMetric(name);
    this.seriesSent = new Counter({ name: 'kiln_metrics_exporter_series_sent_total', help: 'Recorded series acknowledged by the remote-write target.', registers });
    this.samplesSent = new Counter({ name: 'kiln_metrics_exporter_samples_sent_total', help: 'Recorded samples acknowledged by the remote-write target.', registers });
    this.requests = new Counter({
      name: 'kiln_metrics_exporter_requests_total',
      help: 'Remote-write requests by HTTP status code ("network" or "timeout" when no answer came).',
      labelNames: ['code'],
      registers,
    });
    this.failedAttempts = new Counter({
      name: 'kiln_metrics_exporter_failed_attempts_total',
      help: 'Remote-write attempts that will be retried, by reason (network, timeout, 5xx, 429).',
      labelNames: ['reason'],
      registers,
    });
    this.droppedSeries = new Counter({
      name: 'kiln_metrics_exporter_dropped_series_total',
      help: 'Recorded series never exported, by reason (http_<4xx status>, series_limit of a rule, undecodable result).',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: 'kiln_metrics_exporter_outbox_entries',
      help: 'Outbox entries waiting for export: (job, tenant) pairs.',
      registers,
      collect() {
        this.set(outbox()?.pendingTenants ?? 0);
      },
    });
    new Gauge({
      name: 'kiln_metrics_exporter_outbox_oldest_entry_age_seconds',
      help: 'Seconds since the metastore committed the oldest job still in the outbox (0 when empty).',
      registers,
      collect() {
        const oldest = outbox()?.oldestCommittedAt;
        this.set(oldest === undefined ? 0 : Math.max(0, clock() - oldest) / 1000);
      },
    });
    this.exportLag = new Histogram({
      name: 'kiln_metrics_exporter_export_lag_seconds',
      help: 'From the metastore commit of a job to the acknowledgement of its last request, per tenant.',
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
  }
}

// Prometheus metrics of the observer. Counters are added to once per job, in
// finish(), from plain numbers kept during the merge: nothing on the row path
// touches prom-client. A job whose result is not committed (lease lost after
// finish) and runs again is counted again.

import { Counter, Histogram, type Registry } from 'prom-client';

export class ObserverMetrics {
  /** Rows shown to a rule-matching series (rows of skipped tenants, datasets and series are not counted). */
  readonly rows: Counter<'tenant'>;
  readonly seriesRecorded: Counter<'tenant'>;
  /**
   * Series refused by -metrics-observer.max-series-per-rule. No rule_id label: rule ids are
   * chosen by tenants, so they would multiply this metric's cardinality; the rule ids are in the
   * warning logged once per job and rule, and in the job's ObserverResult.
   */
  readonly seriesDropped: Counter<'tenant'>;
  /**
   * Time spent in the observer's per-tenant, per-dataset and per-series hooks and in finish()
   * during one job: rule matching, series set-up, encoding. The per-row sums are not timed (a
   * timer call would cost as much as they do); the rows counter shows their volume.
   */
  readonly observeSeconds: Histogram;
  readonly rulesFetchSeconds: Histogram;

  constructor(registry: Registry) {
    this.rows = new Counter({ name: 'kiln_observer_rows_total', help: 'Merged profile rows that matched at least one recording rule, by tenant.', labelNames: ['tenant'], registers: [registry] });
    this.seriesRecorded = new Counter({ name: 'kiln_observer_series_recorded_total', help: 'Recorded series (one sample each) produced by compaction jobs, by tenant.', labelNames: ['tenant'], registers: [registry] });
    this.seriesDropped = new Counter({
      name: 'kiln_observer_series_dropped_total',
      help: 'Recorded series dropped by -metrics-observer.max-series-per-rule, by tenant (rule ids are logged).',
      labelNames: ['tenant'],
      registers: [registry],
    });
    this.observeSeconds = new Histogram({
      name: 'kiln_observer_job_observe_seconds',
      help: 'Time spent matching recording rules and building series during one level-0 compaction job (per-row sums not included).',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.rulesFetchSeconds = new Histogram({
      name: 'kiln_observer_rules_fetch_seconds',
      help: 'Time to get the recording rules of every tenant of a level-0 compaction job.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  }
}

// Self-metrics of the TSDB storage (db.ts). Gauges are computed at scrape time from the open
// tenants; counters count what happened in this process.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface StorageGaugeSource {
  blocks(): number;
  tenants(): number;
  headSeries(): number;
}

const NAMES = [
  'kiln_tsdb_blocks',
  'kiln_tsdb_tenants_open',
  'kiln_tsdb_head_series',
  'kiln_tsdb_head_samples_appended_total',
  'kiln_tsdb_compactions_total',
  'kiln_tsdb_compactions_failed_total',
  'kiln_tsdb_compaction_duration_seconds',
  'kiln_tsdb_retention_blocks_deleted_total',
  'kiln_tsdb_corrupt_blocks_total',
];

export class TsdbMetrics {
  readonly samplesAppended: Counter;
  /** kind: head (head → level-1 block) or blocks (blocks merged). */
  readonly compactions: Counter<'kind'>;
  readonly compactionsFailed: Counter<'kind'>;
  readonly compactionSeconds: Histogram<'kind'>;
  readonly retentionDeleted: Counter;
  readonly corruptBlocks: Counter;

  constructor(registry: Registry | undefined, source: StorageGaugeSource) {
    const registers = registry ? [registry] : [];
    // A storage reopened in the same process (tests, restarts) takes over its metrics.
    if (registry) for (const name of NAMES) registry.removeSingleMetric(name);
    new Gauge({
      name: 'kiln_tsdb_blocks',
      help: 'On-disk blocks of the open tenants.',
      registers,
      collect() {
        this.set(source.blocks());
      },
    });
    new Gauge({
      name: 'kiln_tsdb_tenants_open',
      help: 'Tenants whose DB (head and blocks) is open.',
      registers,
      collect() {
        this.set(source.tenants());
      },
    });
    new Gauge({
      name: 'kiln_tsdb_head_series',
      help: 'Series in the heads of the open tenants.',
      registers,
      collect() {
        this.set(source.headSeries());
      },
    });
    this.samplesAppended = new Counter({ name: 'kiln_tsdb_head_samples_appended_total', help: 'Samples stored in a head (in the WAL).', registers });
    this.compactions = new Counter({ name: 'kiln_tsdb_compactions_total', help: 'Blocks written by compaction: kind=head (head → block) or blocks (blocks merged).', labelNames: ['kind'], registers });
    this.compactionsFailed = new Counter({ name: 'kiln_tsdb_compactions_failed_total', help: 'Compactions that failed (retried on the next run).', labelNames: ['kind'], registers });
    this.compactionSeconds = new Histogram({
      name: 'kiln_tsdb_compaction_duration_seconds',
      help: 'Time to write one compacted block.',
      labelNames: ['kind'],
      buckets: [0.01, 0.05, 0.25, 1, 5, 30, 120],
      registers,
    });
    this.retentionDeleted = new Counter({ name: 'kiln_tsdb_retention_blocks_deleted_total', help: 'Blocks deleted because all their data was older than the retention period.', registers });
    this.corruptBlocks = new Counter({ name: 'kiln_tsdb_corrupt_blocks_total', help: 'Blocks found corrupt (at open, in a query or a compaction) and skipped from then on.', registers });
  }
}

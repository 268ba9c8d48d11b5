// The metastore's self-metrics. Gauges are read from the state at scrape time; counters and
// the histogram are fed by live changes only (never by replay on start).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { MetastoreState } from './state.js';

const METRIC_NAMES = [
  'kiln_metastore_blocks',
  'kiln_metastore_compaction_jobs',
  'kiln_metastore_compaction_jobs_parked',
  'kiln_metastore_compaction_queue_blocks',
  'kiln_metastore_tombstones',
  'kiln_metastore_compaction_jobs_committed_total',
  'kiln_metastore_blocks_deleted_total',
  'kiln_metastore_retention_blocks_removed_total',
  'kiln_metastore_segment_to_l1_seconds',
];

export class MetastoreMetrics {
  readonly jobsCommitted: Counter<'level'>;
  readonly blocksDeleted: Counter;
  readonly blocksRetained: Counter;
  /** Segment ULID time → commit time of the L1 block that holds it. */
  readonly segmentToL1Seconds: Histogram;

  constructor(registry: Registry, state: () => MetastoreState) {
    const registers = [registry];
    // A metastore reopened in the same process (tests, restarts) takes over its metrics.
    for (const name of METRIC_NAMES) registry.removeSingleMetric(name);
    new Gauge({
      name: 'kiln_metastore_blocks',
      help: 'Blocks in the metastore index.',
      registers,
      collect() {
        this.set(state().index.size);
      },
    });
    new Gauge({
      name: 'kiln_metastore_compaction_jobs',
      help: 'Compaction jobs by status (unassigned, in_progress, parked) and source level.',
      labelNames: ['status', 'level'],
      registers,
      collect() {
        this.reset();
        for (const j of state().jobs.values()) {
          const status = j.parked ? 'parked' : j.assigned ? 'in_progress' : 'unassigned';
          this.inc({ status, level: String(j.level) });
        }
      },
    });
    new Gauge({
      name: 'kiln_metastore_compaction_jobs_parked',
      help: 'Jobs whose lease expired max-failures times; they are never assigned again.',
      registers,
      collect() {
        let n = 0;
        for (const j of state().jobs.values()) if (j.parked) n++;
        this.set(n);
      },
    });
    new Gauge({
      name: 'kiln_metastore_compaction_queue_blocks',
      help: 'Blocks waiting in planner queues, by level.',
      labelNames: ['level'],
      registers,
      collect() {
        this.reset();
        for (const q of state().queues.values()) this.inc({ level: String(q.level) }, q.blocks.length);
      },
    });
    new Gauge({
      name: 'kiln_metastore_tombstones',
      help: 'Blocks removed from the index whose objects are not deleted yet.',
      registers,
      collect() {
        this.set(state().tombstones.size);
      },
    });
    this.jobsCommitted = new Counter({
      name: 'kiln_metastore_compaction_jobs_committed_total',
      help: 'Compaction jobs whose result was committed, by source level.',
      labelNames: ['level'],
      registers,
    });
    this.blocksDeleted = new Counter({
      name: 'kiln_metastore_blocks_deleted_total',
      help: 'Objects of tombstoned blocks deleted from the bucket.',
      registers,
    });
    this.blocksRetained = new Counter({
      name: 'kiln_metastore_retention_blocks_removed_total',
      help: 'Blocks removed from the index by retention.',
      registers,
    });
    this.segmentToL1Seconds = new Histogram({
      name: 'kiln_metastore_segment_to_l1_seconds',
      help: 'Time from a segment being cut (its ULID time) to the commit of the L1 block holding it.',
      buckets: [5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800],
      registers,
    });
  }
}

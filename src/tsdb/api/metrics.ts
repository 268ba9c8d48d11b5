// Counters of the Prometheus HTTP API, for the operations dashboard (docs/grafana/).

import { Counter, Histogram, type Registry } from 'prom-client';

export class QueryApiMetrics {
  readonly requests: Counter<'endpoint' | 'status_code'>;
  readonly duration: Histogram<'endpoint'>;

  constructor(registry: Registry | undefined) {
    const registers = registry ? [registry] : [];
    this.requests = new Counter({
      name: 'kiln_tsdb_query_requests_total',
      help: 'Requests to the Prometheus HTTP API (/prometheus/api/v1/*), by endpoint (query, query_range, series, labels, label_values, …; other for unknown paths) and HTTP status code.',
      labelNames: ['endpoint', 'status_code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'kiln_tsdb_query_duration_seconds',
      help: 'Time to answer a Prometheus HTTP API request, by endpoint.',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
  }
}

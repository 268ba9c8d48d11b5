// Self-metrics of the TSDB receiver (Mimir's cortex_distributor_* / cortex_discarded_* → kiln_tsdb_*).

import { Counter, type Registry } from 'prom-client';

export class DistributorMetrics {
  readonly requests: Counter<'version' | 'status_code'>;
  readonly receivedBytes: Counter<'kind'>;
  readonly receivedSamples: Counter<'tenant'>;
  readonly receivedSeries: Counter<'tenant'>;
  readonly receivedExemplars: Counter<'tenant'>;
  readonly receivedMetadata: Counter<'tenant'>;
  readonly receivedHistograms: Counter<'tenant'>;
  readonly discardedSamples: Counter<'reason' | 'tenant'>;
  readonly discardedExemplars: Counter<'reason' | 'tenant'>;
  readonly discardedMetadata: Counter<'reason' | 'tenant'>;
  readonly haRejectedRequests: Counter<'tenant'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({ name: 'kiln_tsdb_distributor_requests_total', help: 'Remote-write requests by protocol version (1.0, 2.0, unknown) and HTTP status code.', labelNames: ['version', 'status_code'], registers });
    this.receivedBytes = new Counter({ name: 'kiln_tsdb_distributor_received_bytes_total', help: 'Remote-write body bytes, as received (compressed) and after snappy decompression (decompressed).', labelNames: ['kind'], registers });
    this.receivedSamples = new Counter({ name: 'kiln_tsdb_distributor_received_samples_total', help: 'Float samples received, before validation.', labelNames: ['tenant'], registers });
    this.receivedSeries = new Counter({ name: 'kiln_tsdb_distributor_received_series_total', help: 'Series (TimeSeries messages) received, before validation.', labelNames: ['tenant'], registers });
    this.receivedExemplars = new Counter({ name: 'kiln_tsdb_distributor_received_exemplars_total', help: 'Exemplars received (all dropped: exemplar storage is off, as Mimir by default).', labelNames: ['tenant'], registers });
    this.receivedMetadata = new Counter({ name: 'kiln_tsdb_distributor_received_metadata_total', help: 'Metric metadata entries received.', labelNames: ['tenant'], registers });
    this.receivedHistograms = new Counter({ name: 'kiln_tsdb_distributor_received_histograms_total', help: 'Native histogram samples received (rejected: not stored yet).', labelNames: ['tenant'], registers });
    this.discardedSamples = new Counter({ name: 'kiln_tsdb_discarded_samples_total', help: 'Samples not stored, by reason (Mimir\'s cortex_discarded_samples_total).', labelNames: ['reason', 'tenant'], registers });
    this.discardedExemplars = new Counter({ name: 'kiln_tsdb_discarded_exemplars_total', help: 'Exemplars not stored, by reason.', labelNames: ['reason', 'tenant'], registers });
    this.discardedMetadata = new Counter({ name: 'kiln_tsdb_discarded_metadata_total', help: 'Metadata entries not kept, by reason.', labelNames: ['reason', 'tenant'], registers });
    this.haRejectedRequests = new Counter({ name: 'kiln_tsdb_distributor_ha_rejected_requests_total', help: 'Requests from a non-elected HA replica (answered 202, nothing stored).', labelNames: ['tenant'], registers });
  }
}

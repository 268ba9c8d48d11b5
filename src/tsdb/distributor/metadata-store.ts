// Metric metadata (type, help, unit per metric family) received with remote writes, kept per
// tenant in memory for the query API's /api/v1/metadata. Prometheus re-sends all of it every
// minute, so losing it on restart costs at most that minute. Bounded per tenant: past the cap,
// new families are ignored (known ones still update).

import type { MetricMetadata } from './decoded-request.js';

export type StoredMetadata = Omit<MetricMetadata, 'metricFamilyName'>;

export class MetadataStore {
  private readonly tenants = new Map<string, Map<string, StoredMetadata>>();

  constructor(private readonly maxFamiliesPerTenant = 100_000) {}

  add(tenant: string, entries: readonly MetricMetadata[]): void {
    if (entries.length === 0) return;
    let families = this.tenants.get(tenant);
    if (!families) {
      families = new Map();
      this.tenants.set(tenant, families);
    }
    for (const { metricFamilyName, type, help, unit } of entries) {
      if (!families.has(metricFamilyName) && families.size >= this.maxFamiliesPerTenant) continue;
      families.set(metricFamilyName, { type, help, unit });
    }
  }

  /** A tenant's metadata: one family, or all of them (sorted by name). */
  get(tenant: string, metric?: string): Map<string, StoredMetadata> {
    const families = this.tenants.get(tenant);
    if (!families) return new Map();
    if (metric !== undefined) {
      const md = families.get(metric);
      return md ? new Map([[metric, md]]) : new Map();
    }
    return new Map([...families].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

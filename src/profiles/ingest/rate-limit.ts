// Per-tenant token bucket over decompressed profile bytes (Pyroscope's
// ingestion_rate_mb / ingestion_burst_size_mb).

export class TenantRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes n tokens; returns 0 when allowed, else the seconds to wait before the
   * request could pass (Infinity when n exceeds the burst: it can never pass).
   */
  take(tenant: string, n: number): number {
    if (this.ratePerSec <= 0) return 0;
    const now = this.now();
    let b = this.buckets.get(tenant);
    if (!b) {
      b = { tokens: this.burst, at: now };
      this.buckets.set(tenant, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSec);
    b.at = now;
    if (n <= b.tokens) {
      b.tokens -= n;
      return 0;
    }
    if (n > this.burst) return Infinity;
    return (n - b.tokens) / this.ratePerSec;
  }
}

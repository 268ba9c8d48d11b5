import { describe, expect, it } from 'vitest';
import { TenantRateLimiter } from '../../../../src/profiles/ingest/rate-limit.js';

/** A limiter of 100 tokens/s, burst 200, on a clock the test moves. */
function limiter(rate = 100, burst = 200) {
  const clock = { now: 1_000_000 };
  return { l: new TenantRateLimiter(rate, burst, () => clock.now), clock };
}

describe('TenantRateLimiter', () => {
  it('a new tenant starts with a full burst', () => {
    const { l } = limiter();
    expect(l.take('a', 200)).toBe(0);
    expect(l.take('a', 1)).toBeCloseTo(0.01, 10);
  });

  it('answers how long to wait, in seconds', () => {
    const { l } = limiter();
    expect(l.take('a', 150)).toBe(0);
    // 50 left; 100 more need 50 tokens = 0.5 s at 100/s.
    expect(l.take('a', 100)).toBeCloseTo(0.5, 10);
  });

  it('a refused request takes nothing', () => {
    const { l } = limiter();
    expect(l.take('a', 150)).toBe(0);
    expect(l.take('a', 100)).toBeGreaterThan(0);
    expect(l.take('a', 50)).toBe(0);
    expect(l.take('a', 1)).toBeGreaterThan(0);
  });

  it('refills with time at the rate', () => {
    const { l, clock } = limiter();
    expect(l.take('a', 200)).toBe(0);
    clock.now += 500; // +50 tokens
    expect(l.take('a', 60)).toBeCloseTo(0.1, 10);
    expect(l.take('a', 50)).toBe(0);
    expect(l.take('a', 1)).toBeGreaterThan(0);
  });

  it('waiting the answered time is enough', () => {
    const { l, clock } = limiter();
    expect(l.take('a', 200)).toBe(0);
    const wait = l.take('a', 120);
    expect(wait).toBeCloseTo(1.2, 10);
    clock.now += 1200;
    expect(l.take('a', 120)).toBe(0);
  });

  it('never refills beyond the burst', () => {
    const { l, clock } = limiter();
    expect(l.take('a', 10)).toBe(0);
    clock.now += 3_600_000;
    expect(l.take('a', 200)).toBe(0);
    expect(l.take('a', 1)).toBeGreaterThan(0);
  });

  it('a request larger than the burst can never pass, and takes nothing', () => {
    const { l, clock } = limiter();
    expect(l.take('a', 201)).toBe(Infinity);
    clock.now += 3_600_000;
    expect(l.take('a', 201)).toBe(Infinity);
    expect(l.take('a', 200)).toBe(0);
  });

  it('tenants have their own buckets', () => {
    const { l } = limiter();
    expect(l.take('a', 200)).toBe(0);
    expect(l.take('a', 100)).toBeGreaterThan(0);
    expect(l.take('b', 200)).toBe(0);
  });

  it('a rate of 0 is off', () => {
    const { l } = limiter(0, 0);
    expect(l.take('a', 1e12)).toBe(0);
    expect(l.take('a', 1e12)).toBe(0);
  });

  it('a clock that goes backwards does not mint tokens', () => {
    const { l, clock } = limiter();
    expect(l.take('a', 200)).toBe(0);
    clock.now -= 10_000;
    expect(l.take('a', 1)).toBeGreaterThan(0);
  });
});

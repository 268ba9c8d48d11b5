// The Distributor with a recording fake segment writer: what it forwards, and
// that a rejected request forwards nothing.

import { gzipSync } from 'node:zlib';
import { Code, ConnectError } from '@connectrpc/connect';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Distributor, type DistributorOptions, profileIdBytes } from '../../../../src/profiles/ingest/distributor.js';
import { IngestError } from '../../../../src/profiles/ingest/errors.js';
import type { ProfileInput } from '../../../../src/profiles/segment/writer.js';

const OPTS: DistributorOptions = {
  labelLimits: { maxLabelNamesPerSeries: 30, maxLengthLabelName: 1024, maxLengthLabelValue: 2048 },
  numShards: 4,
  ingestionRateLimitMb: 0,
  ingestionBurstSizeMb: 0,
  maxInflightBytes: 0,
  maxProfileSizeBytes: 1000,
};

function setup(opts: Partial<DistributorOptions> = {}, fail?: () => Error, result = { status: 0, message: '', reason: '' }) {
  /** The profiles of each request the writer got. */
  const pushed: ProfileInput[][] = [];
  const writer = {
    async push(profiles: ProfileInput[]) {
      if (fail) throw fail();
      pushed.push(profiles);
      return result;
    },
  };
  const d = new Distributor({ ...OPTS, ...opts }, writer, pino({ level: 'silent' }), new Registry());
  return { d, pushed };
}

async function rejected(p: Promise<unknown>): Promise<IngestError & { retryAfterSeconds?: number }> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(IngestError);
  return caught as IngestError;
}

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

describe('Distributor.push', () => {
  it('forwards every profile with normalised labels, tenant, 1-based shard and default time', async () => {
    const { d, pushed } = setup();
    await d.push(
      'team-a',
      [
        { labels: [['service.name', 'ignored'], ['service_name', '']], profiles: [{ bytes: bytes(10) }] },
        { labels: [['zone', 'z1'], ['service_name', 'checkout']], profiles: [{ bytes: bytes(20), id: '0123456789abcdef0123456789abcdef' }, { bytes: bytes(30) }] },
      ],
      1_700_000_000_000_000_000n,
    );
    expect(pushed).toHaveLength(1);
    const ps = pushed[0]!;
    expect(ps).toHaveLength(3);
    expect(ps.map((p) => p.tenant)).toEqual(['team-a', 'team-a', 'team-a']);
    expect(ps[0]!.labels).toEqual([['service_name', 'ignored']]);
    expect(ps[1]!.labels).toEqual([['service_name', 'checkout'], ['zone', 'z1']]);
    expect(ps.map((p) => p.profile.length)).toEqual([10, 20, 30]);
    expect(Buffer.from(ps[1]!.profileId).toString('hex')).toBe('0123456789abcdef0123456789abcdef');
    expect(ps[2]!.profileId).toHaveLength(16);
    for (const p of ps) {
      expect(p.shard).toBeGreaterThanOrEqual(1);
      expect(p.shard).toBeLessThanOrEqual(4);
      expect(p.defaultTimeNanos).toBe(1_700_000_000_000_000_000n);
    }
    expect(ps[1]!.shard).toBe(ps[2]!.shard);
  });

  it('forwards gzipped profiles as sent (a segment build worker gunzips them), counting the size their trailer declares', async () => {
    const registry = new Registry();
    const pushed: ProfileInput[][] = [];
    const d = new Distributor(OPTS, { push: async (p) => (pushed.push(p), { status: 0, message: '', reason: '' }) }, pino({ level: 'silent' }), registry);
    const gz = gzipSync(bytes(500, 1));
    await d.push('t', [{ labels: [['service_name', 's']], profiles: [{ bytes: gz }] }], 0n);
    expect(pushed[0]![0]!.profile).toBe(gz);
    const counted = (await registry.getSingleMetric('kiln_distributor_received_decompressed_bytes_total')!.get()).values;
    expect(counted).toEqual([expect.objectContaining({ labels: { tenant: 't' }, value: 500 })]);
  });

  it('a gzip whose trailer declares more than the size limit (a bomb): 413 at once, naming the limit, nothing forwarded', async () => {
    const { d, pushed } = setup();
    const bomb = gzipSync(new Uint8Array(10 * 1024 * 1024));
    const e = await rejected(d.push('t', [{ labels: [['service_name', 'ok']], profiles: [{ bytes: bytes(10) }, { bytes: bomb }] }], 0n));
    expect(e.status).toBe(413);
    expect(e.message).toBe("the profile with labels '{service_name=\"ok\"}' exceeds the size limit (max_profile_size_byte, limit: 1000) after decompression (err-kiln-profile-size-limit). To adjust the related limit, configure -validation.max-profile-size-bytes, or contact your service administrator.");
    expect(pushed).toHaveLength(0);
  });

  it('a request with no profiles is 400', async () => {
    const { d, pushed } = setup();
    const e = await rejected(d.push('t', [{ labels: [['service_name', 's']], profiles: [] }], 0n));
    expect(e.status).toBe(400);
    expect(e.message).toBe('no profiles in request');
    expect(pushed).toHaveLength(0);
  });

  it('a bad label set in the 2nd series rejects the whole request', async () => {
    const { d, pushed } = setup();
    const e = await rejected(
      d.push('t', [
        { labels: [['service_name', 'ok']], profiles: [{ bytes: bytes(10) }] },
        { labels: [['service_name', 'x'], ['bad-name', 'v']], profiles: [{ bytes: bytes(10) }] },
      ], 0n),
    );
    expect(e.status).toBe(400);
    expect(e.message).toContain("invalid label name 'bad-name'");
    expect(pushed).toHaveLength(0);
  });

  it('an uncompressed profile over the size limit, even the 2nd of a request: 413 naming the limit, nothing forwarded', async () => {
    const { d, pushed } = setup();
    const e = await rejected(d.push('t', [{ labels: [['service_name', 'ok']], profiles: [{ bytes: bytes(10) }, { bytes: bytes(1001) }] }], 0n));
    expect(e.status).toBe(413);
    expect(e.message).toBe("the profile with labels '{service_name=\"ok\"}' exceeds the size limit (max_profile_size_byte, limit: 1000) (err-kiln-profile-size-limit). To adjust the related limit, configure -validation.max-profile-size-bytes, or contact your service administrator.");
    expect(pushed).toHaveLength(0);
    await d.push('t', [{ labels: [], profiles: [{ bytes: bytes(1000) }] }], 0n);
    expect(pushed).toHaveLength(1);
  });

  it('corrupt gzip (its trailer is garbage too) is 400 "malformed profile", not a size error', async () => {
    const { d, pushed } = setup();
    const broken = Uint8Array.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    const e = await rejected(d.push('t', [{ labels: [], profiles: [{ bytes: broken }] }], 0n));
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/^malformed profile: invalid gzip data: /);
    expect(pushed).toHaveLength(0);
  });

  it('in-flight bytes: a push that would pass the limit is 429 while others are stored; the gauges show what is in flight', async () => {
    const registry = new Registry();
    const held: (() => void)[] = [];
    const writer = { push: () => new Promise<{ status: number; message: string; reason: string }>((resolve) => held.push(() => resolve({ status: 0, message: '', reason: '' }))) };
    const d = new Distributor({ ...OPTS, maxInflightBytes: 100 }, writer, pino({ level: 'silent' }), registry);
    const gauge = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]!.value;
    const first = d.push('t', [{ labels: [], profiles: [{ bytes: bytes(60) }] }], 0n);
    await new Promise((r) => setImmediate(r));
    expect(await gauge('kiln_distributor_inflight_push_requests')).toBe(1);
    expect(await gauge('kiln_distributor_inflight_push_requests_bytes')).toBe(60);
    const e = await rejected(d.push('t', [{ labels: [], profiles: [{ bytes: bytes(60) }] }], 0n));
    expect(e.status).toBe(429);
    expect(e.retryAfterSeconds).toBe(1);
    expect(e.message).toBe('too many in-flight push bytes in this distributor (limit 100) (err-kiln-distributor-max-inflight-push-requests-bytes)');
    expect(held).toHaveLength(1);
    held[0]!();
    await first;
    expect(await gauge('kiln_distributor_inflight_push_requests')).toBe(0);
    expect(await gauge('kiln_distributor_inflight_push_requests_bytes')).toBe(0);
    // Room again; and one push larger than the limit alone is admitted rather than never.
    const big = d.push('t', [{ labels: [], profiles: [{ bytes: bytes(150) }] }], 0n);
    await new Promise((r) => setImmediate(r));
    expect(held).toHaveLength(2);
    held[1]!();
    await big;
  });

  it('a push the writer rejects or fails leaves the in-flight totals, and is counted as discarded by its reason', async () => {
    const registry = new Registry();
    const answers = [
      () => Promise.resolve({ status: 400, message: 'bad profile', reason: 'malformed_profile' }),
      () => Promise.reject(new ConnectError('flush failed', Code.Unavailable)),
    ];
    const d = new Distributor({ ...OPTS, maxInflightBytes: 100 }, { push: () => answers.shift()!() }, pino({ level: 'silent' }), registry);
    const value = async (name: string, labels: Record<string, string> = {}) =>
      (await registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
    expect((await rejected(d.push('t', [{ labels: [], profiles: [{ bytes: bytes(60) }] }], 0n))).status).toBe(400);
    expect((await rejected(d.push('t', [{ labels: [], profiles: [{ bytes: bytes(70) }] }], 0n))).status).toBe(503);
    expect(await value('kiln_distributor_inflight_push_requests')).toBe(0);
    expect(await value('kiln_distributor_inflight_push_requests_bytes')).toBe(0);
    expect(await value('kiln_discarded_profiles_total', { reason: 'malformed_profile', tenant: 't' })).toBe(1);
    expect(await value('kiln_discarded_profiles_total', { reason: 'unavailable', tenant: 't' })).toBe(1);
    expect(await value('kiln_distributor_received_profiles_total')).toBeUndefined();
  });

  it('ingestion rate: 429 with Retry-After and the Mimir-style id, per tenant', async () => {
    const MiB = 1024 * 1024;
    // 0.001 MiB/s ≈ 1048 B/s, burst 0.002 MiB ≈ 2097 B.
    const { d, pushed } = setup({ ingestionRateLimitMb: 0.001, ingestionBurstSizeMb: 0.002, maxProfileSizeBytes: MiB });
    await d.push('a', [{ labels: [], profiles: [{ bytes: bytes(1500) }] }], 0n);
    const e = await rejected(d.push('a', [{ labels: [], profiles: [{ bytes: bytes(1500) }] }], 0n));
    expect(e.status).toBe(429);
    expect(e.message).toContain('err-kiln-tenant-max-ingestion-rate');
    expect(e.message).toContain('-distributor.ingestion-rate-limit-mb');
    // 1500 - ~597 left = ~903 B at ~1048 B/s → 1 s.
    expect(e.retryAfterSeconds).toBe(1);
    // Another tenant has its own budget.
    await d.push('b', [{ labels: [], profiles: [{ bytes: bytes(1500) }] }], 0n);
    expect(pushed.map((p) => p[0]!.tenant)).toEqual(['a', 'b']);
  });

  it('after stopAccepting, pushes get 503', async () => {
    const { d, pushed } = setup();
    d.stopAccepting();
    const e = await rejected(d.push('t', [{ labels: [], profiles: [{ bytes: bytes(10) }] }], 0n));
    expect(e.status).toBe(503);
    expect(pushed).toHaveLength(0);
  });

  it("answers a segment-writer rejection with the request result's status, message and reason", async () => {
    const { d } = setup({}, undefined, { status: 413, message: 'too big', reason: 'profile_size_limit' });
    const e = await rejected(d.push('t', [{ labels: [], profiles: [{ bytes: bytes(10) }] }], 0n));
    expect(e.status).toBe(413);
    expect(e.message).toBe('too big');
    expect(e.reason).toBe('profile_size_limit');
  });

  it('maps writer unavailability to 503 and unknown failures to 500', async () => {
    const a = setup({}, () => new ConnectError('flush failed', Code.Unavailable));
    expect((await rejected(a.d.push('t', [{ labels: [], profiles: [{ bytes: bytes(10) }] }], 0n))).status).toBe(503);
    const b = setup({}, () => new Error('boom'));
    expect((await rejected(b.d.push('t', [{ labels: [], profiles: [{ bytes: bytes(10) }] }], 0n))).status).toBe(500);
  });
});

describe('Distributor: remembered label sets', () => {
  const push = (d: Distributor, tenant: string, labels: [string, string][]) => d.push(tenant, [{ labels, profiles: [{ bytes: bytes(10) }] }], 0n);

  it('a repeated label set gets the same labels and shard as the first time', async () => {
    const { d, pushed } = setup({ numShards: 64 });
    const labels: [string, string][] = [['zone.name', 'z1'], ['service_name', 'api'], ['empty', '']];
    await push(d, 't', labels);
    await push(d, 't', labels);
    expect(pushed[1]![0]!.labels).toEqual([['service_name', 'api'], ['zone_name', 'z1']]);
    expect(pushed[1]![0]!.labels).toEqual(pushed[0]![0]!.labels);
    expect(pushed[1]![0]!.shard).toBe(pushed[0]![0]!.shard);
  });

  it('label sets that join to the same text stay apart', async () => {
    const { d, pushed } = setup();
    await push(d, 't', [['service_name', 'a'], ['x', '1:y3:2']]);
    await push(d, 't', [['service_name', 'a'], ['x', '1'], ['y', '2']]);
    expect(pushed.map((p) => p[0]!.labels)).toEqual([
      [['service_name', 'a'], ['x', '1:y3:2']],
      [['service_name', 'a'], ['x', '1'], ['y', '2']],
    ]);
  });

  it('the shard is per tenant: the same labels of another tenant are hashed with that tenant', async () => {
    const { d, pushed } = setup({ numShards: 1024 });
    const tenants = ['t1', 't2', 't3', 't4', 't5', 't6'];
    for (const t of tenants) await push(d, t, [['service_name', 'api']]);
    for (const t of tenants) await push(d, t, [['service_name', 'api']]);
    const shards = pushed.map((p) => p[0]!.shard);
    expect(shards.slice(6)).toEqual(shards.slice(0, 6));
    // 6 tenants over 1024 shards: the same shard for all would mean the tenant was ignored.
    expect(new Set(shards).size).toBeGreaterThan(1);
  });

  it('an invalid label set is rejected every time, never remembered', async () => {
    const { d, pushed } = setup();
    for (let i = 0; i < 3; i++) {
      const e = await rejected(push(d, 't', [['service_name', 'x'], ['bad-name', 'v']]));
      expect(e.message).toContain("invalid label name 'bad-name'");
    }
    expect(pushed).toHaveLength(0);
  });
});

describe('profileIdBytes', () => {
  it('parses a UUID with or without dashes', () => {
    expect(Buffer.from(profileIdBytes('01234567-89ab-cdef-0123-456789ABCDEF')).toString('hex')).toBe('0123456789abcdef0123456789abcdef');
  });

  it('anything else gets a random 16-byte id', () => {
    const a = profileIdBytes('not-a-uuid');
    const b = profileIdBytes(undefined);
    expect(a).toHaveLength(16);
    expect(b).toHaveLength(16);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
});

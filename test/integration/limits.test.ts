// Per-tenant limits, tenancy and sharding against real kiln processes
// started with small limits through their flags.

import { readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Profile, StringTable } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KilnProcess, startKiln } from '../helpers/kiln-process.js';
import { dataDirOf, readStoredProfiles } from '../helpers/stored-profiles.js';

const NS_PER_MS = 1_000_000n;
const MINUTE_NS = 60_000n * NS_PER_MS;
const nowNs = () => BigInt(Date.now()) * NS_PER_MS;

/** A small valid CPU profile (`samples` samples, each one distinct stack) at time `timeNanos` (0 = none). */
function smallProfile(timeNanos: bigint, samples = 3): Uint8Array {
  const st = new StringTable();
  const s = (x: string) => st.dedup(x);
  const fns = Array.from({ length: samples + 1 }, (_, i) => ({ id: i + 1, name: s(`fn${i}`) }));
  return new Profile({
    sampleType: [{ type: s('samples'), unit: s('count') }],
    periodType: { type: s('cpu'), unit: s('nanoseconds') },
    period: 10_000_000,
    timeNanos,
    function: fns,
    location: fns.map((f) => ({ id: f.id, line: [{ functionId: f.id }] })),
    sample: Array.from({ length: samples }, (_, i) => ({ locationId: [i + 2, 1], value: [i + 1] })),
    stringTable: st,
  }).encode();
}

/** The real Go CPU profile (177 samples, 12343 bytes raw) with its time set to now. */
function goCpuNow(): Uint8Array {
  const p = Profile.decode(gunzipSync(readFileSync(new URL('../../testdata/profiles/go-cpu.pb.gz', import.meta.url))));
  p.timeNanos = nowNs();
  return p.encode();
}

interface Answer {
  status: number;
  text: string;
  retryAfter: string | null;
}

async function ingest(k: KilnProcess, name: string, body: Uint8Array, headers: Record<string, string> = {}, query = ''): Promise<Answer> {
  const res = await fetch(`${k.url}/ingest?name=${encodeURIComponent(name)}&format=pprof${query}`, { method: 'POST', body, headers });
  return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
}

async function connectPush(k: KilnProcess, service: string, raw: Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(`${k.url}/push.v1.PusherService/Push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      series: [{ labels: [{ name: 'service_name', value: service }], samples: [{ rawProfile: Buffer.from(raw).toString('base64') }] }],
    }),
  });
  return { status: res.status, json: (await res.json()) as { code?: string; message?: string } };
}

const started: KilnProcess[] = [];
async function start(flags: string[]): Promise<KilnProcess> {
  const k = await startKiln(flags);
  started.push(k);
  return k;
}
afterAll(async () => {
  for (const k of started) {
    await k.kill();
    rmSync(k.dir, { recursive: true, force: true });
  }
});

/** Distinct stored profiles (by profile id) per tenant and service. */
async function storedByTenant(k: KilnProcess): Promise<Map<string, Map<string, Set<string>>>> {
  const { profiles } = await readStoredProfiles(dataDirOf(k.dir));
  const out = new Map<string, Map<string, Set<string>>>();
  for (const p of profiles) {
    let byService = out.get(p.tenant);
    if (!byService) out.set(p.tenant, (byService = new Map()));
    const svc = p.labels.service_name!;
    if (!byService.has(svc)) byService.set(svc, new Set());
    byService.get(svc)!.add(p.profileId);
  }
  return out;
}

describe('multitenancy (-auth.multitenancy-enabled)', () => {
  let k: KilnProcess;
  beforeAll(async () => {
    k = await start(['-auth.multitenancy-enabled']);
  });

  it('no X-Scope-OrgID → 401 "no org id" on /ingest and on push.v1', async () => {
    const r = await ingest(k, 'mt.no-header', smallProfile(nowNs()));
    expect(r.status).toBe(401);
    expect(r.text.trim()).toBe('no org id');
    const c = await connectPush(k, 'mt.no-header-connect', smallProfile(nowNs()));
    expect(c.status).toBe(401);
    expect(c.json).toEqual({ code: 'unauthenticated', message: 'no org id' });
  });

  it.each([
    ['bad/tenant', "tenant ID 'bad/tenant' contains unsupported character '/'"],
    ['..', "tenant ID is '.' or '..'"],
    ['t'.repeat(151), 'tenant ID is too long: max 150 characters'],
    ['team-a|team-b', 'multiple org IDs present'],
  ])('X-Scope-OrgID %j → 400 %s', async (tenant, message) => {
    const r = await ingest(k, 'mt.bad-tenant', smallProfile(nowNs()), { 'X-Scope-OrgID': tenant });
    expect(r.status).toBe(400);
    expect(r.text).toContain(message);
  });

  it('a bad tenant over push.v1 is invalid_argument', async () => {
    const c = await connectPush(k, 'mt.bad-tenant-connect', smallProfile(nowNs()), { 'X-Scope-OrgID': 'a b' });
    expect(c.status).toBe(400);
    expect(c.json.code).toBe('invalid_argument');
    expect(c.json.message).toContain('unsupported character');
  });

  it("two tenants' pushes are stored under their own tenant", async () => {
    const answers = await Promise.all([
      ingest(k, 'only-a', smallProfile(nowNs()), { 'X-Scope-OrgID': 'team-a' }),
      ingest(k, 'shared', smallProfile(nowNs()), { 'X-Scope-OrgID': 'team-a' }),
      ingest(k, 'shared', smallProfile(nowNs()), { 'X-Scope-OrgID': 'team-b' }),
      connectPush(k, 'only-b', smallProfile(nowNs()), { 'X-Scope-OrgID': 'team-b' }),
      ingest(k, 'long', smallProfile(nowNs()), { 'X-Scope-OrgID': 'x'.repeat(150) }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await k.stop()).toBe(0);
    const stored = await storedByTenant(k);
    expect([...stored.keys()].sort()).toEqual(['team-a', 'team-b', 'x'.repeat(150)].sort());
    expect([...stored.get('team-a')!.keys()].sort()).toEqual(['only-a', 'shared']);
    expect([...stored.get('team-b')!.keys()].sort()).toEqual(['only-b', 'shared']);
    expect([...stored.get('x'.repeat(150))!.keys()]).toEqual(['long']);
    expect(stored.get('team-a')!.get('shared')!.size).toBe(1);
    expect(stored.get('team-b')!.get('shared')!.size).toBe(1);
  });
});

describe('ingestion rate (-distributor.ingestion-rate-limit-mb=0.01 -distributor.ingestion-burst-size-mb=0.05)', () => {
  let k: KilnProcess;
  const okByTenant = new Map<string, number>();
  beforeAll(async () => {
    k = await start(['-auth.multitenancy-enabled', '-distributor.ingestion-rate-limit-mb=0.01', '-distributor.ingestion-burst-size-mb=0.05']);
  });

  it('pushes beyond the burst get 429 with Retry-After and the Mimir-style id', async () => {
    // Burst 0.05 MiB = 52428 B; each push is 12343 B decompressed, so 4 fit and 10 at once overflow.
    const body = gzipSync(goCpuNow());
    const answers = await Promise.all(Array.from({ length: 10 }, () => ingest(k, 'greedy-app', body, { 'X-Scope-OrgID': 'greedy' })));
    const ok = answers.filter((a) => a.status === 200);
    const limited = answers.filter((a) => a.status === 429);
    expect(ok.length + limited.length).toBe(10);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(ok.length).toBeLessThanOrEqual(5);
    expect(limited.length).toBeGreaterThanOrEqual(5);
    okByTenant.set('greedy', ok.length);
    for (const a of limited) {
      expect(a.text).toContain('err-kiln-tenant-max-ingestion-rate');
      expect(a.text).toContain('-distributor.ingestion-rate-limit-mb');
      // Refill is 0.01 MiB/s = 10485 B/s: one 12343-byte push needs at most 1.2 s → 1 or 2.
      expect(a.retryAfter).toMatch(/^[12]$/);
    }
  });

  it('waiting Retry-After seconds is enough', async () => {
    const body = gzipSync(goCpuNow());
    let r = await ingest(k, 'greedy-app', body, { 'X-Scope-OrgID': 'greedy' });
    for (let i = 0; i < 10 && r.status === 200; i++) {
      okByTenant.set('greedy', okByTenant.get('greedy')! + 1);
      r = await ingest(k, 'greedy-app', body, { 'X-Scope-OrgID': 'greedy' });
    }
    expect(r.status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, Number(r.retryAfter) * 1000 + 50));
    r = await ingest(k, 'greedy-app', body, { 'X-Scope-OrgID': 'greedy' });
    expect(r.status).toBe(200);
    okByTenant.set('greedy', okByTenant.get('greedy')! + 1);
  });

  it('the limit is per tenant', async () => {
    const r = await ingest(k, 'modest-app', gzipSync(goCpuNow()), { 'X-Scope-OrgID': 'modest' });
    expect(r.status).toBe(200);
    okByTenant.set('modest', 1);
  });

  it('push.v1 over the limit is resource_exhausted (HTTP 429)', async () => {
    const raw = goCpuNow();
    const answers = await Promise.all(Array.from({ length: 8 }, () => connectPush(k, 'flood-app', raw, { 'X-Scope-OrgID': 'flood' })));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(3);
    for (const a of limited) {
      expect(a.json.code).toBe('resource_exhausted');
      expect(a.json.message).toContain('err-kiln-tenant-max-ingestion-rate');
    }
    okByTenant.set('flood', answers.filter((a) => a.status === 200).length);
  });

  it('only the accepted pushes are stored', async () => {
    expect(await k.stop()).toBe(0);
    const stored = await storedByTenant(k);
    expect(stored.get('greedy')?.get('greedy-app')?.size).toBe(okByTenant.get('greedy'));
    expect(stored.get('modest')?.get('modest-app')?.size).toBe(1);
    expect(stored.get('flood')?.get('flood-app')?.size ?? 0).toBe(okByTenant.get('flood'));
  });
});

describe('time window, samples limit and shards (-validation.max-profile-stacktrace-samples=10 -distributor.num-shards=8)', () => {
  let k: KilnProcess;
  const accepted: string[] = [];
  beforeAll(async () => {
    k = await start(['-validation.max-profile-stacktrace-samples=10', '-distributor.num-shards=8', '-validation.reject-older-than=1h', '-validation.reject-newer-than=10m']);
  });

  async function expectOk(name: string, body: Uint8Array, headers: Record<string, string> = {}, query = '') {
    const r = await ingest(k, name, body, headers, query);
    expect(r, name).toEqual({ status: 200, text: '', retryAfter: null });
    accepted.push(name);
  }

  it('a profile 2 h old → 400 naming reject-older-than', async () => {
    const r = await ingest(k, 'window.old', smallProfile(nowNs() - 120n * MINUTE_NS));
    expect(r.status).toBe(400);
    expect(r.text).toContain('outside of the ingestion window');
    expect(r.text).toContain('err-kiln-profile-too-old');
    expect(r.text).toContain('-validation.reject-older-than');
  });

  it('a profile 20 min in the future → 400 naming reject-newer-than', async () => {
    const r = await ingest(k, 'window.future', smallProfile(nowNs() + 20n * MINUTE_NS));
    expect(r.status).toBe(400);
    expect(r.text).toContain('err-kiln-profile-too-new');
    expect(r.text).toContain('-validation.reject-newer-than');
  });

  it('a profile without a time takes the request time (from=2 h ago → rejected)', async () => {
    const from = Math.floor(Date.now() / 1000) - 7200;
    const r = await ingest(k, 'window.old-from', smallProfile(0n), {}, `&from=${from}`);
    expect(r.status).toBe(400);
    expect(r.text).toContain('err-kiln-profile-too-old');
  });

  it('inside the window: 50 min old, 9 min ahead, and no time at all are accepted', async () => {
    await expectOk('window.50m-old', smallProfile(nowNs() - 50n * MINUTE_NS));
    await expectOk('window.9m-ahead', smallProfile(nowNs() + 9n * MINUTE_NS));
    await expectOk('window.no-time', smallProfile(0n));
  });

  it('177 samples over a limit of 10 → 400 naming max_profile_stacktrace_samples', async () => {
    const r = await ingest(k, 'samples.too-many', gzipSync(goCpuNow()));
    expect(r.status).toBe(400);
    expect(r.text).toContain('max_profile_stacktrace_samples');
    expect(r.text).toContain('actual: 177');
    expect(r.text).toContain('limit: 10');
  });

  it('exactly 10 samples are accepted', async () => {
    await expectOk('samples.ten', smallProfile(nowNs(), 10));
  });

  it('X-Scope-OrgID is ignored when multitenancy is off', async () => {
    await expectOk('tenant.ignored', smallProfile(nowNs()), { 'X-Scope-OrgID': 'someone' });
  });

  it('20 services, pushed in two rounds, each land in one shard within 1..8', async () => {
    const services = Array.from({ length: 20 }, (_, i) => `shard-svc-${String(i).padStart(2, '0')}`);
    for (let round = 0; round < 2; round++) {
      await Promise.all(services.map((s) => expectOk(s, smallProfile(nowNs()))));
    }
    expect(await k.stop()).toBe(0);

    // Object keys: segments/<shard>/anonymous/<ULID>/block.bin
    const segments = path.join(dataDirOf(k.dir), 'segments');
    const dirShard = new Map<string, number>();
    for (const shardDir of readdirSync(segments)) {
      expect(shardDir).toMatch(/^[1-8]$/);
      expect(readdirSync(path.join(segments, shardDir))).toEqual(['anonymous']);
      for (const block of readdirSync(path.join(segments, shardDir, 'anonymous'))) {
        expect(readdirSync(path.join(segments, shardDir, 'anonymous', block))).toEqual(['block.bin']);
        dirShard.set(block, Number(shardDir));
      }
    }

    const { profiles } = await readStoredProfiles(dataDirOf(k.dir));
    const shardsOf = new Map<string, Set<number>>();
    const countOf = new Map<string, Set<string>>();
    for (const p of profiles) {
      expect(p.tenant).toBe('anonymous');
      expect(dirShard.get(p.block)).toBe(p.shard);
      const svc = p.labels.service_name!;
      if (!shardsOf.has(svc)) shardsOf.set(svc, new Set());
      shardsOf.get(svc)!.add(p.shard);
      if (!countOf.has(svc)) countOf.set(svc, new Set());
      countOf.get(svc)!.add(p.profileId);
    }
    for (const s of services) {
      expect(countOf.get(s)?.size, s).toBe(2);
      const shards = [...shardsOf.get(s)!];
      expect(shards, s).toHaveLength(1);
      expect(shards[0]).toBeGreaterThanOrEqual(1);
      expect(shards[0]).toBeLessThanOrEqual(8);
    }
    // 20 services over 8 shards use more than one of them.
    expect(new Set([...shardsOf.values()].flatMap((x) => [...x])).size).toBeGreaterThan(1);
    // Everything accepted above, nothing rejected.
    expect([...shardsOf.keys()].sort()).toEqual([...new Set(accepted)].sort());
  });
});

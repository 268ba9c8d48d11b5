// Two real `kiln serve -target=tenant-settings` processes sharing one bucket
// directory: concurrent writers in different processes never lose an update,
// conflicting updates of one rule let exactly one win, every process sees a
// write within -recording-rules.cache-ttl, and real clients (grpc-js, a plain
// HTTP client speaking Connect JSON) round-trip rules.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingRulesService } from '../../src/gen/settings/v1/recording_rules_pb.js';
import { type KilnProcess, startKiln, tempDir } from '../helpers/kiln-process.js';

const root = path.resolve(import.meta.dirname, '../..');
const CPU = '{__profile_type__="process_cpu:cpu:nanoseconds:cpu:nanoseconds"}';
const CACHE_TTL_MS = 1000;

let shared = '';
let rulesDir = '';
const kilns: KilnProcess[] = [];
let clients: Client<typeof RecordingRulesService>[] = [];

/** Flags of a tenant-settings process whose bucket is the shared directory (later flags win over startKiln's). */
function flags(): string[] {
  return [
    '-target=tenant-settings',
    `-storage.filesystem.dir=${path.join(shared, 'data')}`,
    `-recording-rules.dir=${rulesDir}`,
    '-recording-rules.max-rules-per-tenant=100',
    `-recording-rules.cache-ttl=${CACHE_TTL_MS}ms`,
    '-auth.multitenancy-enabled',
  ];
}

beforeAll(async () => {
  shared = tempDir('kiln-rules-shared-');
  rulesDir = path.join(shared, 'rules');
  mkdirSync(rulesDir);
  writeFileSync(path.join(rulesDir, 'cpu.yaml'), [
    'tenants:',
    '  "*":',
    '    - id: provCpu',
    '      metric_name: profiles_recorded_cpu_nanoseconds',
    `      matchers: ['${CPU}']`,
    '      group_by: [service_name]',
    '',
  ].join('\n'));
  // Each process has its own working directory; only the bucket is shared.
  kilns.push(...(await Promise.all([startKiln(flags()), startKiln(flags())])));
  clients = kilns.map((k) => createClient(RecordingRulesService, createConnectTransport({ baseUrl: k.url, httpVersion: '1.1' })));
}, 60_000);

afterAll(async () => {
  await Promise.all(kilns.map((k) => k.stop()));
});

const as = (tenant: string) => ({ headers: { 'X-Scope-OrgID': tenant } });

describe('two kiln processes writing one tenant', () => {
  it('keeps every rule when both create rules at the same time', async () => {
    const ids = (prefix: string) => Array.from({ length: 20 }, (_, i) => `${prefix}${String.fromCharCode(97 + i)}`);
    const writes = clients.flatMap((c, n) =>
      ids(n === 0 ? 'first' : 'second').map((id) => c.upsertRecordingRule({ id, metricName: `profiles_recorded_${id}`, matchers: [CPU] }, as('race'))),
    );
    const results = await Promise.all(writes);
    expect(results.every((r) => r.rule?.generation === 1n)).toBe(true);
    const want = ['provCpu', ...[...ids('first'), ...ids('second')].sort()];
    for (const c of clients) {
      // The writer of the last change may be the other process: wait out the cache bound.
      const listed = await eventually(async () => {
        const { rules } = await c.listRecordingRules({}, as('race'));
        return [rules[0]!.id, ...rules.slice(1).map((r) => r.id).sort()];
      }, want);
      expect(listed).toEqual(want);
    }
  });

  it('lets exactly one of many same-generation updates of one rule win', async () => {
    await clients[0]!.upsertRecordingRule({ id: 'contested', metricName: 'profiles_recorded_contested', matchers: [CPU] }, as('conflict'));
    const updates = Array.from({ length: 10 }, (_, i) =>
      clients[i % 2]!.upsertRecordingRule({ id: 'contested', metricName: 'profiles_recorded_contested', matchers: [CPU], groupBy: [`writer${i}`], generation: 1n }, as('conflict')),
    );
    const results = await Promise.allSettled(updates);
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won.length).toBe(1);
    for (const r of results) {
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(ConnectError);
        expect((r.reason as ConnectError).code).toBe(Code.AlreadyExists);
        expect((r.reason as ConnectError).rawMessage).toBe('conflicting update, please try again');
      }
    }
    for (const c of clients) {
      const got = await eventually(async () => (await c.getRecordingRule({ id: 'contested' }, as('conflict'))).rule?.groupBy, [`writer${won[0]}`]);
      expect(got).toEqual([`writer${won[0]}`]);
    }
    // The winner's generation is 2 in the bucket.
    expect((await clients[1]!.getRecordingRule({ id: 'contested' }, as('conflict'))).rule?.generation).toBe(2n);
  });

  it('shows a write made through one process in the other within the cache TTL', async () => {
    const [a, b] = clients as [Client<typeof RecordingRulesService>, Client<typeof RecordingRulesService>];
    await b.listRecordingRules({}, as('visible')); // b now caches "no rules"
    const written = Date.now();
    await a.upsertRecordingRule({ id: 'fresh', metricName: 'profiles_recorded_fresh', matchers: [CPU] }, as('visible'));
    await eventually(async () => (await b.listRecordingRules({}, as('visible'))).rules.map((r) => r.id), ['provCpu', 'fresh']);
    // Polling adds a little on top of the bound; a stale cache would never converge.
    expect(Date.now() - written).toBeLessThan(CACHE_TTL_MS + 2000);
  });

  it('refuses to change the provisioned rule in either process', async () => {
    for (const c of clients) {
      const err = await c.deleteRecordingRule({ id: 'provCpu' }, as('race')).catch((e: unknown) => e);
      expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
      expect((err as ConnectError).rawMessage).toBe('rule "provCpu" is provisioned from the rules folder and is read-only');
    }
  });

  it('stores the tenant object where Pyroscope does', async () => {
    const { FilesystemBucket } = await import('../../src/objstore/filesystem.js');
    const b = new FilesystemBucket(path.join(shared, 'data'));
    const keys = (await b.list('')).map((o) => o.key);
    expect(keys).toEqual(expect.arrayContaining(['race/settings/recording_rule.v1.json', 'conflict/settings/recording_rule.v1.json']));
    const doc = JSON.parse(Buffer.from(await b.get('race/settings/recording_rule.v1.json')).toString()) as { generation: string; elements: unknown[] };
    expect(doc.generation).toBe('40'); // one collection generation per write
    expect(doc.elements.length).toBe(40);
  });

  it('exports request and compare-and-swap metrics', async () => {
    const text = await (await fetch(`${kilns[0]!.url}/metrics`)).text();
    expect(text).toMatch(/kiln_recording_rules_requests_total\{method="UpsertRecordingRule",code="ok"\} \d+/);
    expect(text).toContain('kiln_recording_rules_cas_retries_total');
  });
});

describe('real clients', () => {
  it('round-trips a rule with grpc-js', async () => {
    const def = protoLoader.loadSync('settings/v1/recording_rules.proto', { includeDirs: [path.join(root, 'proto')], keepCase: true, longs: String, enums: String, defaults: true });
    type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;
    type Unary = (req: unknown, md: grpc.Metadata, cb: Callback<Record<string, unknown>>) => void;
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      settings: { v1: { RecordingRulesService: new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client & Record<'UpsertRecordingRule' | 'GetRecordingRule' | 'ListRecordingRules' | 'DeleteRecordingRule', Unary> } };
    };
    const client = new pkg.settings.v1.RecordingRulesService(`127.0.0.1:${kilns[1]!.port}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('x-scope-orgid', 'grpcjs');
    const call = (method: 'UpsertRecordingRule' | 'GetRecordingRule' | 'ListRecordingRules' | 'DeleteRecordingRule', req: unknown, meta = md) =>
      new Promise<Record<string, unknown>>((resolve, reject) => client[method](req, meta, (err, res) => (err ? reject(err) : resolve(res))));
    try {
      const created = (await call('UpsertRecordingRule', {
        metric_name: 'profiles_recorded_grpcjs',
        matchers: [CPU],
        group_by: ['service_name'],
        external_labels: [{ name: 'env', value: 'ci' }],
        stacktrace_filter: { function_name: { function_name: 'runtime.mallocgc', metric_type: 'TOTAL' } },
      })).rule as Record<string, unknown>;
      expect(created.id).toMatch(/^[a-zA-Z]{10}$/);
      expect(created).toMatchObject({
        metric_name: 'profiles_recorded_grpcjs',
        profile_type: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
        generation: '1',
        provisioned: false,
        external_labels: [{ name: 'env', value: 'ci' }],
        stacktrace_filter: { function_name: { function_name: 'runtime.mallocgc', metric_type: 'TOTAL' } },
      });
      const got = (await call('GetRecordingRule', { id: created.id })).rule;
      expect(got).toEqual(created);
      const listed = (await call('ListRecordingRules', {})).rules as { id: string }[];
      expect(listed.map((r) => r.id)).toEqual(['provCpu', created.id]);
      await call('DeleteRecordingRule', { id: created.id });
      const missing = await call('GetRecordingRule', { id: created.id }).catch((e: grpc.ServiceError) => e);
      expect((missing as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
      expect(decodeURIComponent((missing as grpc.ServiceError).details)).toBe(`no rule with id='${String(created.id)}' found`);
      const noTenant = await call('ListRecordingRules', {}, new grpc.Metadata()).catch((e: grpc.ServiceError) => e);
      expect((noTenant as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      client.close();
    }
  });

  it('round-trips a rule with Connect JSON over plain fetch', async () => {
    const post = async (method: string, body: unknown) => {
      const res = await fetch(`${kilns[0]!.url}/settings.v1.RecordingRulesService/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-scope-orgid': 'jsonclient' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const created = await post('UpsertRecordingRule', { id: 'viaJson', metricName: 'profiles_recorded_json', matchers: [CPU], groupBy: ['region'] });
    expect(created).toEqual({
      status: 200,
      body: { rule: { id: 'viaJson', metricName: 'profiles_recorded_json', profileType: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds', matchers: [CPU], groupBy: ['region'], generation: '1' } },
    });
    const updated = await post('UpsertRecordingRule', { id: 'viaJson', metricName: 'profiles_recorded_json', matchers: [CPU], generation: '1' });
    expect((updated.body.rule as { generation: string }).generation).toBe('2');
    expect(await post('UpsertRecordingRule', { id: 'viaJson', metricName: 'profiles_recorded_json', matchers: [CPU], generation: '1' })).toEqual({
      status: 409,
      body: { code: 'already_exists', message: 'conflicting update, please try again' },
    });
    expect(await post('UpsertRecordingRule', { metricName: 'cpu', matchers: [CPU] })).toMatchObject({ status: 400, body: { code: 'invalid_argument' } });
    expect(await post('DeleteRecordingRule', { id: 'viaJson' })).toEqual({ status: 200, body: {} });
    expect(await post('DeleteRecordingRule', { id: 'viaJson' })).toEqual({ status: 404, body: { code: 'not_found', message: "no rule with ID='viaJson' found" } });
  });
});

describe('start-up', () => {
  it('fails with the file and reason when a provisioned rules file is bad', async () => {
    const dir = tempDir('kiln-rules-bad-');
    const bad = path.join(dir, 'rules');
    mkdirSync(bad);
    writeFileSync(path.join(bad, 'broken.yaml'), 'tenants:\n  "*":\n    - metric_name: cpu\n      matchers: ["{}"]\n');
    const err = await startKiln(['-target=tenant-settings', `-recording-rules.dir=${bad}`], dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/kiln exited with 1 before it was ready/);
    expect((err as Error).message).toContain('broken.yaml');
  });
});

/** Polls `read` until it equals `want` (deep), for at most the cache TTL plus slack; returns the last value. */
async function eventually<T>(read: () => Promise<T>, want: T): Promise<T> {
  const deadline = Date.now() + CACHE_TTL_MS + 3000;
  for (;;) {
    const got = await read();
    if (JSON.stringify(got) === JSON.stringify(want) || Date.now() > deadline) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
}

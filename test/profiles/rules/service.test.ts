// settings.v1.RecordingRulesService over a loopback server (Connect proto and
// JSON, gRPC, gRPC-Web): every error code and message of the API, tenancy,
// provisioned rules, and bad input that must change nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RecordingRule,
  RecordingRuleSchema,
  RecordingRulesService,
  type UpsertRecordingRuleRequestSchema,
} from '../../../src/gen/settings/v1/recording_rules_pb.js';
import { FilesystemBucket } from '../../../src/objstore/filesystem.js';
import type { ProvisionedRules } from '../../../src/profiles/rules/provisioned.js';
import { rulesObjectKey } from '../../../src/profiles/rules/rules-object.js';
import { RULES_READ_MAX_BYTES, recordingRulesServiceImpl } from '../../../src/profiles/rules/service.js';
import { RuleSource } from '../../../src/profiles/rules/source.js';
import { RuleStore } from '../../../src/profiles/rules/store.js';
import { createConnectHandler } from '../../../src/server/connect-adapter.js';
import { type DualServer, listenDual } from '../../../src/server/http-server.js';

const CPU_TYPE = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
const CPU = `{__profile_type__="${CPU_TYPE}"}`;
const LIMIT = 3;

let dir = '';
let bucket: FilesystemBucket;
let server: DualServer;
let url = '';
const registry = new Registry();

const provisionedRule = create(RecordingRuleSchema, {
  id: 'prov',
  metricName: 'profiles_recorded_provisioned',
  profileType: CPU_TYPE,
  matchers: [CPU],
  provisioned: true,
});
const provisioned: ProvisionedRules = { files: [], forTenant: () => [provisionedRule] };

/** A bucket whose reads fail for tenant "ioerr": a storage outage. */
class FlakyBucket extends FilesystemBucket {
  override async getVersioned(key: string) {
    if (key.startsWith('ioerr/')) throw new Error('disk on fire');
    return super.getVersioned(key);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-rulesvc-'));
  bucket = new FlakyBucket(dir);
  const logger = pino({ level: 'silent' });
  const store = new RuleStore(bucket, { maxRulesPerTenant: LIMIT, cacheTtlMs: 10_000, logger, registry });
  const impl = recordingRulesServiceImpl({
    source: new RuleSource(provisioned, store),
    store,
    tenancy: { multitenancyEnabled: true, noAuthTenant: 'anonymous' },
    logger,
    registry,
  });
  const handler = createConnectHandler({
    readMaxBytes: 100 * 1024 * 1024,
    routes: (r) => r.service(RecordingRulesService, impl, { readMaxBytes: RULES_READ_MAX_BYTES }),
    fallback: (_req, res) => res.writeHead(404).end(),
    onError: () => undefined,
  });
  server = await listenDual(handler, '127.0.0.1', 0);
  url = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server?.close(1000);
  await rm(dir, { recursive: true, force: true });
});

type Rules = Client<typeof RecordingRulesService>;
const connect = (): Rules => createClient(RecordingRulesService, createConnectTransport({ baseUrl: url, httpVersion: '1.1' }));
const as = (tenant: string) => ({ headers: { 'X-Scope-OrgID': tenant } });

function upsertReq(init: MessageInitShape<typeof UpsertRecordingRuleRequestSchema> = {}): MessageInitShape<typeof UpsertRecordingRuleRequestSchema> {
  return { metricName: 'profiles_recorded_cpu', matchers: [CPU], ...init };
}

/** The ConnectError a call fails with. */
async function failure(p: Promise<unknown>): Promise<ConnectError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should have failed').toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

async function expectError(p: Promise<unknown>, code: Code, message: string | RegExp): Promise<void> {
  const e = await failure(p);
  expect(Code[e.code]).toBe(Code[code]);
  if (typeof message === 'string') expect(e.rawMessage).toBe(message);
  else expect(e.rawMessage).toMatch(message);
}

describe('RecordingRulesService over Connect', () => {
  let c: Rules;
  beforeAll(() => {
    c = connect();
  });

  it('creates a rule with a generated id at generation 1 and derives its profile type', async () => {
    const { rule } = await c.upsertRecordingRule(upsertReq({ metricName: '  profiles_recorded_cpu  ', generation: 5n, groupBy: ['service_name'] }), as('create'));
    expect(rule?.id).toMatch(/^[a-zA-Z]{10}$/);
    expect(rule).toMatchObject({ metricName: 'profiles_recorded_cpu', generation: 1n, profileType: CPU_TYPE, provisioned: false, groupBy: ['service_name'] });
    const got = await c.getRecordingRule({ id: rule!.id }, as('create'));
    expect(got.rule).toEqual(rule);
    // Get trims the id.
    expect((await c.getRecordingRule({ id: ` ${rule!.id}\t` }, as('create'))).rule?.id).toBe(rule!.id);
  });

  it('lists provisioned rules first, then stored ones', async () => {
    await c.upsertRecordingRule(upsertReq({ id: 'bbb' }), as('listing'));
    await c.upsertRecordingRule(upsertReq({ id: 'aaa' }), as('listing'));
    const { rules } = await c.listRecordingRules({}, as('listing'));
    expect(rules.map((r: RecordingRule) => [r.id, r.provisioned])).toEqual([['prov', true], ['bbb', false], ['aaa', false]]);
  });

  it('updates only from the stored generation', async () => {
    const t = as('gen');
    expect((await c.upsertRecordingRule(upsertReq({ id: 'abc', generation: 0n }), t)).rule?.generation).toBe(1n);
    expect((await c.upsertRecordingRule(upsertReq({ id: 'abc', generation: 1n, groupBy: ['x'] }), t)).rule?.generation).toBe(2n);
    await expectError(c.upsertRecordingRule(upsertReq({ id: 'abc', generation: 1n }), t), Code.AlreadyExists, 'conflicting update, please try again');
    await expectError(c.upsertRecordingRule(upsertReq({ id: 'abc', generation: 0n }), t), Code.AlreadyExists, 'conflicting update, please try again');
    expect((await c.getRecordingRule({ id: 'abc' }, t)).rule).toMatchObject({ generation: 2n, groupBy: ['x'] });
  });

  it('refuses invalid rules with InvalidArgument "invalid request: ..." and stores nothing', async () => {
    const t = as('invalid');
    await expectError(c.upsertRecordingRule(upsertReq({ metricName: 'cpu' }), t), Code.InvalidArgument, /^invalid request: .*profiles_recorded_/);
    await expectError(c.upsertRecordingRule(upsertReq({ id: 'has-dash' }), t), Code.InvalidArgument, /^invalid request: id "has-dash"/);
    await expectError(c.upsertRecordingRule(upsertReq({ matchers: ['{service_name="x"}'] }), t), Code.InvalidArgument, /^invalid request: matchers must select a profile type/);
    await expectError(c.upsertRecordingRule(upsertReq({ generation: -1n }), t), Code.InvalidArgument, /^invalid request: generation must be positive/);
    expect((await c.listRecordingRules({}, t)).rules.map((r) => r.id)).toEqual(['prov']);
    await expect(bucket.head(rulesObjectKey('invalid'))).rejects.toThrow(/not found/);
  });

  it(`refuses the ${LIMIT + 1}th rule with ResourceExhausted; provisioned rules do not count`, async () => {
    const t = as('limit');
    for (const id of ['a', 'b', 'c']) await c.upsertRecordingRule(upsertReq({ id }), t);
    await expectError(c.upsertRecordingRule(upsertReq({ id: 'd' }), t), Code.ResourceExhausted, `recording rules limit (${LIMIT}) exceeded for this tenant`);
    await expectError(c.upsertRecordingRule(upsertReq(), t), Code.ResourceExhausted, `recording rules limit (${LIMIT}) exceeded for this tenant`);
    // Updates still work at the limit.
    await c.upsertRecordingRule(upsertReq({ id: 'a', generation: 1n }), t);
  });

  it('answers NotFound for missing ids, with Pyroscope\'s texts', async () => {
    const t = as('missing');
    await expectError(c.getRecordingRule({ id: 'nope' }, t), Code.NotFound, "no rule with id='nope' found");
    await expectError(c.deleteRecordingRule({ id: ' nope ' }, t), Code.NotFound, "no rule with ID='nope' found");
  });

  it('requires an id for get and delete', async () => {
    for (const id of ['', '   ']) {
      await expectError(c.getRecordingRule({ id }, as('t')), Code.InvalidArgument, 'id is required');
      await expectError(c.deleteRecordingRule({ id }, as('t')), Code.InvalidArgument, 'id is required');
    }
  });

  it('deletes a stored rule', async () => {
    const t = as('delete');
    await c.upsertRecordingRule(upsertReq({ id: 'gone' }), t);
    await c.deleteRecordingRule({ id: 'gone' }, t);
    await expectError(c.getRecordingRule({ id: 'gone' }, t), Code.NotFound, "no rule with id='gone' found");
  });

  it('serves provisioned rules read-only', async () => {
    const t = as('prov');
    expect((await c.getRecordingRule({ id: 'prov' }, t)).rule).toMatchObject({ id: 'prov', provisioned: true });
    const readOnly = 'rule "prov" is provisioned from the rules folder and is read-only';
    await expectError(c.upsertRecordingRule(upsertReq({ id: 'prov' }), t), Code.FailedPrecondition, readOnly);
    await expectError(c.upsertRecordingRule(upsertReq({ id: 'prov', generation: 1n }), t), Code.FailedPrecondition, readOnly);
    await expectError(c.deleteRecordingRule({ id: 'prov' }, t), Code.FailedPrecondition, readOnly);
    await expect(bucket.head(rulesObjectKey('prov'))).rejects.toThrow(/not found/);
  });

  it('hides a stored rule whose id is provisioned', async () => {
    // Written behind the API's back (another tool, or the folder gained the id later).
    await bucket.put(rulesObjectKey('shadow'), Buffer.from(JSON.stringify({ generation: '1', elements: [{ id: 'prov', metricName: 'profiles_recorded_stored', matchers: [CPU], generation: '1' }, { id: 'own', metricName: 'profiles_recorded_own', matchers: [CPU], generation: '1' }] })));
    const { rules } = await c.listRecordingRules({}, as('shadow'));
    expect(rules.map((r) => [r.id, r.metricName])).toEqual([['prov', 'profiles_recorded_provisioned'], ['own', 'profiles_recorded_own']]);
    expect((await c.getRecordingRule({ id: 'prov' }, as('shadow'))).rule?.metricName).toBe('profiles_recorded_provisioned');
  });

  it('needs a valid X-Scope-OrgID and keeps tenants apart', async () => {
    await expectError(c.listRecordingRules({}), Code.Unauthenticated, 'no org id');
    await expectError(c.upsertRecordingRule(upsertReq()), Code.Unauthenticated, 'no org id');
    await expectError(c.listRecordingRules({}, as('a/b')), Code.InvalidArgument, "tenant ID 'a/b' contains unsupported character '/'");
    await expectError(c.listRecordingRules({}, as('..')), Code.InvalidArgument, "tenant ID is '.' or '..'");
    await expectError(c.listRecordingRules({}, as('x|y')), Code.InvalidArgument, 'multiple org IDs present');
    // A valid tenant id that cannot name an object (".tmp-" is reserved by the bucket).
    await expectError(c.listRecordingRules({}, as('.tmp-x')), Code.InvalidArgument, /tenant ID ".tmp-x" cannot be stored/);
    await c.upsertRecordingRule(upsertReq({ id: 'mine' }), as('tenantA'));
    expect((await c.listRecordingRules({}, as('tenantB'))).rules.map((r) => r.id)).toEqual(['prov']);
    await expectError(c.getRecordingRule({ id: 'mine' }, as('tenantB')), Code.NotFound, "no rule with id='mine' found");
    await expectError(c.deleteRecordingRule({ id: 'mine' }, as('tenantB')), Code.NotFound, "no rule with ID='mine' found");
  });

  it('answers Internal naming the object when it is corrupt, and never overwrites it', async () => {
    await bucket.put(rulesObjectKey('broken'), Buffer.from('{"elements": [oops'));
    const t = as('broken');
    const corrupt = /^recording rules object broken\/settings\/recording_rule\.v1\.json is corrupt: not JSON/;
    await expectError(c.listRecordingRules({}, t), Code.Internal, corrupt);
    await expectError(c.getRecordingRule({ id: 'x' }, t), Code.Internal, corrupt);
    await expectError(c.upsertRecordingRule(upsertReq(), t), Code.Internal, corrupt);
    await expectError(c.deleteRecordingRule({ id: 'x' }, t), Code.Internal, corrupt);
    expect(Buffer.from(await bucket.get(rulesObjectKey('broken'))).toString()).toBe('{"elements": [oops');
  });

  it('answers Internal on storage errors, for delete too', async () => {
    const t = as('ioerr');
    const io = /^recording rules storage error: disk on fire$/;
    await expectError(c.listRecordingRules({}, t), Code.Internal, io);
    await expectError(c.upsertRecordingRule(upsertReq(), t), Code.Internal, io);
    await expectError(c.deleteRecordingRule({ id: 'x' }, t), Code.Internal, io);
  });

  it('counts requests by method and code', async () => {
    const text = await registry.getSingleMetricAsString('kiln_recording_rules_requests_total');
    expect(text).toContain('kiln_recording_rules_requests_total{method="UpsertRecordingRule",code="ok"}');
    expect(text).toContain('kiln_recording_rules_requests_total{method="UpsertRecordingRule",code="AlreadyExists"}');
    expect(text).toContain('kiln_recording_rules_requests_total{method="GetRecordingRule",code="NotFound"}');
    expect(text).toContain('kiln_recording_rules_requests_total{method="ListRecordingRules",code="Unauthenticated"}');
  });
});

describe('RecordingRulesService: Connect JSON from a plain HTTP client', () => {
  const post = (method: string, body: string, tenant = 'json') =>
    fetch(`${url}/settings.v1.RecordingRulesService/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-scope-orgid': tenant },
      body,
    });

  it('round-trips a rule in protojson (lowerCamelCase or snake_case in, lowerCamelCase out)', async () => {
    const res = await post('UpsertRecordingRule', JSON.stringify({
      id: 'jsonRule',
      metric_name: 'profiles_recorded_json',
      matchers: [CPU],
      externalLabels: [{ name: 'env', value: 'dev' }],
      stacktraceFilter: { functionName: { functionName: 'main', metricType: 'TOTAL' } },
    }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      rule: {
        id: 'jsonRule',
        metricName: 'profiles_recorded_json',
        profileType: CPU_TYPE,
        matchers: [CPU],
        externalLabels: [{ name: 'env', value: 'dev' }],
        generation: '1',
        stacktraceFilter: { functionName: { functionName: 'main' } },
      },
    });
    const got = await post('GetRecordingRule', '{"id":"jsonRule"}');
    expect(((await got.json()) as { rule: { generation: string } }).rule.generation).toBe('1');
  });

  it('answers errors as Connect JSON with the HTTP status of the code', async () => {
    const res = await post('GetRecordingRule', '{"id":"nope"}');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ code: 'not_found', message: "no rule with id='nope' found" });
    const conflict = await post('UpsertRecordingRule', JSON.stringify({ id: 'jsonRule', metricName: 'profiles_recorded_json', matchers: [CPU], generation: '7' }));
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toEqual({ code: 'already_exists', message: 'conflicting update, please try again' });
  });

  it.each([
    ['malformed JSON', '{"id": '],
    ['a wrong type', '{"metricName": 5}'],
    ['an unknown field', '{"metricName": "profiles_recorded_x", "colour": "red"}'],
    ['a non-integer generation', '{"metricName": "profiles_recorded_x", "generation": "1.5"}'],
  ])('refuses %s with invalid_argument and stores nothing', async (_, body) => {
    const res = await post('UpsertRecordingRule', body, 'badjson');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('invalid_argument');
    await expect(bucket.head(rulesObjectKey('badjson'))).rejects.toThrow(/not found/);
  });

  it('refuses a request body over the read limit without reading it all', async () => {
    const huge = JSON.stringify({ metricName: 'profiles_recorded_x', matchers: [CPU], groupBy: ['x'.repeat(RULES_READ_MAX_BYTES)] });
    const res = await post('UpsertRecordingRule', huge, 'huge');
    expect(res.status).toBe(429);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('resource_exhausted');
    expect(body.message).toMatch(/larger than configured readMaxBytes/);
    await expect(bucket.head(rulesObjectKey('huge'))).rejects.toThrow(/not found/);
  });
});

describe('RecordingRulesService over gRPC and gRPC-Web', () => {
  for (const [name, transport] of [
    ['gRPC (h2c)', () => createGrpcTransport({ baseUrl: url })],
    ['gRPC-Web', () => createGrpcWebTransport({ baseUrl: url, httpVersion: '1.1' })],
  ] as const) {
    it(`${name}: upsert, get, list, delete and error codes`, async () => {
      const c = createClient(RecordingRulesService, transport());
      const t = as(name.startsWith('gRPC-Web') ? 'grpcweb' : 'grpc');
      expect((await c.upsertRecordingRule(upsertReq({ id: 'viaGrpc' }), t)).rule?.generation).toBe(1n);
      expect((await c.getRecordingRule({ id: 'viaGrpc' }, t)).rule?.profileType).toBe(CPU_TYPE);
      expect((await c.listRecordingRules({}, t)).rules.map((r) => r.id)).toEqual(['prov', 'viaGrpc']);
      await expectError(c.upsertRecordingRule(upsertReq({ id: 'viaGrpc' }), t), Code.AlreadyExists, 'conflicting update, please try again');
      await c.deleteRecordingRule({ id: 'viaGrpc' }, t);
      await expectError(c.deleteRecordingRule({ id: 'viaGrpc' }, t), Code.NotFound, "no rule with ID='viaGrpc' found");
      await expectError(c.listRecordingRules({}), Code.Unauthenticated, 'no org id');
    });
  }
});

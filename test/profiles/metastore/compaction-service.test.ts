// CompactionService, GetBlockMetadata, QueryMetadata and the admin JSON over a real loopback
// server (the same Connect handler app.ts uses).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { createClient, Code, ConnectError } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompactionJobStatus, CompactionService } from '../../../src/gen/metastore/v1/compactor_pb.js';
import { IndexService, MetadataQueryService } from '../../../src/gen/metastore/v1/index_pb.js';
import { handleMetastoreAdmin } from '../../../src/profiles/metastore/admin-http.js';
import { compactionServiceImpl } from '../../../src/profiles/metastore/compaction-service.js';
import { indexServiceImpl, metadataQueryServiceImpl } from '../../../src/profiles/metastore/index-service.js';
import { Metastore } from '../../../src/profiles/metastore/metastore.js';
import { createConnectHandler } from '../../../src/server/connect-adapter.js';
import { ManualClock, makeMeta, recordingLogger, tempDir, ulidAt } from './helpers.js';

let dir: string;
let ms: Metastore;
let server: Server;
let baseUrl: string;
const clock = new ManualClock();

beforeAll(async () => {
  dir = await tempDir();
  ms = await Metastore.open(dir, { logger: recordingLogger(), clock: clock.read });
  const handler = createConnectHandler({
    readMaxBytes: 4 * 1024 * 1024,
    routes(router) {
      router.service(IndexService, indexServiceImpl(ms));
      router.service(MetadataQueryService, metadataQueryServiceImpl(ms));
      router.service(CompactionService, compactionServiceImpl(ms));
    },
    fallback(req, res) {
      const url = new URL(req.url ?? '/', 'http://x');
      if (!handleMetastoreAdmin(ms, url, req.method ?? 'GET', res, clock.read)) res.writeHead(404).end();
    },
    onError: () => {},
  });
  server = createServer(handler as Parameters<typeof createServer>[1]);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await ms.close();
  await rm(dir, { recursive: true, force: true });
});

const transport = () => createConnectTransport({ baseUrl, httpVersion: '1.1' });

async function codeOf(p: Promise<unknown>): Promise<[Code, string]> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ConnectError);
  return [(err as ConnectError).code, (err as ConnectError).rawMessage];
}

describe('CompactionService over Connect', () => {
  it('assigns, renews and commits a job; refuses malformed results with InvalidArgument', async () => {
    const compaction = createClient(CompactionService, transport());
    const index = createClient(IndexService, transport());
    const segments = Array.from({ length: 20 }, (_, i) => makeMeta({ id: ulidAt(clock.now + i), shard: 2, datasets: [['acme', 'api']] }));
    for (const block of segments) await index.addBlock({ block });

    const first = await compaction.pollCompactionJobs({ jobCapacity: 1 });
    expect(first.compactionJobs).toHaveLength(1);
    const job = first.compactionJobs[0]!;
    expect(job).toMatchObject({ shard: 2, tenant: '', compactionLevel: 0, tombstones: [] });
    expect(job.sourceBlocks).toEqual(segments.map((s) => s.id));
    const lease = first.assignments[0]!;
    expect(lease.leaseExpiresAt).toBe(BigInt(clock.now + 15_000) * 1_000_000n);

    // GetBlockMetadata: what a worker asks for the job's sources.
    const metas = await index.getBlockMetadata({ blocks: { shard: 2, blocks: [...job.sourceBlocks, '01ARZ3NDEKTSV4RRFFQ69G5FAV'] } });
    expect(metas.blocks.map((b) => b.id)).toEqual(job.sourceBlocks);

    const renew = await compaction.pollCompactionJobs({ statusUpdates: [{ name: job.name, token: lease.token, status: CompactionJobStatus.COMPACTION_STATUS_IN_PROGRESS }] });
    expect(renew.assignments.map((a) => a.name)).toEqual([job.name]);

    const output = makeMeta({ shard: 2, level: 1, tenant: 'acme', datasets: [['acme', 'api']] });
    const bad = { ...output, shard: 0 };
    const [code, message] = await codeOf(
      compaction.pollCompactionJobs({
        statusUpdates: [{ name: job.name, token: lease.token, status: CompactionJobStatus.COMPACTION_STATUS_SUCCESS, compactedBlocks: { sourceBlocks: { blocks: job.sourceBlocks }, newBlocks: [bad] } }],
      }),
    );
    expect(code).toBe(Code.InvalidArgument);
    expect(message).toMatch(/shard must be >= 1/);
    expect((await index.queryBlocks({})).blocks).toHaveLength(20);

    const done = await compaction.pollCompactionJobs({
      statusUpdates: [
        { name: job.name, token: lease.token, status: CompactionJobStatus.COMPACTION_STATUS_SUCCESS, compactedBlocks: { sourceBlocks: { blocks: job.sourceBlocks }, newBlocks: [output] }, observerResult: new Uint8Array([9]) },
      ],
    });
    expect(done.assignments).toEqual([]);
    expect((await index.queryBlocks({})).blocks.map((b) => b.id)).toEqual([output.id]);
    expect((await compaction.listCompactionJobs({})).jobs).toEqual([]);

    // A second report of the same job (a retry after a lost response) is simply not leased.
    const again = await compaction.pollCompactionJobs({ statusUpdates: [{ name: job.name, token: lease.token, status: CompactionJobStatus.COMPACTION_STATUS_SUCCESS }] });
    expect(again.assignments).toEqual([]);
    expect((await index.queryBlocks({})).blocks.map((b) => b.id)).toEqual([output.id]);
  });

  it('answers InvalidArgument for an unknown status and hostile capacities are capped', async () => {
    const compaction = createClient(CompactionService, transport());
    const [code] = await codeOf(compaction.pollCompactionJobs({ statusUpdates: [{ name: 'x', token: 1n, status: 42 as CompactionJobStatus }] }));
    expect(code).toBe(Code.InvalidArgument);
    const res = await compaction.pollCompactionJobs({ jobCapacity: 0xffffffff, statusUpdates: [{ name: 'no-such-job', token: 2n ** 64n - 1n, status: CompactionJobStatus.COMPACTION_STATUS_IN_PROGRESS }] });
    expect(res.assignments).toEqual([]);
  });
});

describe('MetadataQueryService over Connect', () => {
  it('matches dataset labels and requires a tenant', async () => {
    const query = createClient(MetadataQueryService, transport());
    const index = createClient(IndexService, transport());
    const seg = makeMeta({ shard: 4, datasets: [['globex', 'web'], ['globex', 'db']], minTime: 10, maxTime: 20 });
    await index.addBlock({ block: seg });
    const res = await query.queryMetadata({ tenantId: ['globex'], startTime: 0n, endTime: 100n, query: '{service_name="web"}' });
    expect(res.blocks.map((b) => b.id)).toEqual([seg.id]);
    expect(res.blocks[0]!.datasets).toHaveLength(1);
    expect((await query.queryMetadata({ tenantId: ['globex'], query: '{service_name=~"d.*"}' })).blocks[0]!.datasets).toHaveLength(1);
    expect((await codeOf(query.queryMetadata({ query: '{}' })))[1]).toMatch(/tenant_id is required/);
    const [code, message] = await codeOf(query.queryMetadata({ tenantId: ['globex'], query: '{service_name="web"' }));
    expect(code).toBe(Code.InvalidArgument);
    expect(message).toMatch(/invalid selector/);
  });
});

describe('admin JSON', () => {
  it('serves /metastore/blocks with filters and /metastore/jobs', async () => {
    const blocks = (await (await fetch(`${baseUrl}/metastore/blocks?level=1`)).json()) as { blocks: Array<Record<string, unknown>> };
    expect(blocks.blocks.length).toBeGreaterThan(0);
    expect(blocks.blocks[0]).toMatchObject({ level: 1, tenant: 'acme', tenants: ['acme'], shard: 2, datasets: 1 });
    expect(typeof blocks.blocks[0]!.minTime).toBe('string');
    const jobs = await fetch(`${baseUrl}/metastore/jobs`);
    expect(jobs.status).toBe(200);
    expect(await jobs.json()).toHaveProperty('jobs');
    const bad = await fetch(`${baseUrl}/metastore/blocks?shard=abc`);
    expect(bad.status).toBe(400);
  });
});

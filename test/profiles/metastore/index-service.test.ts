import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { create, equals } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexService, QueryBlocksRequestSchema } from '../../../src/gen/metastore/v1/index_pb.js';
import { BlockMetaSchema } from '../../../src/gen/metastore/v1/types_pb.js';
import { Metastore } from '../../../src/profiles/metastore/metastore.js';
import { createIndexClient, indexServiceImpl } from '../../../src/profiles/metastore/index-service.js';
import { StoreUnavailableError, type MetastoreStore } from '../../../src/profiles/metastore/store.js';
import { makeMeta, recordingLogger, tempDir } from './helpers.js';

let dir: string;
let index: Metastore;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  dir = await tempDir();
  index = await Metastore.open(dir, { logger: recordingLogger() });
  const routes = (router: ConnectRouter): void => {
    router.service(IndexService, indexServiceImpl(index));
  };
  server = createServer(connectNodeAdapter({ routes }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await index.close();
  await rm(dir, { recursive: true, force: true });
});

async function connectError(p: Promise<unknown>): Promise<ConnectError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

describe('IndexService over Connect', () => {
  it('registers blocks (idempotently) and queries them back', async () => {
    const client = createIndexClient(baseUrl);
    const seg = makeMeta({ shard: 3, datasets: [['acme', 'api'], ['globex', 'web']], minTime: 1000, maxTime: 2000 });
    const l1 = makeMeta({ shard: 3, level: 1, tenant: 'acme', datasets: [['acme', 'api']], minTime: 5000, maxTime: 6000 });
    await client.addBlock({ block: seg });
    await client.addBlock({ block: l1 });
    await client.addBlock({ block: seg }); // a retry after a lost response succeeds
    expect(index.size).toBe(2);
    expect(equals(BlockMetaSchema, index.get(seg.id)!, seg)).toBe(true);

    const all = await client.queryBlocks({});
    expect(all.blocks.map((b) => b.id)).toEqual([seg.id, l1.id]);
    expect(equals(BlockMetaSchema, all.blocks[0]!, seg)).toBe(true);
    const q = async (r: Parameters<typeof client.queryBlocks>[0]): Promise<string[]> =>
      (await client.queryBlocks(create(QueryBlocksRequestSchema, r))).blocks.map((b) => b.id);
    expect(await q({ tenant: 'globex' })).toEqual([seg.id]);
    expect(await q({ tenant: 'acme', hasLevel: true, compactionLevel: 1 })).toEqual([l1.id]);
    expect(await q({ hasLevel: true, compactionLevel: 0 })).toEqual([seg.id]); // level 0 is not "any"
    expect(await q({ shard: 4 })).toEqual([]);
    expect(await q({ startTime: 2001n })).toEqual([l1.id]);
    expect(await q({ startTime: 1500n, endTime: 1600n })).toEqual([seg.id]);
    expect(await q({ endTime: 999n })).toEqual([]);
  });

  it('answers InvalidArgument for an invalid meta and stores nothing', async () => {
    const client = createIndexClient(baseUrl);
    const before = index.size;
    const bad = makeMeta({ shard: 0 });
    const err = await connectError(client.addBlock({ block: bad }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/shard must be >= 1/);
    const missing = await connectError(client.addBlock({}));
    expect(missing.code).toBe(Code.InvalidArgument);
    expect(missing.rawMessage).toMatch(/block meta is missing/);
    expect(index.size).toBe(before);
  });

  it('answers InvalidArgument for an inverted time range', async () => {
    const client = createIndexClient(baseUrl);
    const err = await connectError(client.queryBlocks({ startTime: 10n, endTime: 5n }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/end_time 5 is before start_time 10/);
  });

  it('answers Unavailable when the store cannot take writes', async () => {
    const down: MetastoreStore = {
      load: async () => [],
      append: async () => {
        throw new StoreUnavailableError('disk is gone');
      },
      rewrite: async () => {},
      storedBytes: 0,
      close: async () => {},
    };
    const downIndex = await Metastore.openStore(down);
    const routes = (router: ConnectRouter): void => {
      router.service(IndexService, indexServiceImpl(downIndex));
    };
    const srv = createServer(connectNodeAdapter({ routes }));
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      const client = createIndexClient(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`);
      const err = await connectError(client.addBlock({ block: makeMeta() }));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toMatch(/disk is gone/);
    } finally {
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });
});

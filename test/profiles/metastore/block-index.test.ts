import { spawnSync } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { clone, equals } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import { BlockMetaSchema, type BlockMeta } from '../../../src/gen/metastore/v1/types_pb.js';
import { InvalidBlockMetaError } from '../../../src/profiles/metastore/block-index.js';
import { Metastore } from '../../../src/profiles/metastore/metastore.js';
import { FileMetastoreStore, LOCK_FILE, LOG_FILE, StoreLockedError } from '../../../src/profiles/metastore/file-store.js';
import { encodeFrame } from '../../../src/profiles/metastore/log.js';
import { StoreUnavailableError, type MetastoreStore, type StateChange } from '../../../src/profiles/metastore/store.js';
import { makeMeta, recordingLogger, tempDir } from './helpers.js';

const dirs: string[] = [];
const open: Metastore[] = [];
async function dir(): Promise<string> {
  const d = await tempDir();
  dirs.push(d);
  return d;
}
async function openIndex(d: string, logger = recordingLogger()): Promise<Metastore> {
  const idx = await Metastore.open(d, { logger });
  open.push(idx);
  return idx;
}
afterEach(async () => {
  for (const i of open.splice(0)) await i.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('BlockIndex', () => {
  it('replays added blocks after reopen, byte-for-byte equal', async () => {
    const d = await dir();
    const a = await openIndex(d);
    const metas = [makeMeta(), makeMeta({ shard: 2, level: 1, tenant: 'acme' }), makeMeta({ datasets: [['a', 's1'], ['b', 's2']] })];
    for (const m of metas) expect(await a.addBlock(m)).toBe(true);
    expect(a.size).toBe(3);
    await a.close();
    const b = await openIndex(d);
    expect(b.size).toBe(3);
    for (const m of metas) expect(equals(BlockMetaSchema, b.get(m.id)!, m)).toBe(true);
    expect(b.get('01ARZ3NDEKTSV4RRFFQ69G5FAV')).toBeUndefined();
  });

  it('addBlock is idempotent: a known id resolves false and writes nothing', async () => {
    const d = await dir();
    const idx = await openIndex(d);
    const m = makeMeta();
    expect(await idx.addBlock(m)).toBe(true);
    const size = (await stat(path.join(d, LOG_FILE))).size;
    expect(await idx.addBlock(clone(BlockMetaSchema, m))).toBe(false);
    expect((await stat(path.join(d, LOG_FILE))).size).toBe(size);
    await idx.close();
    open.length = 0;
    const again = await openIndex(d);
    expect(await again.addBlock(m)).toBe(false); // also after a restart
    expect(again.size).toBe(1);
  });

  it('concurrent registrations of one id write it once', async () => {
    const d = await dir();
    const idx = await openIndex(d);
    const m = makeMeta();
    const results = await Promise.all([idx.addBlock(m), idx.addBlock(m), idx.addBlock(m)]);
    expect(results.sort()).toEqual([false, false, true]);
    await idx.close();
    open.length = 0;
    const store = await FileMetastoreStore.open(d);
    const changes = await store.load();
    expect(changes).toHaveLength(1);
    await store.close();
  });

  it('keeps its own copy of the meta', async () => {
    const idx = await openIndex(await dir());
    const m = makeMeta();
    await idx.addBlock(m);
    m.shard = 99;
    expect(idx.get(m.id)!.shard).toBe(1);
  });

  it('does not show a block before it is durable', async () => {
    const idx = await openIndex(await dir());
    const m = makeMeta();
    const p = idx.addBlock(m);
    expect(idx.get(m.id)).toBeUndefined();
    await p;
    expect(idx.get(m.id)).toBeDefined();
  });

  it('group-commits 100 concurrent addBlocks into fewer fsyncs', async () => {
    const d = await dir();
    const store = await FileMetastoreStore.open(d, recordingLogger());
    const idx = await Metastore.openStore(store);
    open.push(idx);
    const metas = Array.from({ length: 100 }, () => makeMeta());
    const results = await Promise.all(metas.map((m) => idx.addBlock(m)));
    expect(results.every((r) => r)).toBe(true);
    const stats = store.recordLog!.stats;
    expect(stats.appends).toBe(100);
    expect(stats.fsyncs).toBeLessThan(100);
    expect(stats.fsyncs).toBeGreaterThan(0);
  });

  it('queries by shard, level, tenant and time overlap, sorted by id', async () => {
    const idx = await openIndex(await dir());
    // Ids made out of order to prove the result is sorted.
    const seg1 = makeMeta({ id: '01J00000000000000000000002', shard: 1, datasets: [['acme', 'api'], ['globex', 'web']], minTime: 100, maxTime: 200 });
    const seg2 = makeMeta({ id: '01J00000000000000000000001', shard: 2, datasets: [['globex', 'db']], minTime: 150, maxTime: 300 });
    const l1 = makeMeta({ id: '01J00000000000000000000003', shard: 1, level: 1, tenant: 'acme', datasets: [['acme', 'api']], minTime: 400, maxTime: 500 });
    for (const m of [seg1, l1, seg2]) await idx.addBlock(m);
    const ids = (q: Parameters<Metastore['query']>[0]): string[] => idx.query(q).map((m) => m.id);

    expect(ids({})).toEqual([seg2.id, seg1.id, l1.id]);
    expect(ids({ shard: 1 })).toEqual([seg1.id, l1.id]);
    expect(ids({ shard: 3 })).toEqual([]);
    expect(ids({ level: 0 })).toEqual([seg2.id, seg1.id]);
    expect(ids({ level: 1 })).toEqual([l1.id]);
    expect(ids({ tenant: 'acme' })).toEqual([seg1.id, l1.id]); // via a dataset, and via meta.tenant
    expect(ids({ tenant: 'globex' })).toEqual([seg2.id, seg1.id]);
    expect(ids({ tenant: 'initech' })).toEqual([]);
    expect(ids({ tenant: '' })).toEqual([seg2.id, seg1.id]); // multi-tenant segments
    expect(ids({ startMs: 201 })).toEqual([seg2.id, l1.id]);
    expect(ids({ endMs: 149 })).toEqual([seg1.id]);
    expect(ids({ startMs: 200, endMs: 200 })).toEqual([seg2.id, seg1.id]); // bounds are inclusive
    expect(ids({ startMs: 301, endMs: 399 })).toEqual([]);
    expect(ids({ tenant: 'acme', shard: 1, level: 0, startMs: 0, endMs: 1000 })).toEqual([seg1.id]);
    expect(() => idx.query({ startMs: Number.NaN })).toThrow(/startMs must be a finite number/);
  });

  it('refuses a second open of the same directory', async () => {
    const d = await dir();
    await openIndex(d);
    await expect(Metastore.open(d)).rejects.toThrow(StoreLockedError);
  });

  it('takes over the lock of a dead process but not of a live one', async () => {
    const d = await dir();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeFile(path.join(d, LOCK_FILE), `${dead}\n`);
    const idx = await openIndex(d);
    expect((await readFile(path.join(d, LOCK_FILE), 'utf8')).trim()).toBe(String(process.pid));
    await idx.close();
    open.length = 0;
    await writeFile(path.join(d, LOCK_FILE), `${process.ppid}\n`); // alive, and not us
    await expect(Metastore.open(d)).rejects.toThrow(new RegExp(`in use by process ${process.ppid}`));
  });

  it('refuses to start on a checksummed record of an unknown type', async () => {
    const d = await dir();
    const idx = await openIndex(d);
    await idx.addBlock(makeMeta());
    await idx.close();
    open.length = 0;
    const file = path.join(d, LOG_FILE);
    const before = await readFile(file);
    await writeFile(file, Buffer.concat([before, encodeFrame(new Uint8Array([0x7f, 1, 2]))]));
    await expect(Metastore.open(d)).rejects.toThrow(/unknown record type 127/);
    // Nothing was truncated, and the directory is usable again once the record is dealt with.
    expect((await stat(file)).size).toBe(before.length + 11);
    await writeFile(file, before);
    expect((await openIndex(d)).size).toBe(1);
  });
});

/** An in-memory store whose appends can be made to fail. */
class FakeStore implements MetastoreStore {
  changes: StateChange[] = [];
  failing = false;
  async load(): Promise<StateChange[]> {
    return [...this.changes];
  }
  async append(change: StateChange): Promise<void> {
    await new Promise((r) => setImmediate(r));
    if (this.failing) throw new StoreUnavailableError('fake store is down');
    this.changes.push(change);
  }
  async rewrite(snapshot: () => StateChange[]): Promise<void> {
    this.changes = snapshot();
  }
  get storedBytes(): number {
    return this.changes.length;
  }
  async close(): Promise<void> {}
}

describe('BlockIndex over another store', () => {
  it('replays from the store and does not record a block whose append failed', async () => {
    const store = new FakeStore();
    const first = await Metastore.openStore(store);
    const a = makeMeta();
    await first.addBlock(a);
    store.failing = true;
    const b = makeMeta();
    await expect(first.addBlock(b)).rejects.toThrow(StoreUnavailableError);
    expect(first.get(b.id)).toBeUndefined();
    // A retry goes to the store again (rather than being treated as a duplicate) and succeeds.
    store.failing = false;
    expect(await first.addBlock(b)).toBe(true);
    await first.close();
    await expect(first.addBlock(makeMeta())).rejects.toThrow(/metastore is closed/);
    const second = await Metastore.openStore(store);
    expect(second.query().map((m) => m.id)).toEqual([a.id, b.id]);
  });
});

describe('BlockIndex validation', () => {
  const bad: Array<[string, (m: BlockMeta) => void, RegExp]> = [
    ['short id', (m) => (m.id = '01J0000'), /not a 26-character upper-case ULID/],
    ['lower-case id', (m) => (m.id = m.id.toLowerCase()), /not a 26-character upper-case ULID/],
    ['id with I', (m) => (m.id = `01J0000000000000000000000I`), /ULID/],
    ['id over 128 bits', (m) => (m.id = '8ZZZZZZZZZZZZZZZZZZZZZZZZZ'), /ULID/],
    ['shard 0', (m) => (m.shard = 0), /shard must be >= 1, got 0/],
    ['tenant index out of range', (m) => (m.tenant = 50), /tenant string index 50 is out of range/],
    ['negative created_by', (m) => (m.createdBy = -1), /created_by string index -1/],
    ['dataset name out of range', (m) => (m.datasets[0]!.name = 99), /datasets\[0\]\.name string index 99/],
    ['label index out of range', (m) => (m.datasets[0]!.labels[2] = 77), /datasets\[0\]\.labels\[2\] string index 77/],
    ['label group too long', (m) => (m.datasets[0]!.labels[0] = 5), /announces 5 pairs/],
    ['min after max', (m) => ((m.minTime = 10n), (m.maxTime = 9n)), /min_time 10 is after max_time 9/],
    ['dataset min after max', (m) => (m.datasets[0]!.minTime = 5000n), /datasets\[0\]: min_time 5000/],
    ['string_table[0] not empty', (m) => (m.stringTable[0] = 'x'), /string_table\[0\] must be ""/],
  ];
  for (const [name, mutate, msg] of bad) {
    it(`rejects ${name} and writes nothing`, async () => {
      const d = await dir();
      const idx = await openIndex(d);
      const m = makeMeta();
      mutate(m);
      const err = await idx.addBlock(m).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidBlockMetaError);
      expect((err as Error).message).toMatch(msg);
      expect(idx.size).toBe(0);
      expect((await stat(path.join(d, LOG_FILE))).size).toBe(0);
    });
  }

  it('rejects a missing meta', async () => {
    const idx = await openIndex(await dir());
    await expect(idx.addBlock(undefined as unknown as BlockMeta)).rejects.toThrow(/block meta is missing/);
  });

  it('accepts an empty string table when every index is 0', async () => {
    const idx = await openIndex(await dir());
    const m = makeMeta({ datasets: [] });
    m.stringTable = [];
    m.createdBy = 0;
    expect(await idx.addBlock(m)).toBe(true);
    expect(idx.query({ tenant: '' }).map((b) => b.id)).toEqual([m.id]);
  });
});

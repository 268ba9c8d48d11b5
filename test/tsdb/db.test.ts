// TsdbStorage end to end: appends go to the head, head compaction cuts blocks, block compaction
// merges them, retention deletes them, reads merge everything, restarts reopen it all.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { writeBlock } from '../../src/tsdb/blocks/block-writer.js';
import { ENCODING_XOR } from '../../src/tsdb/blocks/chunk-files.js';
import { TsdbStorage, type TsdbStorageOptions } from '../../src/tsdb/db.js';
import type { Labels, SeriesSamples } from '../../src/tsdb/storage.js';
import { tempDir } from './blocks/helpers.js';

const H = 3_600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % (54 * H)); // aligned to every compaction range up to 54h
const OPTS = { outOfOrderWindowMs: 0, maxSeriesPerUser: 0 };
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function recordingLogger(): TsdbStorageOptions['logger'] & { lines: Array<[string, string, object]> } {
  const lines: Array<[string, string, object]> = [];
  return { lines, info: (o, m) => lines.push(['info', m, o]), warn: (o, m) => lines.push(['warn', m, o]) };
}

async function open(dir: string, extra: Partial<TsdbStorageOptions> = {}): Promise<TsdbStorage> {
  return TsdbStorage.open({ dir, logger: recordingLogger(), compactionIntervalMs: 0, registry: new Registry(), ...extra });
}

const labels = (i: number): Labels => [['__name__', 'm'], ['i', String(i).padStart(3, '0')], ['job', i % 2 ? 'odd' : 'even']];

/** `nSeries` series, one sample every `step` ms in [from, to), value = f(series, t); appended in batches of 40 timestamps. */
async function fill(s: TsdbStorage, tenant: string, nSeries: number, from: number, to: number, step = 15_000): Promise<Map<string, Array<[number, number]>>> {
  const want = new Map<string, Array<[number, number]>>();
  for (let t = from; t < to; t += step * 40) {
    const batch: SeriesSamples[] = [];
    for (let i = 0; i < nSeries; i++) {
      const ts: number[] = [];
      const vs: number[] = [];
      for (let k = t; k < Math.min(to, t + step * 40); k += step) {
        ts.push(k);
        vs.push(value(i, k));
      }
      batch.push({ labels: labels(i), timestamps: ts, values: vs });
      const key = JSON.stringify(labels(i));
      want.set(key, [...(want.get(key) ?? []), ...ts.map((x, j) => [x, vs[j]!] as [number, number])]);
    }
    const out = await s.append(tenant, batch, OPTS);
    expect(out.rejected).toEqual([]);
  }
  return want;
}
const value = (i: number, t: number): number => ((i * 7919 + t / 1000) % 1000) / 7;

async function readAll(s: TsdbStorage, tenant: string, from = T0 - 100 * H, to = T0 + 1000 * H): Promise<Map<string, Array<[number, number]>>> {
  const out = new Map<string, Array<[number, number]>>();
  for (const r of await s.querier(tenant).select([{ name: '__name__', type: '=', value: 'm' }], from, to)) {
    out.set(JSON.stringify(r.labels), Array.from(r.timestamps, (t, j) => [t, r.values[j]!] as [number, number]));
  }
  return out;
}

async function newDir(): Promise<string> {
  const d = await tempDir('kiln-tsdb-db-');
  dirs.push(d);
  return d;
}

describe('TsdbStorage', () => {
  it('compacts the head into blocks and reads back exactly what was appended, also after a restart', async () => {
    const dir = await newDir();
    let s = await open(dir);
    const want = await fill(s, 'acme', 20, T0, T0 + 9 * H);
    const db = await s.tenant('acme');
    const written = await db.compactHead();
    // Head spans 9h: blocks are cut while it spans more than 3h → [0,2h), [2h,4h), [4h,6h).
    expect(written.map((m) => [(m.minTime - T0) / H, (m.maxTime - T0) / H])).toEqual([
      [0, 2],
      [2, 4],
      [4, 6],
    ]);
    expect(written.every((m) => m.compaction.level === 1 && m.stats.numSeries === 20)).toBe(true);
    expect(db.head.minValidTime).toBe(T0 + 6 * H);
    expect(await readAll(s, 'acme')).toEqual(want);

    // A range query inside one block, across block and head, and label APIs.
    const part = await s.querier('acme').select([{ name: 'job', type: '=', value: 'odd' }], T0 + 5 * H, T0 + 7 * H - 1);
    expect(part).toHaveLength(10);
    expect(part[0]!.timestamps[0]).toBe(T0 + 5 * H);
    expect(part[0]!.timestamps.at(-1)).toBe(T0 + 7 * H - 15_000);
    expect(await s.querier('acme').labelNames([], T0, T0 + H)).toEqual(['__name__', 'i', 'job']);
    expect(await s.querier('acme').labelValues('job', [], T0, T0 + H)).toEqual(['even', 'odd']);
    expect(await s.querier('acme').labelValues('i', [{ name: 'job', type: '=', value: 'odd' }], T0, T0 + H)).toHaveLength(10);
    expect(await s.querier('nobody').select([], 0, Infinity)).toEqual([]);

    await s.close();
    s = await open(dir);
    expect(await readAll(s, 'acme')).toEqual(want);
    const more = await fill(s, 'acme', 20, T0 + 9 * H, T0 + 10 * H);
    for (const [k, v] of more) want.set(k, [...want.get(k)!, ...v]);
    expect(await readAll(s, 'acme')).toEqual(want);
    // After a restart, appends into a range a block covers are refused (too old).
    const old = await s.append('acme', [{ labels: labels(999), timestamps: [T0 + H], values: [1] }], OPTS);
    expect(old.rejected.map((r) => r.reason)).toEqual(['too_old']);
    await s.close();
  });

  it('merges blocks into larger ranges and records level, sources and parents', async () => {
    const dir = await newDir();
    const s = await open(dir);
    const want = await fill(s, 't', 5, T0, T0 + 21 * H, 60_000);
    const db = await s.tenant('t');
    expect((await db.compactHead()).length).toBe(9); // [0,18h) in 2h blocks
    const merged = await db.compactBlocks();
    // [0,6) [6,12) [12,18) first; the newest (16-18) stays out of the leveled plan until a newer block exists.
    const spans = db.blockMetas().map((m) => [(m.minTime - T0) / H, (m.maxTime - T0) / H, m.compaction.level]);
    expect(spans).toEqual([
      [0, 6, 2],
      [6, 12, 2],
      [12, 14, 1],
      [14, 16, 1],
      [16, 18, 1],
    ]);
    expect(merged[0]!.compaction.sources).toHaveLength(3);
    expect(merged[0]!.compaction.parents!.map((p) => (p.minTime - T0) / H)).toEqual([0, 2, 4]);
    expect((await readdir(dir + '/t')).filter((n) => n !== 'wal').sort()).toEqual(db.blockMetas().map((m) => m.ulid).sort());
    expect(await readAll(s, 't')).toEqual(want);
    await s.close();
  });

  it('deletes whole blocks beyond the retention period (injected clock)', async () => {
    const dir = await newDir();
    let now = T0 + 9 * H;
    const s = await open(dir, { retentionMs: 4 * H, clock: () => now });
    await fill(s, 't', 3, T0, T0 + 9 * H, 60_000);
    const db = await s.tenant('t');
    await db.compactHead();
    expect(db.blockMetas()).toHaveLength(3);
    // now − retention = T0 + 5h: [0,2h) and [2h,4h) are entirely older.
    now = T0 + 9 * H;
    expect((await db.applyRetention()).map((m) => (m.maxTime - T0) / H)).toEqual([2, 4]);
    expect(db.blockMetas().map((m) => (m.minTime - T0) / H)).toEqual([4]);
    const data = await readAll(s, 't');
    expect([...data.values()][0]![0]![0]).toBe(T0 + 4 * H);
    now = T0 + 10 * H;
    expect(await db.applyRetention()).toHaveLength(1);
    expect((await readdir(path.join(dir, 't'))).sort()).toEqual(['wal']);
    await s.close();
  });

  it('runs compaction and retention in the background loop and stops cleanly', async () => {
    const dir = await newDir();
    const s = await open(dir, { compactionIntervalMs: 20, clock: () => T0 + 7 * H });
    await fill(s, 't', 2, T0, T0 + 7 * H, 60_000);
    const db = await s.tenant('t');
    for (let i = 0; i < 200 && db.blockMetas().length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(db.blockMetas().length).toBe(2);
    await s.close();
  });

  it('skips a corrupt block at open, logs the file, and serves the rest', async () => {
    const dir = await newDir();
    let s = await open(dir);
    await fill(s, 't', 4, T0, T0 + 7 * H, 60_000);
    const [first, second] = await (await s.tenant('t')).compactHead();
    await s.close();
    const indexFile = path.join(dir, 't', first!.ulid, 'index');
    const b = await readFile(indexFile);
    b[b.length - 20] ^= 0xff;
    await writeFile(indexFile, b);
    const logger = recordingLogger();
    s = await open(dir, { logger });
    const data = await readAll(s, 't');
    expect([...data.values()][0]![0]![0]).toBe(T0 + 2 * H); // first block's range missing, the rest served
    expect((await s.tenant('t')).blockMetas().map((m) => m.ulid)).toEqual([second!.ulid]);
    const warn = logger.lines.find(([lvl, msg]) => lvl === 'warn' && msg.includes('corrupt'));
    expect(warn?.[2]).toMatchObject({ file: indexFile });
    await s.close();
  });

  it('skips a block whose chunk turns out corrupt during a query', async () => {
    const dir = await newDir();
    let s = await open(dir);
    const want = await fill(s, 't', 4, T0, T0 + 7 * H, 60_000);
    const [first] = await (await s.tenant('t')).compactHead();
    await s.close();
    const seg = path.join(dir, 't', first!.ulid, 'chunks', '000001');
    const b = await readFile(seg);
    b[40] ^= 0xff;
    await writeFile(seg, b);
    const logger = recordingLogger();
    s = await open(dir, { logger });
    const data = await readAll(s, 't');
    expect(data.size).toBe(4);
    expect([...data.values()][0]![0]![0]).toBe(T0 + 2 * H);
    expect(logger.lines.some(([lvl, , o]) => lvl === 'warn' && (o as { file?: string }).file === seg)).toBe(true);
    expect((await s.tenant('t')).blockMetas()).toHaveLength(1);
    expect(want.size).toBe(4);
    await s.close();
  });

  it('recovers from crashes between steps: temp dirs, replaced parents, head data already in a block', async () => {
    const dir = await newDir();
    let s = await open(dir);
    const want = await fill(s, 't', 3, T0, T0 + 7 * H, 60_000);
    const db = await s.tenant('t');
    // Crash after the head's block was written but before the head was truncated: write the
    // block by hand from the head and do not truncate.
    const chunks = [...db.head.seriesChunks(T0, T0 + 2 * H - 1)].map((x) => ({ labels: x.labels, chunks: x.chunks.map((c) => ({ encoding: ENCODING_XOR, data: c.bytes, minT: c.minT, maxT: c.maxT })) }));
    await writeBlock(chunks, { parentDir: path.join(dir, 't'), ulid: '01HZZZZZZZZZZZZZZZZZZZZZZA', minTime: T0, maxTime: T0 + 2 * H, level: 1 });
    await s.close();
    // And a crash in the middle of writing a block and of deleting one.
    await mkdir(path.join(dir, 't', '01HZZZZZZZZZZZZZZZZZZZZZZB.tmp-for-creation', 'chunks'), { recursive: true });
    await mkdir(path.join(dir, 't', '01HZZZZZZZZZZZZZZZZZZZZZZC.tmp-for-deletion'), { recursive: true });
    s = await open(dir);
    expect(await readAll(s, 't')).toEqual(want); // exactly once
    const db2 = await s.tenant('t');
    expect(db2.head.minValidTime).toBe(T0 + 2 * H);
    expect((await readdir(path.join(dir, 't'))).filter((n) => n.includes('tmp'))).toEqual([]);
    // Compacting the head now cuts [2h,4h) — not [0,2h) again.
    expect((await db2.compactHead()).map((m) => (m.minTime - T0) / H)).toEqual([2]);
    expect(await readAll(s, 't')).toEqual(want);
    await s.close();
  });

  it('keeps tenants apart', async () => {
    const dir = await newDir();
    const s = await open(dir);
    const a = await fill(s, 'a', 2, T0, T0 + H);
    await fill(s, 'b', 3, T0, T0 + H);
    expect(await readAll(s, 'a')).toEqual(a);
    expect((await readAll(s, 'b')).size).toBe(3);
    expect((await readdir(dir)).sort()).toEqual(['a', 'b']);
    await expect(s.append('../x', [], OPTS)).rejects.toThrow(/cannot name a directory/);
    await s.close();
  });
});

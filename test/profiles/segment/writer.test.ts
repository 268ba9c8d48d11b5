// SegmentWriter in process: registration order per shard, requests spanning
// shards stored all or nothing, a dying build worker answered with 503.

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultConfig } from '../../../src/config/config.js';
import type { BlockMeta } from '../../../src/gen/metastore/v1/types_pb.js';
import { FilesystemBucket } from '../../../src/objstore/filesystem.js';
import { BuildWorkerPool, InlineBuilds, type SegmentBuilds } from '../../../src/profiles/segment/build-pool.js';
import { type ProfileInput, SegmentWriter, nextBeat } from '../../../src/profiles/segment/writer.js';
import { readStoredProfiles } from '../../helpers/stored-profiles.js';
import { MALFORMED, labelsOf, pprof, profileId, validation } from './helpers.js';

const logger = pino({ level: 'silent' });
const builderOptions = { validation, instanceId: 'test' };

interface Harness {
  writer: SegmentWriter;
  dir: string;
  registered: BlockMeta[];
}
const writers: SegmentWriter[] = [];
afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.stop()));
});

function harness(opts: { segmentDuration?: number; buildThreads?: number; builds?: SegmentBuilds } = {}): Harness {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-writer-'));
  const registered: BlockMeta[] = [];
  const writer = new SegmentWriter(
    { ...defaultConfig().segmentWriter, segmentDuration: opts.segmentDuration ?? 20, buildThreads: opts.buildThreads ?? 0, validation },
    new FilesystemBucket(dir),
    { addBlock: async (meta) => void registered.push(meta) },
    logger,
    new Registry(),
    opts.builds,
  );
  writers.push(writer);
  return { writer, dir, registered };
}

const input = (shard: number, bytes: Uint8Array, service = `svc-${shard}`): ProfileInput => ({
  tenant: 'tenant-a',
  labels: labelsOf(service),
  profile: bytes,
  profileId: profileId(),
  shard,
  defaultTimeNanos: 0n,
});

const storedStacks = async (dir: string) => (await readStoredProfiles(dir)).profiles.map((p) => `${p.shard}/${p.labels.service_name}: ${[...p.stacks.keys()].join(',')}`).sort();

describe('SegmentWriter', () => {
  it('answers after registration, on the main thread with build-threads=0', async () => {
    const h = harness();
    const [outcome] = await h.writer.push([[input(1, pprof('a', 1))]]);
    expect(outcome!.status).toBe(0);
    expect(h.registered).toHaveLength(1);
    expect(await storedStacks(h.dir)).toEqual(['1/svc-1: a;main']);
  });

  it('answers the pushes of a large segment a batch per turn of the event loop, each with its own outcome', async () => {
    const h = harness({ segmentDuration: 200 });
    const n = 600;
    const answered: number[] = [];
    let answeredInFirstTurn = -1;
    const pushes = Array.from({ length: n }, (_, i) =>
      h.writer.pushRequest([input(1, i === 450 ? MALFORMED : pprof(`f${i}`, 1))]).then((o) => {
        // When the first answer arrives, look again once the event loop has turned.
        if (answered.length === 0) setImmediate(() => (answeredInFirstTurn = answered.length));
        answered.push(i);
        return o.status;
      }),
    );
    const statuses = await Promise.all(pushes);
    expect(statuses).toEqual(Array.from({ length: n }, (_, i) => (i === 450 ? 400 : 0)));
    expect(answered).toEqual(Array.from({ length: n }, (_, i) => i));
    // Not all at once (the next pushes are read in between), but most of a batch of 256.
    expect(answeredInFirstTurn).toBeGreaterThan(0);
    expect(answeredInFirstTurn).toBeLessThan(n);
    expect(h.registered).toHaveLength(1);
  });

  it('registers the segments of a shard in ULID order even when a later one is built first', async () => {
    // The first segment's build is held back until the second has been built and uploaded.
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((r) => (releaseFirst = r));
    const inline: SegmentBuilds = new InlineBuilds(builderOptions);
    let started = 0;
    const builds: SegmentBuilds = {
      start(id, shard, onFailure) {
        const b = inline.start(id, shard, onFailure);
        const held = started++ === 0;
        return { add: (p) => b.add(p), finish: async () => (held && (await firstHeld), b.finish()) };
      },
      close: async () => undefined,
    };
    const h = harness({ builds });
    const first = h.writer.push([[input(1, pprof('first', 1))]]);
    await new Promise((r) => setTimeout(r, 40)); // the first segment closes (segment duration 20 ms)
    const second = h.writer.push([[input(1, pprof('second', 1))]]);
    await new Promise((r) => setTimeout(r, 100)); // the second closes, builds and uploads
    const registeredWhileHeld = [...h.registered];
    releaseFirst();
    expect(registeredWhileHeld).toEqual([]);
    expect((await Promise.all([first, second])).map(([o]) => o!.status)).toEqual([0, 0]);
    const ids = h.registered.map((m) => m.id);
    expect(ids).toHaveLength(2);
    expect(ids).toEqual([...ids].sort());
    expect((await readStoredProfiles(h.dir)).profiles.map((p) => [p.block, [...p.stacks.keys()][0]])).toEqual([[ids[0], 'first;main'], [ids[1], 'second;main']]);
  });

  it('closes segments on a ticker per shard, not a segment duration after their first push', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      // A writer whose segments count their closes.
      let closed = 0;
      const inline = new InlineBuilds(builderOptions);
      const builds: SegmentBuilds = {
        start(id, shard) {
          const b = inline.start(id, shard);
          return { add: (p) => b.add(p), finish: () => (closed++, b.finish()) };
        },
        close: async () => undefined,
      };
      const h = harness({ builds, segmentDuration: 1000 });
      const a = h.writer.push([[input(1, pprof('a', 1))]]); // t=0 starts shard 1's ticker
      vi.advanceTimersByTime(999);
      expect(closed).toBe(0);
      vi.advanceTimersByTime(1);
      expect(closed).toBe(1);
      expect((await a)[0]!.status).toBe(0);

      vi.advanceTimersByTime(600);
      const b = h.writer.push([[input(1, pprof('b', 1))]]); // t=1600: closes at the beat, t=2000, not at t=2600
      vi.advanceTimersByTime(399);
      expect(closed).toBe(1);
      vi.advanceTimersByTime(1);
      expect(closed).toBe(2);
      expect((await b)[0]!.status).toBe(0);

      // One idle beat (t=3000) keeps the ticker: the pushes answered by a flush come back after it.
      vi.advanceTimersByTime(1000);
      expect(vi.getTimerCount()).toBe(1);
      // Two idle beats in a row stop it; the next push starts a new one.
      vi.advanceTimersByTime(1000);
      expect(vi.getTimerCount()).toBe(0);
      const c = h.writer.push([[input(1, pprof('c', 1))]]);
      vi.advanceTimersByTime(1000);
      expect(closed).toBe(3);
      expect((await c)[0]!.status).toBe(0);
      expect(await storedStacks(h.dir)).toEqual(['1/svc-1: a;main', '1/svc-1: b;main', '1/svc-1: c;main']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps its beats on a grid: a beat that runs late does not delay the next, and missed beats are skipped', () => {
    // Beats every 500 from t=100: due at 600, 1100, 1600, ...
    expect(nextBeat(100, 0, 100, 500)).toBe(1);
    expect(nextBeat(100, 1, 600, 500)).toBe(2); // on time
    expect(nextBeat(100, 1, 900, 500)).toBe(2); // 300 late: the next is still due at 1100
    expect(nextBeat(100, 1, 1100, 500)).toBe(3); // a whole duration late: beat 2 (due now) is skipped
    expect(nextBeat(100, 1, 2350, 500)).toBe(5); // beats 2–4 missed; 5 is due at 2600
    expect(nextBeat(100, 3, 1595, 500)).toBe(4); // a timer that fires early does not beat twice
  });

  it('stores a request spanning shards in every shard, or in none when one profile is bad', async () => {
    const h = harness();
    const [bad, good] = await h.writer.push([
      [input(1, pprof('a', 1)), input(2, MALFORMED)],
      [input(1, pprof('b', 1)), input(2, pprof('c', 1))],
    ]);
    expect(bad).toMatchObject({ status: 400, reason: 'malformed_profile' });
    expect(good!.status).toBe(0);
    expect(await storedStacks(h.dir)).toEqual(['1/svc-1: b;main', '2/svc-2: c;main']);
  });

  it('writes no object for a segment whose requests were all rejected', async () => {
    const h = harness();
    const [outcome] = await h.writer.push([[input(1, MALFORMED)]]);
    expect(outcome!.status).toBe(400);
    expect(h.registered).toEqual([]);
    expect(await new FilesystemBucket(h.dir).list('segments/')).toEqual([]);
  });

  it('answers 503 for the pushes of a build worker that dies, and stores the next ones', async () => {
    const pool = new BuildWorkerPool(1, builderOptions, logger);
    const h = harness({ builds: pool, segmentDuration: 5_000 });
    const pending = h.writer.push([[input(1, pprof('lost', 1))]]);
    await pool.workersForTest()[0]!.terminate();
    const [lost] = await pending;
    expect(lost).toMatchObject({ status: 503, reason: 'segment_flush_failed', message: expect.stringMatching(/segment build worker exited/) });

    // The failed segment was closed at once: the next push opens a new one on a new worker.
    const next = h.writer.push([[input(1, pprof('kept', 1))]]);
    await h.writer.stop(); // flushes without waiting the 5 s segment duration
    expect((await next)[0]!.status).toBe(0);
    expect(await storedStacks(h.dir)).toEqual(['1/svc-1: kept;main']);
  });
});

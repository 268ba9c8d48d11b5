// The build pool on real worker threads: same blocks as building on the main
// thread (also when a segment is spread over several workers and merged), and
// a worker that dies fails its segments and is replaced.

import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BuildWorkerPool, InlineBuilds, type SegmentBuilds } from '../../../src/profiles/segment/build-pool.js';
import { ROW_GROUP_SIZE } from '../../../src/profiles/block/profiles.js';
import { packBatch, unpackBatch } from '../../../src/profiles/segment/build-protocol.js';
import type { RequestPart } from '../../../src/profiles/segment/segment-builder.js';
import { FilesystemBucket } from '../../../src/objstore/filesystem.js';
import { segmentPath } from '../../../src/profiles/block/paths.js';
import { readProfilesOf } from '../../helpers/stored-profiles.js';
import { tempDir } from '../../helpers/kiln-process.js';
import { MALFORMED, part, pprof, validation } from './helpers.js';

const goCpu = readFileSync(path.resolve(import.meta.dirname, '../../../testdata/profiles/go-cpu.pb.gz'));

const opts = { validation, instanceId: 'test' };
const logger = pino({ level: 'silent' });
const pools: BuildWorkerPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});
const pool = (threads: number, options = opts) => {
  const p = new BuildWorkerPool(threads, options, logger);
  pools.push(p);
  return p;
};

const parts: RequestPart[] = [
  part([{ bytes: pprof('a', 1) }, { service: 'web', bytes: pprof('b', 2) }]),
  part([{ bytes: MALFORMED }]),
  part([{ bytes: pprof('c', 3) }], 'tenant-b'),
];

async function build(builds: SegmentBuilds, id: string, input: RequestPart[]) {
  const b = builds.start(id, 2, (e) => {
    throw e;
  });
  for (const p of input) b.add(p);
  return b.finish();
}

describe('packBatch / unpackBatch', () => {
  it('carries every part and profile through a structured clone; each label set once, shared by its profiles', () => {
    const web = [['service_name', 'web']] as const;
    const api = [['env', 'a\u0000b'], ['service_name', 'api']] as const;
    const input: RequestPart[] = [
      { tenant: 't1', receivedAtMs: 5, profiles: [
        { labels: web, bytes: Uint8Array.of(1, 2, 3), profileId: Uint8Array.of(9), defaultTimeNanos: 7n },
        { labels: api, bytes: Uint8Array.of(4), profileId: Uint8Array.of(8, 8), defaultTimeNanos: 8n },
      ] },
      { tenant: 't2', receivedAtMs: 6, profiles: [{ labels: web, bytes: new Uint8Array(0), profileId: Uint8Array.of(7), defaultTimeNanos: -1n }] },
    ];
    const batch = packBatch(input);
    expect(batch.labelSets).toHaveLength(2);
    const out = unpackBatch(structuredClone(batch, { transfer: [batch.buffer] }));
    const plain = (parts: RequestPart[]) => parts.map((p) => ({ ...p, profiles: p.profiles.map((e) => ({ ...e, bytes: [...e.bytes], profileId: [...e.profileId] })) }));
    expect(plain(out)).toEqual(plain(input));
    expect(out[1]!.profiles[0]!.labels).toBe(out[0]!.profiles[0]!.labels);
    expect(out[0]!.profiles[1]!.labels).not.toBe(out[0]!.profiles[0]!.labels);
  });
});

describe('BuildWorkerPool', () => {
  it('builds byte-identical blocks to the main thread, with the same outcomes', async () => {
    const id = '01JCQ7Z8W5X3Y4V6T2S1R0P9NM';
    const inline = await build(new InlineBuilds(opts), id, parts);
    const threaded = await build(pool(2), id, parts);
    expect(threaded.outcomes).toEqual(inline.outcomes);
    expect(threaded.outcomes.map((o) => o.status)).toEqual([0, 400, 0]);
    expect(threaded.acceptedProfiles).toEqual(inline.acceptedProfiles);
    expect(threaded.rejectedRequests).toEqual(inline.rejectedRequests);
    expect(Buffer.from(threaded.block!.bytes).equals(Buffer.from(inline.block!.bytes))).toBe(true);
    expect(threaded.block!.meta).toEqual(inline.block!.meta);
  });

  it('has another worker encode some row groups of each large dataset: the same bytes as the main thread', async () => {
    // Two services of 11,000 one-row profiles: two datasets of two row groups
    // each, the second of each encoded by the other worker, one after the other.
    const many = Array.from({ length: 22_000 }, (_, i) => part([{ service: i % 2 ? 'web' : 'api', bytes: pprof(`f${i % 50}`, i + 1) }]));
    const id = '01JCQ7Z8W5X3Y4V6T2S1R0P9NM';
    const inline = await build(new InlineBuilds(opts), id, many);
    const p = pool(2);
    const encodedApart: number[] = [];
    for (const w of p.workersForTest()) {
      w.on('message', (m: { type: string; result?: { groups: { rows: number }[] } }) => {
        if (m.type === 'rows-encoded') encodedApart.push(...m.result!.groups.map((g) => g.rows));
      });
    }
    const threaded = await build(p, id, many);
    expect(encodedApart).toEqual([11_000 - ROW_GROUP_SIZE, 11_000 - ROW_GROUP_SIZE]);
    expect(threaded.outcomes).toEqual(inline.outcomes);
    expect(Buffer.from(threaded.block!.bytes).equals(Buffer.from(inline.block!.bytes))).toBe(true);
    expect(threaded.block!.meta).toEqual(inline.block!.meta);
  });

  it('spreads a segment over every worker and merges it into the same profiles, outcomes in order', async () => {
    // Parts added more than a batch window apart go to the workers in turn.
    const spread: RequestPart[] = [
      part([{ bytes: goCpu }, { service: 'web', bytes: pprof('shared', 1) }]),
      part([{ bytes: goCpu }, { bytes: pprof('only-b', 2) }]),
      part([{ bytes: MALFORMED }]),
      part([{ service: 'web', bytes: pprof('shared', 3) }], 'tenant-b'),
      part([{ bytes: goCpu }, { service: 'web', bytes: pprof('shared', 4) }]),
      part([{ bytes: pprof('x', 1) }, { bytes: MALFORMED }]),
    ];
    const id = '01JCQ7Z8W5X3Y4V6T2S1R0P9NM';
    // The testdata profile is newer than the parts' receive time.
    const anyTime = { ...opts, validation: { ...validation, rejectNewerThan: 0 } };
    const inline = await build(new InlineBuilds(anyTime), id, spread);
    const b = pool(2, anyTime).start(id, 2, (e) => {
      throw e;
    });
    for (const p of spread) {
      b.add(p);
      await new Promise((r) => setTimeout(r, 30));
    }
    const threaded = await b.finish();
    expect(threaded.outcomes.map((o) => o.status), JSON.stringify(threaded.outcomes)).toEqual([0, 0, 400, 0, 0, 400]);
    expect(threaded.outcomes).toEqual(inline.outcomes);
    expect(new Map(threaded.acceptedProfiles)).toEqual(new Map(inline.acceptedProfiles));
    expect(new Map(threaded.rejectedRequests)).toEqual(new Map(inline.rejectedRequests));
    expect(threaded.block!.meta.datasets.map((d) => d.name).sort()).toEqual(inline.block!.meta.datasets.map((d) => d.name).sort());

    const dir = tempDir();
    try {
      const bucket = new FilesystemBucket(dir);
      await bucket.put(segmentPath(1, id), inline.block!.bytes);
      await bucket.put(segmentPath(2, id), threaded.block!.bytes);
      await bucket.close();
      const read = async (shard: number) =>
        (await readProfilesOf(dir, [segmentPath(shard, id)])).profiles
          .map((p) => ({ ...p, shard: 0, stacks: [...p.stacks].sort() }))
          .sort((x, y) => (x.profileId + x.labels.__profile_type__ < y.profileId + y.labels.__profile_type__ ? -1 : 1));
      const [want, got] = [await read(1), await read(2)];
      expect(want.length).toBe(22); // the Go profile has two sample types and several label sets
      expect(got).toEqual(want);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sends each batch to the worker with the least still to add', async () => {
    const large = readFileSync(path.resolve(import.meta.dirname, '../../../testdata/profiles/synthetic-large.pb.gz'));
    const p = pool(2, { ...opts, validation: { ...validation, maxProfileSizeBytes: 64 << 20, maxProfileStacktraceSamples: 0, rejectNewerThan: 0 } });
    /** Small batches each worker has added (it reports every batch it is done with). */
    const small = [0, 0];
    p.workersForTest().forEach((w, i) =>
      w.on('message', (m: { type: string; bytes: number }) => {
        if (m.type === 'progress' && m.bytes < large.length) small[i]!++;
      }),
    );
    const b = p.start('01JCQ7Z8W5X3Y4V6T2S1R0P9N0', 1, (e) => {
      throw e;
    });
    // Over a batch's size, so posted at once, to the first worker: three 6.7 MiB profiles keep it busy for a few hundred ms.
    b.add(part([{ bytes: large }, { bytes: large }, { bytes: large }]));
    // Each more than a batch window after the last, so each is a batch of its own; in turn, two would have gone to the busy worker.
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 15));
      b.add(part([{ bytes: pprof(`small${i}`, i + 1) }]));
    }
    const built = await b.finish();
    expect(built.outcomes.map((o) => o.message)).toEqual(['', '', '', '', '']);
    expect(small).toEqual([0, 4]);
  });

  it('builds several segments at once on different workers', async () => {
    const p = pool(2);
    const ids = ['01JCQ7Z8W5X3Y4V6T2S1R0P9N0', '01JCQ7Z8W5X3Y4V6T2S1R0P9N1', '01JCQ7Z8W5X3Y4V6T2S1R0P9N2'];
    const built = await Promise.all(ids.map((id) => build(p, id, parts)));
    expect(built.map((b) => b.block!.meta.id)).toEqual(ids);
  });

  it('fails a spread segment when one of its workers dies', async () => {
    const p = pool(2);
    const failures: Error[] = [];
    const doomed = p.start('01JCQ7Z8W5X3Y4V6T2S1R0P9N0', 1, (e) => failures.push(e));
    doomed.add(parts[0]!);
    await p.workersForTest()[1]!.terminate();
    expect(failures).toHaveLength(1);
    await expect(doomed.finish()).rejects.toThrow(/segment build worker exited/);
    const next = await build(p, '01JCQ7Z8W5X3Y4V6T2S1R0P9N1', parts);
    expect(next.outcomes.map((o) => o.status)).toEqual([0, 400, 0]);
    expect(p.workersForTest()).toHaveLength(2);
  });

  it('fails a segment when the worker encoding some of its row groups dies, and builds the next one', async () => {
    const p = pool(2);
    const [primary, helper] = p.workersForTest();
    let stopped: Promise<number> | undefined;
    primary!.on('message', (m: { type: string }) => {
      if (m.type === 'offload') stopped ??= helper!.terminate();
    });
    const many = Array.from({ length: 12_000 }, (_, i) => part([{ bytes: pprof(`f${i % 50}`, i + 1) }]));
    await expect(build(p, '01JCQ7Z8W5X3Y4V6T2S1R0P9N0', many)).rejects.toThrow(/worker exited/);
    expect(stopped).toBeDefined();
    const next = await build(p, '01JCQ7Z8W5X3Y4V6T2S1R0P9N1', parts);
    expect(next.outcomes.map((o) => o.status)).toEqual([0, 400, 0]);
  });

  it('fails the segments of a worker that dies, and replaces the worker', async () => {
    const p = pool(1);
    const failures: Error[] = [];
    const doomed = p.start('01JCQ7Z8W5X3Y4V6T2S1R0P9N0', 1, (e) => failures.push(e));
    doomed.add(parts[0]!);
    // A real exit of the real thread: the fault a bug or an out-of-memory kill would cause.
    await p.workersForTest()[0]!.terminate();
    expect(failures).toHaveLength(1);
    expect(failures[0]!.message).toMatch(/segment build worker exited/);
    await expect(doomed.finish()).rejects.toThrow(/segment build worker exited/);
    expect(p.workersForTest()).toHaveLength(0);

    const next = await build(p, '01JCQ7Z8W5X3Y4V6T2S1R0P9N1', parts);
    expect(next.outcomes.map((o) => o.status)).toEqual([0, 400, 0]);
    expect(p.workersForTest()).toHaveLength(1);
  });
});

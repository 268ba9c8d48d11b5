// The build pool on real worker threads: same blocks as building on the main
// thread, and a worker that dies fails only its segments and is replaced.

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BuildWorkerPool, InlineBuilds, type SegmentBuilds } from '../../../src/profiles/segment/build-pool.js';
import type { RequestPart } from '../../../src/profiles/segment/segment-builder.js';
import { MALFORMED, part, pprof, validation } from './helpers.js';

const opts = { validation, instanceId: 'test' };
const logger = pino({ level: 'silent' });
const pools: BuildWorkerPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});
const pool = (threads: number) => {
  const p = new BuildWorkerPool(threads, opts, logger);
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

  it('builds several segments at once on different workers', async () => {
    const p = pool(2);
    const ids = ['01JCQ7Z8W5X3Y4V6T2S1R0P9N0', '01JCQ7Z8W5X3Y4V6T2S1R0P9N1', '01JCQ7Z8W5X3Y4V6T2S1R0P9N2'];
    const built = await Promise.all(ids.map((id) => build(p, id, parts)));
    expect(built.map((b) => b.block!.meta.id)).toEqual(ids);
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

// SegmentBuilder: request parts in, one block out; every part all or nothing.

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FilesystemBucket } from '../../../src/objstore/filesystem.js';
import { segmentPath } from '../../../src/profiles/block/paths.js';
import { type BuiltSegment, SegmentBuilder, inflateAhead } from '../../../src/profiles/segment/segment-builder.js';
import { readProfilesOf } from '../../helpers/stored-profiles.js';
import { MALFORMED, NOW_MS, part, pprof, validation } from './helpers.js';

const ID = '01JCQ7Z8W5X3Y4V6T2S1R0P9NM';

/** The profiles in a built block: service → function name of the leaf → value. */
async function storedOf(built: BuiltSegment, shard = 1) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-builder-'));
  const bucket = new FilesystemBucket(dir);
  const key = segmentPath(shard, ID);
  await bucket.put(key, built.block!.bytes);
  await bucket.close();
  const { profiles } = await readProfilesOf(dir, [key]);
  return profiles.map((p) => `${p.tenant}/${p.labels.service_name}: ${[...p.stacks].map(([s, v]) => `${s}=${v}`).join(',')}`).sort();
}

describe('SegmentBuilder', () => {
  it('stores the accepted parts and nothing of a part with one bad profile', async () => {
    const b = new SegmentBuilder({ validation, instanceId: 'test' }, ID, 1);
    await b.add(part([{ bytes: pprof('a', 1) }, { service: 'web', bytes: pprof('b', 2) }]));
    await b.add(part([{ bytes: pprof('c', 3) }, { bytes: MALFORMED }]));
    await b.add(part([{ bytes: pprof('d', 4) }], 'tenant-b'));
    const built = await b.finish();

    expect(built.outcomes.map((o) => o.status)).toEqual([0, 400, 0]);
    expect(built.outcomes[1]!.reason).toBe('malformed_profile');
    expect(built.acceptedProfiles).toEqual([['tenant-a', 2], ['tenant-b', 1]]);
    expect(built.rejectedRequests).toEqual([['malformed_profile', 1]]);
    expect(built.block!.meta).toMatchObject({ id: ID, shard: 1, compactionLevel: 0 });
    expect(await storedOf(built)).toEqual(['tenant-a/api: a;main=1', 'tenant-a/web: b;main=2', 'tenant-b/api: d;main=4']);
  });

  it('writes no block when every part is rejected', async () => {
    const b = new SegmentBuilder({ validation, instanceId: 'test' }, ID, 1);
    await b.add(part([{ bytes: MALFORMED }]));
    const built = await b.finish();
    expect(built.block).toBeNull();
    expect(built.outcomes).toEqual([expect.objectContaining({ status: 400, reason: 'malformed_profile' })]);
  });

  it('checks the ingestion window against the time the push was received, not the build time', async () => {
    const b = new SegmentBuilder({ validation: { ...validation, rejectOlderThan: 60_000 }, instanceId: 'test' }, ID, 1);
    // Fresh when received (NOW_MS, years ago) although ancient by the clock of this test.
    await b.add(part([{ bytes: pprof('fresh', 1, NOW_MS - 30_000) }]));
    await b.add(part([{ bytes: pprof('stale', 1, NOW_MS - 120_000) }]));
    const built = await b.finish();
    expect(built.outcomes.map((o) => o.status)).toEqual([0, 400]);
    expect(built.outcomes[1]!.message).toContain('err-kiln-profile-too-old');
  });

  it('answers 413 with the size-limit message for a profile over the limit', async () => {
    const b = new SegmentBuilder({ validation: { ...validation, maxProfileSizeBytes: 10 }, instanceId: 'test' }, ID, 1);
    await b.add(part([{ bytes: pprof('big', 1) }]));
    const [outcome] = (await b.finish()).outcomes;
    expect(outcome).toEqual({ status: 413, reason: 'profile_size_limit', message: expect.stringContaining('exceeds the size limit (max_profile_size_byte, limit: 10) (err-kiln-profile-size-limit)') });
  });

  describe('gzipped profiles (clients send them so; the builder gunzips)', () => {
    const outcomeOf = async (bytes: Uint8Array, maxProfileSizeBytes = validation.maxProfileSizeBytes) => {
      const b = new SegmentBuilder({ validation: { ...validation, maxProfileSizeBytes }, instanceId: 'test' }, ID, 1);
      await b.add(part([{ bytes }]));
      const built = await b.finish();
      return { outcome: built.outcomes[0]!, built };
    };

    it('stores a gzipped profile like the plain one', async () => {
      const { outcome, built } = await outcomeOf(new Uint8Array(gzipSync(pprof('zipped', 7))));
      expect(outcome.status).toBe(0);
      expect(await storedOf(built)).toEqual(['tenant-a/api: zipped;main=7']);
    });

    it('answers 413 naming the limit for a gzip bomb, without inflating it whole', async () => {
      const bomb = new Uint8Array(gzipSync(Buffer.alloc(64 << 20)));
      const { outcome } = await outcomeOf(bomb, 1 << 20);
      expect(outcome).toEqual({
        status: 413,
        reason: 'profile_size_limit',
        message: expect.stringContaining('exceeds the size limit (max_profile_size_byte, limit: 1048576) after decompression (err-kiln-profile-size-limit)'),
      });
    });

    it('answers 400 for corrupt gzip', async () => {
      const gz = new Uint8Array(gzipSync(pprof('x', 1)));
      const { outcome } = await outcomeOf(gz.subarray(0, gz.length - 9));
      expect(outcome).toMatchObject({ status: 400, reason: 'malformed_profile' });
      expect(outcome.message).toMatch(/^malformed profile: invalid gzip data: /);
    });

    it('rejects concatenated gzip members: the size the distributor admitted is the last member\'s', async () => {
      const whole = pprof('cat', 1);
      const half = whole.length >> 1;
      const joined = Buffer.concat([gzipSync(whole.subarray(0, half)), gzipSync(whole.subarray(half))]);
      const { outcome } = await outcomeOf(new Uint8Array(joined));
      expect(outcome.status).toBe(400);
      expect(outcome.message).toBe(`malformed profile: the gzip trailer declares ${whole.length - half} bytes but the data inflates to ${whole.length} (concatenated gzip members are not accepted)`);
    });

    it('inflates large gzipped profiles ahead of their turn, with the same outcomes', async () => {
      // A function name of random text: gzip cannot shrink it below the synchronous-inflate size.
      const name = randomBytes(96 * 1024).toString('base64');
      const big = new Uint8Array(gzipSync(pprof(name, 5)));
      expect(big.length).toBeGreaterThan(64 * 1024);
      const corrupt = big.slice();
      corrupt.fill(0, 20, 4000);
      const b = new SegmentBuilder({ validation: { ...validation, maxProfileSizeBytes: 4 << 20, maxProfileSymbolValueLength: 0 }, instanceId: 'test' }, ID, 1);
      const good = part([{ bytes: big }]);
      const bad = part([{ bytes: corrupt }]);
      // A part that never gets its turn (its segment failed elsewhere) must not leave an unhandled rejection.
      const abandoned = part([{ bytes: corrupt }]);
      for (const p of [good, bad, abandoned]) inflateAhead(p, validation);
      expect(good.profiles[0]!.inflating).toBeInstanceOf(Promise);
      await b.add(good);
      await b.add(bad);
      const built = await b.finish();
      expect(built.outcomes[0]!.status).toBe(0);
      expect(built.outcomes[1]).toMatchObject({ status: 400, reason: 'malformed_profile' });
      expect(await storedOf(built)).toEqual([`tenant-a/api: ${name};main=5`]);
    });
  });
});

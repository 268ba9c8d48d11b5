// Every real profile in testdata/profiles decodes to the same samples as the
// reference decoder, and survives an encode/decode round trip.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Profile } from 'pprof-format';
import { decodePprof } from '../../../src/profiles/pprof/decode.js';
import { encodePprof } from '../../../src/profiles/pprof/encode.js';
import { gunzipBounded, isGzip } from '../../../src/profiles/pprof/gzip.js';
import { expectSameAsReference, expectSameColumns, expectSameSeq, referenceStacks, signed, stacksOf } from './reference.js';

const dir = fileURLToPath(new URL('../../../testdata/profiles/', import.meta.url));
const files = (() => {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.pb.gz') || f.endsWith('.pprof') || f.endsWith('.pb'))
      .sort();
  } catch {
    return [];
  }
})();

/** A testdata profile, gunzipped when it is gzip. */
async function readProfile(file: string): Promise<Uint8Array> {
  const bytes = readFileSync(join(dir, file));
  return isGzip(bytes) ? gunzipBounded(bytes, 256 << 20) : bytes;
}

describe('real profiles in testdata/profiles', () => {
  it('has profiles to check', () => {
    expect(files.length, `no *.pb.gz / *.pprof files in ${dir}`).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(`${file}: same samples, stacks and columns as pprof-format`, async () => {
      const raw = await readProfile(file);
      const p = decodePprof(raw);
      const ref = Profile.decode(raw);
      const nTypes = ref.sampleType.length;
      expect(p.sampleValues.length).toBe(ref.sample.length * nTypes);
      expectSameSeq('values', p.sampleValues, ref.sample.flatMap((s) => s.value.map(signed)));
      expectSameSeq('stacks', stacksOf(p).map((s) => s.join(';')), referenceStacks(ref).map((s) => s.join(';')));
      expectSameAsReference(p, ref);
    });

    it(`${file}: encodePprof round trip`, async () => {
      const raw = await readProfile(file);
      const p = decodePprof(raw);
      const again = encodePprof(p);
      expectSameColumns(decodePprof(again), p);
      expectSameAsReference(p, Profile.decode(again));
    });
  }
});

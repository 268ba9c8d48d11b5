import { describe, expect, it } from 'vitest';
import { Profile } from 'pprof-format';
import { decodePprof } from '../../../src/profiles/pprof/decode.js';
import { buildProfile, encodePprof } from '../../../src/profiles/pprof/encode.js';
import { expectSameAsReference, expectSameColumns, richProfile, signed, stacksOf } from './reference.js';

describe('encodePprof', () => {
  it('round-trips a rich profile column by column, keeping the original ids', () => {
    const p = decodePprof(richProfile().encode());
    const buf = encodePprof(p);
    const back = decodePprof(buf);
    expectSameColumns(back, p);
    expect(Array.from(back.locationId)).toEqual([7, 1000, 3, 2 ** 40, 5]);
    expect(Array.from(back.functionId)).toEqual([7, 1000, 3, 2 ** 40]);
    expect(Array.from(back.mappingId)).toEqual([1000, 3]);
    // The reference decoder reads the same thing from our bytes.
    expectSameAsReference(p, Profile.decode(buf));
  });

  it('writes varint boundary values and negatives exactly', () => {
    const values = [0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, -1, -128, -(2 ** 31), -(2 ** 53 - 1)];
    const p = buildProfile({
      sampleTypes: [['v', 'count']],
      samples: values.map((v) => ({ stack: ['f'], values: [v] })),
    });
    const buf = encodePprof(p);
    expect(Array.from(decodePprof(buf).sampleValues)).toEqual(values);
    expect(Profile.decode(buf).sample.map((s) => signed(s.value[0]))).toEqual(values);
  });

  it('handles strings and sub-messages longer than one length byte allows', () => {
    const long = 'x'.repeat(200);
    const huge = 'é'.repeat(20000); // 40000 bytes: a 3-byte length prefix
    const labels: Record<string, string> = {};
    for (let i = 0; i < 40; i++) labels[`key${i}`] = `value${i}`;
    const stack = Array.from({ length: 300 }, (_, i) => `fn${i}`);
    const p = buildProfile({
      sampleTypes: [['cpu', 'nanoseconds']],
      samples: [
        { stack: [long, huge], values: [1], labels },
        { stack, values: [2] },
      ],
    });
    const buf = encodePprof(p);
    const back = decodePprof(buf);
    expectSameColumns(back, p);
    expect(stacksOf(back)).toEqual([[long, huge], stack]);
    expectSameAsReference(back, Profile.decode(buf));
  });

  it('uses index + 1 when the original ids are zero or repeated', () => {
    const p = buildProfile({ sampleTypes: [['s', 'count']], samples: [{ stack: ['a', 'b'], values: [1] }] });
    p.functionId = new Float64Array([5, 5]);
    p.locationId = new Float64Array([0, 9]);
    const back = decodePprof(encodePprof(p));
    expect(Array.from(back.functionId)).toEqual([1, 2]);
    expect(Array.from(back.locationId)).toEqual([1, 2]);
    expect(stacksOf(back)).toEqual([['a', 'b']]);
  });

  it('writes numeric labels, mappings and period fields', () => {
    const p = decodePprof(richProfile().encode());
    const ref = Profile.decode(encodePprof(p));
    expect(ref.stringTable.strings[Number(ref.periodType?.type)]).toBe('space');
    expect(ref.period).toBe(524288);
    expect(BigInt(ref.timeNanos)).toBe(1700000000123456789n);
    expect(ref.mapping.map((m) => [Number(m.id), m.hasFunctions, m.hasInlineFrames, m.hasFilenames])).toEqual([
      [1000, true, true, false],
      [3, false, false, true],
    ]);
    expect(ref.sample[0].label.map((l) => signed(l.num))).toEqual([0, 4096, -3]);
  });

  it('rejects inconsistent columns with a RangeError naming the problem', () => {
    const base = (): ReturnType<typeof buildProfile> =>
      buildProfile({ sampleTypes: [['s', 'count']], samples: [{ stack: ['a'], values: [1] }] });
    const frac = base();
    frac.sampleValues[0] = 1.5;
    expect(() => encodePprof(frac)).toThrow(/value of sample 0 must be an integer, got 1.5/);
    const badStr = base();
    badStr.functionName[0] = 99;
    expect(() => encodePprof(badStr)).toThrow(/string index in function name 99 out of range \(4 entries\)/);
    const badLoc = base();
    badLoc.sampleLocations[0] = 7;
    expect(() => encodePprof(badLoc)).toThrow(RangeError);
    const noEmpty = base();
    noEmpty.strings[0] = 'x';
    expect(() => encodePprof(noEmpty)).toThrow(/strings\[0\] must be ""/);
    const wrongCount = base();
    wrongCount.sampleValues = new Float64Array(2);
    expect(() => encodePprof(wrongCount)).toThrow(/2 sample values for 1 samples × 1 sample types/);
  });
});

describe('buildProfile', () => {
  it('makes one function and one location per distinct name', () => {
    const p = buildProfile({
      sampleTypes: [
        ['samples', 'count'],
        ['cpu', 'nanoseconds'],
      ],
      periodType: ['cpu', 'nanoseconds'],
      period: 10_000_000,
      timeNanos: 1_700_000_000_000_000_000n,
      durationNanos: 15_000_000_000n,
      samples: [
        { stack: ['c', 'b', 'a'], values: [1, 10_000_000], labels: { span: '42' } },
        { stack: ['d', 'b', 'a'], values: [2, 20_000_000] },
      ],
    });
    expect(p.strings).toEqual(['', 'samples', 'count', 'cpu', 'nanoseconds', 'c', 'b', 'a', 'span', '42', 'd']);
    expect(Array.from(p.functionName).map((i) => p.strings[i])).toEqual(['c', 'b', 'a', 'd']);
    expect(Array.from(p.functionId)).toEqual([1, 2, 3, 4]);
    expect(Array.from(p.locationId)).toEqual([1, 2, 3, 4]);
    expect(Array.from(p.sampleLocations)).toEqual([0, 1, 2, 3, 1, 2]);
    expect(Array.from(p.sampleValues)).toEqual([1, 10_000_000, 2, 20_000_000]);
    expect(Array.from(p.sampleLabelStart)).toEqual([0, 1, 1]);
    expect([p.strings[p.labelKey[0]], p.strings[p.labelStr[0]]]).toEqual(['span', '42']);
    expect([p.strings[p.periodTypeType], p.strings[p.periodTypeUnit], p.period]).toEqual(['cpu', 'nanoseconds', 10_000_000]);

    const buf = encodePprof(p);
    const back = decodePprof(buf);
    expectSameColumns(back, p);
    expect(stacksOf(back)).toEqual([
      ['c', 'b', 'a'],
      ['d', 'b', 'a'],
    ]);
    expect(back.timeNanos).toBe(1_700_000_000_000_000_000n);
    expect(back.durationNanos).toBe(15_000_000_000n);
    expectSameAsReference(back, Profile.decode(buf));
  });

  it('rejects a value count that does not match the sample types, and non-integers', () => {
    expect(() => buildProfile({ sampleTypes: [['s', 'count']], samples: [{ stack: ['a'], values: [1, 2] }] })).toThrow(
      /sample 0 has 2 values for 1 sample types/,
    );
    expect(() => buildProfile({ sampleTypes: [['s', 'count']], samples: [{ stack: ['a'], values: [0.5] }] })).toThrow(
      /value 0.5 is not a safe integer/,
    );
  });
});

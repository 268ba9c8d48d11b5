import { describe, expect, it } from 'vitest';
import { Profile, StringTable } from 'pprof-format';
import { decodePprof, PprofDecodeError, PprofLimitError } from '../../../src/profiles/pprof/decode.js';
import { bytes, expectSameAsReference, fl, fp, fv, richProfile, stacksOf, tag, varint } from './reference.js';

describe('decodePprof matches pprof-format', () => {
  it('decodes every field of a rich profile (negative and large values, labels, inlining, non-dense ids)', () => {
    const ref = richProfile();
    const buf = ref.encode();
    const p = decodePprof(buf);
    expectSameAsReference(p, Profile.decode(buf));
    // A few facts checked against literals, independently of the reference.
    expect(p.sampleCount).toBe(4);
    expect(Array.from(p.sampleValues.subarray(0, 3))).toEqual([1, -5, 2 ** 53 - 1]);
    expect(p.sampleValues[3]).toBe(-(2 ** 53 - 1));
    expect(p.timeNanos).toBe(1700000000123456789n);
    expect(p.period).toBe(524288);
    expect(p.labelNum[2]).toBe(-3);
    expect(p.functionStartLine[2]).toBe(-1);
    expect(p.locationAddress[1]).toBe(18446744073709486080);
    expect(Array.from(p.locationMapping)).toEqual([0, -1, 1, -1, 0]);
    expect(stacksOf(p)).toEqual([
      ['main.inlined', 'main.work', 'libc_malloc', 'libc_malloc'],
      ['libc_malloc'],
      ['日本語の関数', 'main.inlined', 'main.work'],
      [],
    ]);
    expect(p.strings[p.functionFilename[3]]).toBe('ユニコード.go');
    expect(Array.from(p.mappingFlags)).toEqual([0b1001, 0b0110]);
  });

  it('decodes dense ids 1..n and a profile with no samples', () => {
    const st = new StringTable();
    const names = ['a', 'b', 'c', 'd'];
    const ref = new Profile({
      sampleType: [{ type: st.dedup('samples'), unit: st.dedup('count') }],
      function: names.map((n, i) => ({ id: i + 1, name: st.dedup(n) })),
      location: names.map((_, i) => ({ id: i + 1, line: [{ functionId: i + 1 }] })),
      sample: [
        { locationId: [1, 2, 3], value: [10] },
        { locationId: [4, 2, 3], value: [20] },
      ],
      stringTable: st,
    });
    const buf = ref.encode();
    const p = decodePprof(buf);
    expectSameAsReference(p, Profile.decode(buf));
    expect(stacksOf(p)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'b', 'c'],
    ]);

    const empty = new Profile({ sampleType: [{ type: st.dedup('samples'), unit: st.dedup('count') }], stringTable: st });
    const pe = decodePprof(empty.encode());
    expect(pe.sampleCount).toBe(0);
    expect(pe.sampleLocationStart).toEqual(new Uint32Array([0]));
    expectSameAsReference(pe, Profile.decode(empty.encode()));
  });

  it('accepts unpacked repeated scalars and split packed runs', () => {
    const buf = bytes(
      fl(1, [...fv(1, 1), ...fv(2, 2)]),
      fl(1, [...fv(1, 3), ...fv(2, 2)]),
      // Sample: location ids unpacked, then a packed run; values one packed, one unpacked (negative).
      fl(2, [...fv(1, 2), ...fp(1, [1, 2]), ...fp(2, [99]), ...fv(2, -42)]),
      fl(4, [...fv(1, 1), ...fl(4, fv(1, 1))]),
      fl(4, [...fv(1, 2), ...fl(4, fv(1, 2))]),
      fl(5, [...fv(1, 1), ...fv(2, 3)]),
      fl(5, [...fv(1, 2), ...fv(2, 4)]),
      fl(6, ''),
      fl(6, 'samples'),
      fl(6, 'count'),
      fl(6, 'leaf'),
      fl(6, 'root'),
      fv(13, 4),
      fp(13, [3, 2]),
    );
    const p = decodePprof(buf);
    expectSameAsReference(p, Profile.decode(buf));
    expect(stacksOf(p)).toEqual([['root', 'leaf', 'root']]);
    expect(Array.from(p.sampleValues)).toEqual([99, -42]);
    expect(Array.from(p.comments)).toEqual([4, 3, 2]);
  });

  it('skips unknown fields of every wire type, at every level', () => {
    const unknown = [
      ...fv(100, 12345),
      ...tag(101, 1),
      ...[1, 2, 3, 4, 5, 6, 7, 8],
      ...fl(102, 'ignored'),
      ...tag(103, 3),
      ...fv(1, 5),
      ...tag(7, 3),
      ...tag(7, 4),
      ...tag(103, 4),
      ...tag(104, 5),
      ...[9, 9, 9, 9],
    ];
    const make = (u: number[]): Uint8Array =>
      bytes(
        u,
        fl(1, [...u, ...fv(1, 1), ...fv(2, 2)]),
        fl(2, [...fp(1, [1]), ...u, ...fp(2, [7]), ...fl(3, [...fv(1, 3), ...u, ...fv(2, 4)])]),
        fl(3, [...fv(1, 1), ...u, ...fv(5, 4)]),
        fl(4, [...fv(1, 1), ...u, ...fv(2, 1), ...fl(4, [...u, ...fv(1, 1), ...fv(2, 9)])]),
        fl(5, [...u, ...fv(1, 1), ...fv(2, 3)]),
        u,
        fl(6, ''),
        fl(6, 'samples'),
        fl(6, 'count'),
        fl(6, 'fn'),
        fl(6, 'val'),
        u,
      );
    const plain = make([]);
    const withUnknown = make(unknown);
    expect(withUnknown.length).toBeGreaterThan(plain.length + 100);
    const p = decodePprof(plain);
    expectSameAsReference(p, Profile.decode(plain));
    expect(decodePprof(withUnknown)).toEqual(p);
  });

  it('decodes time_nanos and duration_nanos exactly, including negatives', () => {
    const buf = bytes(fl(6, ''), fv(9, -1234567890123456789n), fv(10, 2n ** 62n + 1n), fv(12, -100));
    const p = decodePprof(buf);
    expect(p.timeNanos).toBe(-1234567890123456789n);
    expect(p.durationNanos).toBe(2n ** 62n + 1n);
    expect(p.period).toBe(-100);
  });

  it('keeps a leading BOM and replaces invalid UTF-8 like TextDecoder', () => {
    const weird = [
      [0xef, 0xbb, 0xbf, 0x61],
      [0xff, 0x61, 0xc3],
      [0xe2, 0x82],
      [0xed, 0xa0, 0x80],
      [0xf0, 0x9f, 0x98, 0x80],
    ];
    const buf = bytes(fl(6, ''), ...weird.map((w) => fl(6, w)));
    const p = decodePprof(buf);
    const td = new TextDecoder('utf-8', { ignoreBOM: true });
    expect(p.strings).toEqual(['', ...weird.map((w) => td.decode(Uint8Array.from(w)))]);
    expect(p.strings[1]).toBe('\ufeffa');
  });
});

describe('decodePprof reuses its working columns between decodes', () => {
  it('leaves an earlier profile intact when later ones, larger, smaller or malformed, are decoded', () => {
    const rich = richProfile().encode();
    const st = new StringTable();
    const big = new Profile({
      sampleType: [{ type: st.dedup('samples'), unit: st.dedup('count') }],
      function: Array.from({ length: 500 }, (_, i) => ({ id: i + 1, name: st.dedup(`f${i}`) })),
      location: Array.from({ length: 500 }, (_, i) => ({ id: i + 1, line: [{ functionId: i + 1 }] })),
      sample: Array.from({ length: 2000 }, (_, i) => ({ locationId: [(i % 500) + 1, ((i * 7) % 500) + 1], value: [i] })),
      stringTable: st,
    }).encode();
    const first = decodePprof(rich);
    const second = decodePprof(big);
    // Malformed after a valid prefix: columns are partly filled when it throws.
    expect(() => decodePprof(bytes(Array.from(big.subarray(0, big.length - 3)), [0x32, 0x7f]))).toThrow(PprofDecodeError);
    const third = decodePprof(rich);
    expectSameAsReference(first, Profile.decode(rich));
    expectSameAsReference(second, Profile.decode(big));
    expectSameAsReference(third, Profile.decode(rich));
    expect(third.sampleCount).toBe(first.sampleCount);
  });
});

describe('decodePprof rejects malformed profiles with PprofDecodeError', () => {
  const header = [...fl(6, ''), ...fl(6, 'samples'), ...fl(6, 'count'), ...fl(1, [...fv(1, 1), ...fv(2, 2)])];
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty input', new Uint8Array(0), /empty string table/],
    ['string_table[0] not empty', bytes(fl(6, 'x')), /string_table\[0\] must be ""/],
    ['truncated varint', bytes(header, [0x48, 0xff]), /truncated varint/],
    ['truncated length', bytes(header, [0x32]), /truncated varint/],
    ['length past the end', bytes(header, [0x32, 0x05, 0x61]), /length 5 runs past the end/],
    ['giant declared length', bytes(header, tag(6, 2), varint(2 ** 31), [0x61]), /length 2147483648 runs past the end/],
    ['length near 2^64', bytes(header, tag(2, 2), varint(2n ** 64n - 1n)), /runs past the end/],
    ['varint over 10 bytes', bytes(header, [0x48], new Array(11).fill(0xff), [0x01]), /varint longer than 10 bytes/],
    ['field number 0', bytes(header, [0x00, 0x01]), /invalid field tag 0/],
    ['wrong wire type for a message', bytes(header, fv(2, 1)), /field 2 \(sample\) has wire type 0/],
    ['wrong wire type for a scalar', bytes(header, fl(12, [1])), /field 12 \(period\) has wire type 2/],
    ['wrong wire type in a location', bytes(header, fl(4, fl(1, [1]))), /field 1 \(id\) has wire type 2/],
    ['invalid wire type 7', bytes(header, tag(50, 7)), /invalid wire type 7/],
    ['stray end-group', bytes(header, tag(50, 4)), /unexpected end-group/],
    ['unterminated group', bytes(header, tag(50, 3), fv(1, 1)), /unterminated group/],
    ['truncated fixed64', bytes(header, tag(50, 1), [1, 2, 3]), /truncated fixed64/],
    ['truncated fixed32', bytes(header, tag(50, 5), [1]), /truncated fixed32/],
    ['sub-message length past its parent', bytes(header, fl(2, [...tag(1, 2), 10, 1])), /runs past the end/],
  ];
  for (const [name, buf, message] of cases) {
    it(name, () => {
      expect(() => decodePprof(buf)).toThrow(PprofDecodeError);
      expect(() => decodePprof(buf)).toThrow(message);
    });
  }

  it('names an out-of-range string index and the table size', () => {
    const st = new StringTable();
    for (let i = 0; i < 11; i++) st.dedup(`s${i}`);
    expect(st.strings.length).toBe(12);
    const ref = new Profile({
      sampleType: [{ type: 1, unit: 2 }],
      function: [{ id: 1, name: 900 }],
      stringTable: st,
    });
    expect(() => decodePprof(ref.encode())).toThrow(
      /string index 900 out of range in function\.name #0: string table has 12 entries/,
    );
    const huge = bytes(fl(6, ''), fl(3, [...fv(1, 1), ...fv(5, 2n ** 63n)]));
    expect(() => decodePprof(huge)).toThrow(/string index 9223372036854776000 out of range in mapping\.filename/);
    const label = bytes(fl(6, ''), fl(2, fl(3, fv(1, 5))));
    expect(() => decodePprof(label)).toThrow(/string index 5 out of range in sample\.label\.key #0: string table has 1 entries/);
  });

  const st = (): StringTable => {
    const t = new StringTable();
    t.dedup('samples');
    t.dedup('count');
    t.dedup('f');
    return t;
  };
  const refCases: [string, () => Profile, RegExp][] = [
    [
      'unknown location id',
      () =>
        new Profile({
          sampleType: [{ type: 1, unit: 2 }],
          location: [{ id: 1 }],
          sample: [{ locationId: [1] }, { locationId: [1, 99], value: [1] }].map((s) => ({ value: [1], ...s })),
          stringTable: st(),
        }),
      /sample 1 references unknown location id 99/,
    ],
    [
      'unknown function id',
      () =>
        new Profile({
          location: [{ id: 4, line: [{ functionId: 12 }] }],
          function: [{ id: 1, name: 3 }],
          stringTable: st(),
        }),
      /location id 4 references unknown function id 12/,
    ],
    [
      'unknown mapping id',
      () => new Profile({ location: [{ id: 4, mappingId: 8 }], mapping: [{ id: 1 }], stringTable: st() }),
      /location id 4 references unknown mapping id 8/,
    ],
    [
      'duplicate location id',
      () => new Profile({ location: [{ id: 2 }, { id: 2 }], stringTable: st() }),
      /duplicate location id 2/,
    ],
    [
      'duplicate function id (sparse ids use the Map path)',
      () => new Profile({ function: [{ id: 2n ** 40n }, { id: 2n ** 40n }], stringTable: st() }),
      /duplicate function id 1099511627776/,
    ],
    [
      'too few values',
      () =>
        new Profile({
          sampleType: [
            { type: 1, unit: 2 },
            { type: 1, unit: 2 },
          ],
          sample: [{ value: [1, 2] }, { value: [3] }],
          stringTable: st(),
        }),
      /sample 1 has 1 values but the profile has 2 sample types/,
    ],
    [
      'values without sample types',
      () => new Profile({ sample: [{ value: [1] }], stringTable: st() }),
      /sample 0 has 1 values but the profile has 0 sample types/,
    ],
  ];
  for (const [name, make, message] of refCases) {
    it(name, () => {
      const buf = make().encode();
      expect(() => decodePprof(buf)).toThrow(PprofDecodeError);
      expect(() => decodePprof(buf)).toThrow(message);
    });
  }

  it('rejects location id 0 and function id 0, as Pyroscope does', () => {
    const strs = [...fl(6, ''), ...fl(6, 'f')];
    const loc0 = bytes(strs, fl(4, fv(1, 1)), fl(4, fv(3, 0x1234)));
    expect(() => decodePprof(loc0)).toThrow(PprofDecodeError);
    expect(() => decodePprof(loc0)).toThrow(/location id is 0/);
    const fn0 = bytes(strs, fl(5, fv(2, 1)));
    expect(() => decodePprof(fn0)).toThrow(PprofDecodeError);
    expect(() => decodePprof(fn0)).toThrow(/function id is 0/);
  });

  it('accepts mapping id 0 and location mapping_id 0 (no mapping), drops lines without a function', () => {
    const buf = bytes(
      fl(6, ''),
      fl(6, 'f'),
      fl(3, fv(2, 5)),
      fl(4, [...fv(1, 1), ...fl(4, fv(2, 3)), ...fl(4, [...fv(1, 1), ...fv(2, 4)])]),
      fl(5, [...fv(1, 1), ...fv(2, 1)]),
    );
    const p = decodePprof(buf);
    expect(Array.from(p.mappingId)).toEqual([0]);
    expect(Array.from(p.locationMapping)).toEqual([-1]);
    expect(Array.from(p.locationLineStart)).toEqual([0, 1]);
    expect(Array.from(p.lineNumber)).toEqual([4]);
  });
});

describe('decodePprof limits', () => {
  const profile = (samples: { stack: number[]; labels?: number }[]): Uint8Array => {
    const st = new StringTable();
    const fnNames = Array.from({ length: 10 }, (_, i) => st.dedup(`f${i}`));
    const key = st.dedup('k');
    return new Profile({
      sampleType: [{ type: st.dedup('samples'), unit: st.dedup('count') }],
      function: fnNames.map((name, i) => ({ id: i + 1, name })),
      location: fnNames.map((_, i) => ({ id: i + 1, line: [{ functionId: i + 1 }] })),
      sample: samples.map((s) => ({
        locationId: s.stack.map((f) => f + 1),
        value: [1],
        label: Array.from({ length: s.labels ?? 0 }, (_, i) => ({ key, num: i })),
      })),
      stringTable: st,
    }).encode();
  };

  it('throws PprofLimitError with the total sample count over maxSamples', () => {
    const buf = profile(Array.from({ length: 10 }, () => ({ stack: [0] })));
    expect(decodePprof(buf, { maxSamples: 10 }).sampleCount).toBe(10);
    let err: unknown;
    try {
      decodePprof(buf, { maxSamples: 4 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PprofLimitError);
    expect(err).toBeInstanceOf(PprofDecodeError);
    expect(err).toMatchObject({ reason: 'samples_limit', actual: 10, limit: 4 });
  });

  it('throws PprofLimitError for too many labels on one sample', () => {
    const buf = profile([{ stack: [0], labels: 2 }, { stack: [1], labels: 5 }, { stack: [1], labels: 7 }]);
    expect(decodePprof(buf, { maxSampleLabels: 7 }).labelKey.length).toBe(14);
    expect(() => decodePprof(buf, { maxSampleLabels: 3 })).toThrow(
      expect.objectContaining({ reason: 'sample_labels_limit', actual: 5, limit: 3 }),
    );
  });

  it('reports the samples limit before the labels limit, as Pyroscope does', () => {
    const buf = profile([{ stack: [0], labels: 5 }, { stack: [0] }, { stack: [0] }]);
    expect(() => decodePprof(buf, { maxSamples: 2, maxSampleLabels: 1 })).toThrow(
      expect.objectContaining({ reason: 'samples_limit', actual: 3, limit: 2 }),
    );
  });

  it('truncates deep stacks keeping the root-side frames', () => {
    const buf = profile([{ stack: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }, { stack: [3, 2] }]);
    const p = decodePprof(buf, { maxStackDepth: 4 });
    expect(stacksOf(p)).toEqual([
      ['f6', 'f7', 'f8', 'f9'],
      ['f3', 'f2'],
    ]);
    expect(Array.from(p.sampleLocationStart)).toEqual([0, 4, 6]);
    expect(stacksOf(decodePprof(buf))[0]).toHaveLength(10);
  });

  it('truncates deep stacks whose location ids do not fit in 32 bits', () => {
    const big = (i: number): bigint => 2n ** 40n + BigInt(i);
    const st = new StringTable();
    const names = Array.from({ length: 6 }, (_, i) => st.dedup(`g${i}`));
    const buf = new Profile({
      sampleType: [{ type: st.dedup('samples'), unit: st.dedup('count') }],
      function: names.map((name, i) => ({ id: i + 1, name })),
      location: names.map((_, i) => ({ id: i % 2 ? big(i) : i + 1, line: [{ functionId: i + 1 }] })),
      sample: [
        { locationId: [1, big(1), 3, big(3), 5, big(5)], value: [1] },
        { locationId: [big(5), 1], value: [1] },
      ],
      stringTable: st,
    }).encode();
    expect(stacksOf(decodePprof(buf, { maxStackDepth: 3 }))).toEqual([
      ['g3', 'g4', 'g5'],
      ['g5', 'g0'],
    ]);
  });

  it('truncates long strings keeping the last maxSymbolLength bytes', () => {
    const buf = bytes(fl(6, ''), fl(6, 'com.example.VeryLongName'), fl(6, 'short'), fl(6, 'exactly8'));
    expect(decodePprof(buf, { maxSymbolLength: 8 }).strings).toEqual(['', 'LongName', 'short', 'exactly8']);
    expect(decodePprof(buf).strings[1]).toBe('com.example.VeryLongName');
  });

  it('guards the string and location tables', () => {
    const buf = bytes(fl(6, ''), fl(6, 'a'), fl(6, 'b'), fl(4, fv(1, 1)), fl(4, fv(1, 2)));
    expect(decodePprof(buf, { maxStrings: 3, maxLocations: 2 }).strings).toHaveLength(3);
    expect(() => decodePprof(buf, { maxStrings: 2 })).toThrow(/more than 2 entries/);
    expect(() => decodePprof(buf, { maxLocations: 1 })).toThrow(/more than 1 locations/);
    expect(() => decodePprof(buf, { maxLocations: 1 })).toThrow(PprofDecodeError);
  });

  it('rejects a negative limit as a programming error', () => {
    expect(() => decodePprof(bytes(fl(6, '')), { maxSamples: -1 })).toThrow(RangeError);
  });
});

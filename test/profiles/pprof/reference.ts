// Test helpers: compare a DecodedProfile with what the reference decoder
// (pprof-format) reads from the same bytes, plus a seeded PRNG for fuzzing.

import { expect } from 'vitest';
import { Profile, StringTable } from 'pprof-format';
import type { DecodedProfile } from '../../../src/profiles/pprof/profile.js';

type Numeric = number | bigint;

/** pprof-format returns negative int64 as unsigned bigints; Go reads them as signed. */
export function signed(v: Numeric): number {
  return typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : v;
}

export function unsigned(v: Numeric): number {
  return typeof v === 'bigint' ? Number(BigInt.asUintN(64, v)) : v;
}

/**
 * Asserts that two sequences are equal; on a mismatch, reports the first
 * differing index only (deep-equality diffs of 10^6-element arrays are slow).
 */
export function expectSameSeq(what: string, actual: ArrayLike<unknown>, expected: ArrayLike<unknown>): void {
  expect(actual.length, `${what}.length`).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      expect(actual[i], `${what}[${i}]`).toEqual(expected[i]);
    }
  }
}

/** Asserts that every column of two decoded profiles is equal. */
export function expectSameColumns(a: DecodedProfile, b: DecodedProfile): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const key of Object.keys(a) as (keyof DecodedProfile)[]) {
    const x = a[key];
    const y = b[key];
    if (typeof x === 'object' && x !== null) {
      expect(Object.getPrototypeOf(x), `${key} type`).toBe(Object.getPrototypeOf(y));
      expectSameSeq(key, x, y as ArrayLike<unknown>);
    } else expect(x, key).toBe(y);
  }
}

/** Asserts that every column of `p` matches the reference decode `ref` of the same bytes. */
export function expectSameAsReference(p: DecodedProfile, ref: Profile): void {
  expectSameSeq('strings', p.strings, ref.stringTable.strings);
  expectSameSeq('sampleTypeType', p.sampleTypeType, ref.sampleType.map((t) => unsigned(t.type)));
  expectSameSeq('sampleTypeUnit', p.sampleTypeUnit, ref.sampleType.map((t) => unsigned(t.unit)));
  expect(p.periodTypeType).toBe(unsigned(ref.periodType?.type ?? 0));
  expect(p.periodTypeUnit).toBe(unsigned(ref.periodType?.unit ?? 0));
  expect(p.period).toBe(signed(ref.period));
  expect(p.timeNanos).toBe(BigInt.asIntN(64, BigInt(ref.timeNanos)));
  expect(p.durationNanos).toBe(BigInt.asIntN(64, BigInt(ref.durationNanos)));
  expect(p.defaultSampleType).toBe(unsigned(ref.defaultSampleType));
  expect(p.dropFrames).toBe(unsigned(ref.dropFrames));
  expect(p.keepFrames).toBe(unsigned(ref.keepFrames));
  expectSameSeq('comments', p.comments, ref.comment.map(unsigned));

  // Functions and mappings first: stacks are compared through their ids.
  expectSameSeq('functionId', p.functionId, ref.function.map((f) => unsigned(f.id)));
  expectSameSeq('functionName', p.functionName, ref.function.map((f) => unsigned(f.name)));
  expectSameSeq('functionSystemName', p.functionSystemName, ref.function.map((f) => unsigned(f.systemName)));
  expectSameSeq('functionFilename', p.functionFilename, ref.function.map((f) => unsigned(f.filename)));
  expectSameSeq('functionStartLine', p.functionStartLine, ref.function.map((f) => signed(f.startLine)));

  expectSameSeq('mappingId', p.mappingId, ref.mapping.map((m) => unsigned(m.id)));
  expectSameSeq('mappingMemoryStart', p.mappingMemoryStart, ref.mapping.map((m) => unsigned(m.memoryStart)));
  expectSameSeq('mappingMemoryLimit', p.mappingMemoryLimit, ref.mapping.map((m) => unsigned(m.memoryLimit)));
  expectSameSeq('mappingFileOffset', p.mappingFileOffset, ref.mapping.map((m) => unsigned(m.fileOffset)));
  expectSameSeq('mappingFilename', p.mappingFilename, ref.mapping.map((m) => unsigned(m.filename)));
  expectSameSeq('mappingBuildId', p.mappingBuildId, ref.mapping.map((m) => unsigned(m.buildId)));
  expectSameSeq(
    'mappingFlags',
    p.mappingFlags,
    ref.mapping.map(
      (m) =>
        (m.hasFunctions ? 1 : 0) | (m.hasFilenames ? 2 : 0) | (m.hasLineNumbers ? 4 : 0) | (m.hasInlineFrames ? 8 : 0),
    ),
  );

  // Locations: flatten ours and the reference's the same way, compare once.
  expect(p.locationLineStart.length).toBe(ref.location.length + 1);
  const ours: number[] = [];
  const theirs: number[] = [];
  ref.location.forEach((l, j) => {
    const mi = p.locationMapping[j];
    ours.push(p.locationId[j], mi === -1 ? 0 : p.mappingId[mi], p.locationAddress[j], p.locationIsFolded[j]);
    theirs.push(unsigned(l.id), unsigned(l.mappingId), unsigned(l.address), l.isFolded ? 1 : 0);
    ours.push(p.locationLineStart[j + 1] - p.locationLineStart[j]);
    theirs.push(l.line.length);
    for (let k = p.locationLineStart[j]; k < p.locationLineStart[j + 1]; k++) {
      ours.push(p.functionId[p.lineFunction[k]], p.lineNumber[k], p.lineColumn[k]);
    }
    for (const ln of l.line) theirs.push(unsigned(ln.functionId), signed(ln.line), signed(ln.column));
  });
  expectSameSeq('locations', ours, theirs);

  // Samples: values, stacks (as location ids) and labels, flattened.
  const nTypes = ref.sampleType.length;
  expect(p.sampleCount).toBe(ref.sample.length);
  expect(p.sampleValues.length).toBe(ref.sample.length * nTypes);
  expectSameSeq('sampleValues', p.sampleValues, ref.sample.flatMap((s) => s.value.map(signed)));
  const ourStacks: number[] = [];
  const refStacks: number[] = [];
  const ourLabels: number[] = [];
  const refLabels: number[] = [];
  ref.sample.forEach((s, i) => {
    ourStacks.push(p.sampleLocationStart[i + 1] - p.sampleLocationStart[i]);
    for (let k = p.sampleLocationStart[i]; k < p.sampleLocationStart[i + 1]; k++) {
      ourStacks.push(p.locationId[p.sampleLocations[k]]);
    }
    refStacks.push(s.locationId.length, ...s.locationId.map(unsigned));
    ourLabels.push(p.sampleLabelStart[i + 1] - p.sampleLabelStart[i]);
    for (let k = p.sampleLabelStart[i]; k < p.sampleLabelStart[i + 1]; k++) {
      ourLabels.push(p.labelKey[k], p.labelStr[k], p.labelNum[k], p.labelNumUnit[k]);
    }
    refLabels.push(s.label.length);
    for (const l of s.label) refLabels.push(unsigned(l.key), unsigned(l.str), signed(l.num), unsigned(l.numUnit));
  });
  expectSameSeq('sample stacks', ourStacks, refStacks);
  expectSameSeq('sample labels', ourLabels, refLabels);
}

/** Each sample's stack as function names (all inlined lines, leaf first), from our columns. */
export function stacksOf(p: DecodedProfile): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < p.sampleCount; i++) {
    const names: string[] = [];
    for (let k = p.sampleLocationStart[i]; k < p.sampleLocationStart[i + 1]; k++) {
      const j = p.sampleLocations[k];
      for (let l = p.locationLineStart[j]; l < p.locationLineStart[j + 1]; l++) {
        names.push(p.strings[p.functionName[p.lineFunction[l]]]);
      }
    }
    out.push(names);
  }
  return out;
}

/** The same, resolved independently from the reference decoder's objects. */
export function referenceStacks(ref: Profile): string[][] {
  const strings = ref.stringTable.strings;
  const fnName = new Map<number, string>();
  for (const f of ref.function) fnName.set(unsigned(f.id), strings[unsigned(f.name)]);
  const locNames = new Map<number, string[]>();
  for (const l of ref.location) locNames.set(unsigned(l.id), l.line.map((ln) => fnName.get(unsigned(ln.functionId))!));
  return ref.sample.map((s) => s.locationId.flatMap((id) => locNames.get(unsigned(id))!));
}

/** mulberry32: small, fast, and reproducible from a 32-bit seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fuzz seed: PPROF_FUZZ_SEED when set (to replay a failure), else a fixed default. */
export function fuzzSeed(): number {
  const env = process.env.PPROF_FUZZ_SEED;
  return env !== undefined && env !== '' ? Number(env) >>> 0 : 0x5eed_2026;
}

// Minimal protobuf writer for hand-made (and deliberately malformed) inputs.
export function varint(v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

export function tag(field: number, wire: number): number[] {
  return varint(field * 8 + wire);
}

/** A varint field. */
export function fv(field: number, v: number | bigint): number[] {
  return [...tag(field, 0), ...varint(v)];
}

/** A length-delimited field. */
export function fl(field: number, payload: number[] | Uint8Array | string): number[] {
  const bytes = typeof payload === 'string' ? Array.from(Buffer.from(payload, 'utf8')) : Array.from(payload);
  return [...tag(field, 2), ...varint(bytes.length), ...bytes];
}

/** A packed repeated varint field. */
export function fp(field: number, values: (number | bigint)[]): number[] {
  return fl(field, values.flatMap((v) => varint(v)));
}

export function bytes(...parts: number[][]): Uint8Array {
  return Uint8Array.from(parts.flat());
}

/** A profile that exercises every field, built and encoded by the reference library. */
export function richProfile(): Profile {
  const st = new StringTable();
  const s = (x: string): number => st.dedup(x);
  return new Profile({
    sampleType: [
      { type: s('alloc_objects'), unit: s('count') },
      { type: s('alloc_space'), unit: s('bytes') },
      { type: s('inuse_space'), unit: s('bytes') },
    ],
    periodType: { type: s('space'), unit: s('bytes') },
    period: 524288,
    timeNanos: 1700000000123456789n,
    durationNanos: 10_000_000_000,
    defaultSampleType: s('alloc_space'),
    dropFrames: s('runtime\\..*'),
    keepFrames: s('main\\..*'),
    comment: [s('first comment'), s('zweiter Kommentar ✓')],
    mapping: [
      {
        id: 1000,
        memoryStart: 0x400000,
        memoryLimit: 0x7fffffffffffn,
        fileOffset: 4096,
        filename: s('/usr/bin/app'),
        buildId: s('abc123'),
        hasFunctions: true,
        hasInlineFrames: true,
      },
      { id: 3, memoryStart: 0x10000, memoryLimit: 0x20000, filename: s('libc.so.6'), hasFilenames: true, hasLineNumbers: true },
    ],
    function: [
      { id: 7, name: s('main.work'), systemName: s('main.work'), filename: s('main.go'), startLine: 12 },
      { id: 1000, name: s('main.inlined'), systemName: s('main.inlined'), filename: s('main.go'), startLine: 40 },
      { id: 3, name: s('libc_malloc'), filename: s('malloc.c'), startLine: -1 },
      { id: 2n ** 40n, name: s('日本語の関数'), filename: s('ユニコード.go') },
    ],
    location: [
      // Two lines: an inlined call, innermost first.
      {
        id: 7,
        mappingId: 1000,
        address: 0x401234,
        line: [
          { functionId: 1000, line: 44, column: 9 },
          { functionId: 7, line: 15 },
        ],
      },
      // No mapping; an address above 2^53 that is still exact as a double.
      { id: 1000, mappingId: 0, address: 0xffffffffffff0000n, line: [{ functionId: 3, line: 2 }] },
      { id: 3, mappingId: 3, address: 0x10010, isFolded: true, line: [{ functionId: 3, line: -7 }] },
      { id: 2n ** 40n, line: [{ functionId: 2n ** 40n, line: 1 }] },
      // Unsymbolized: no lines at all.
      { id: 5, mappingId: 1000, address: 0x402000 },
    ],
    sample: [
      {
        locationId: [7, 1000, 3],
        value: [1, -5, 2 ** 53 - 1],
        label: [
          { key: s('thread'), str: s('main') },
          { key: s('bytes'), num: 4096, numUnit: s('bytes') },
          { key: s('delta'), num: -3 },
        ],
      },
      { locationId: [3], value: [-(2 ** 53 - 1), 0, 300] },
      { locationId: [2n ** 40n, 5, 7], value: [2 ** 40, 2 ** 31, -1] },
      { locationId: [], value: [0, 0, 0] },
    ],
    stringTable: st,
  });
}


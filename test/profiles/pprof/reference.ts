// Test helpers: compare a DecodedProfile with what the reference decoder
// (pprof-format) reads from the same bytes, plus a seeded PRNG for fuzzing.

import { expect } from 'vitest';
import type { Profile } from 'pprof-format';
import type { DecodedProfile } from '../../../src/profiles/pprof/profile.js';

type Numeric = number | bigint;

/** pprof-format returns negative int64 as unsigned bigints; Go reads them as signed. */
export function signed(v: Numeric): number {
  return typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : v;
}

export function unsigned(v: Numeric): number {
  return typeof v === 'bigint' ? Number(BigInt.asUintN(64, v)) : v;
}

/** Asserts that every column of `p` matches the reference decode `ref` of the same bytes. */
export function expectSameAsReference(p: DecodedProfile, ref: Profile): void {
  expect(p.strings).toEqual(ref.stringTable.strings);
  expect(Array.from(p.sampleTypeType)).toEqual(ref.sampleType.map((t) => unsigned(t.type)));
  expect(Array.from(p.sampleTypeUnit)).toEqual(ref.sampleType.map((t) => unsigned(t.unit)));
  expect(p.periodTypeType).toBe(unsigned(ref.periodType?.type ?? 0));
  expect(p.periodTypeUnit).toBe(unsigned(ref.periodType?.unit ?? 0));
  expect(p.period).toBe(signed(ref.period));
  expect(p.timeNanos).toBe(BigInt.asIntN(64, BigInt(ref.timeNanos)));
  expect(p.durationNanos).toBe(BigInt.asIntN(64, BigInt(ref.durationNanos)));
  expect(p.defaultSampleType).toBe(unsigned(ref.defaultSampleType));
  expect(p.dropFrames).toBe(unsigned(ref.dropFrames));
  expect(p.keepFrames).toBe(unsigned(ref.keepFrames));
  expect(Array.from(p.comments)).toEqual(ref.comment.map(unsigned));

  // Functions and mappings first: stacks are compared through their ids.
  expect(Array.from(p.functionId)).toEqual(ref.function.map((f) => unsigned(f.id)));
  expect(Array.from(p.functionName)).toEqual(ref.function.map((f) => unsigned(f.name)));
  expect(Array.from(p.functionSystemName)).toEqual(ref.function.map((f) => unsigned(f.systemName)));
  expect(Array.from(p.functionFilename)).toEqual(ref.function.map((f) => unsigned(f.filename)));
  expect(Array.from(p.functionStartLine)).toEqual(ref.function.map((f) => signed(f.startLine)));

  expect(Array.from(p.mappingId)).toEqual(ref.mapping.map((m) => unsigned(m.id)));
  expect(Array.from(p.mappingMemoryStart)).toEqual(ref.mapping.map((m) => unsigned(m.memoryStart)));
  expect(Array.from(p.mappingMemoryLimit)).toEqual(ref.mapping.map((m) => unsigned(m.memoryLimit)));
  expect(Array.from(p.mappingFileOffset)).toEqual(ref.mapping.map((m) => unsigned(m.fileOffset)));
  expect(Array.from(p.mappingFilename)).toEqual(ref.mapping.map((m) => unsigned(m.filename)));
  expect(Array.from(p.mappingBuildId)).toEqual(ref.mapping.map((m) => unsigned(m.buildId)));
  expect(Array.from(p.mappingFlags)).toEqual(
    ref.mapping.map(
      (m) =>
        (m.hasFunctions ? 1 : 0) | (m.hasFilenames ? 2 : 0) | (m.hasLineNumbers ? 4 : 0) | (m.hasInlineFrames ? 8 : 0),
    ),
  );

  expect(p.locationId.length).toBe(ref.location.length);
  expect(p.locationLineStart.length).toBe(ref.location.length + 1);
  ref.location.forEach((l, j) => {
    expect(p.locationId[j]).toBe(unsigned(l.id));
    const mi = p.locationMapping[j];
    expect(mi === -1 ? 0 : p.mappingId[mi]).toBe(unsigned(l.mappingId));
    expect(p.locationAddress[j]).toBe(unsigned(l.address));
    expect(p.locationIsFolded[j]).toBe(l.isFolded ? 1 : 0);
    const lines: [number, number, number][] = [];
    for (let k = p.locationLineStart[j]; k < p.locationLineStart[j + 1]; k++) {
      lines.push([p.functionId[p.lineFunction[k]], p.lineNumber[k], p.lineColumn[k]]);
    }
    expect(lines).toEqual(l.line.map((ln) => [unsigned(ln.functionId), signed(ln.line), signed(ln.column)]));
  });

  const nTypes = ref.sampleType.length;
  expect(p.sampleCount).toBe(ref.sample.length);
  expect(p.sampleValues.length).toBe(ref.sample.length * nTypes);
  ref.sample.forEach((s, i) => {
    const values = Array.from(p.sampleValues.subarray(i * nTypes, (i + 1) * nTypes));
    expect(values).toEqual(s.value.map(signed));
    const ids: number[] = [];
    for (let k = p.sampleLocationStart[i]; k < p.sampleLocationStart[i + 1]; k++) {
      ids.push(p.locationId[p.sampleLocations[k]]);
    }
    expect(ids).toEqual(s.locationId.map(unsigned));
    const labels: [number, number, number, number][] = [];
    for (let k = p.sampleLabelStart[i]; k < p.sampleLabelStart[i + 1]; k++) {
      labels.push([p.labelKey[k], p.labelStr[k], p.labelNum[k], p.labelNumUnit[k]]);
    }
    expect(labels).toEqual(s.label.map((l) => [unsigned(l.key), unsigned(l.str), signed(l.num), unsigned(l.numUnit)]));
  });
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

// Hostile input: whatever the bytes, decodePprof either returns a profile or
// throws PprofDecodeError, quickly. The PRNG is seeded; set PPROF_FUZZ_SEED to
// replay a failure.

import { describe, expect, it } from 'vitest';
import { decodePprof, PprofDecodeError } from '../../../src/profiles/pprof/decode.js';
import { bytes, fl, fp, fv, fuzzSeed, prng, richProfile, tag, varint } from './reference.js';

const seed = fuzzSeed();
console.log(`pprof fuzz seed: ${seed} (replay with PPROF_FUZZ_SEED=${seed})`);

let decoded = 0;
let rejected = 0;

/** Decodes or expects a PprofDecodeError; anything else fails with the case named. */
function attempt(buf: Uint8Array, what: string): void {
  try {
    const p = decodePprof(buf, { maxSamples: 100_000, maxStackDepth: 64, maxSymbolLength: 256 });
    // A successful decode must be internally consistent: every reference in range.
    expect(p.sampleLocationStart.length, what).toBe(p.sampleCount + 1);
    for (const j of p.sampleLocations) if (j >= p.locationId.length) throw new Error(`${what}: location index ${j} out of range`);
    for (const f of p.lineFunction) if (f >= p.functionId.length) throw new Error(`${what}: function index ${f} out of range`);
    for (const s of p.functionName) if (s >= p.strings.length) throw new Error(`${what}: string index ${s} out of range`);
    decoded++;
  } catch (e) {
    if (!(e instanceof PprofDecodeError)) {
      throw new Error(`${what} (seed ${seed}): expected PprofDecodeError, got ${(e as Error)?.stack ?? String(e)}`);
    }
    rejected++;
  }
}

const valid = richProfile().encode();

describe(`pprof decoder under hostile input (seed ${seed})`, () => {
  it('random bytes', () => {
    const rnd = prng(seed);
    for (let n = 0; n < 3000; n++) {
      const len = Math.floor(rnd() * 300);
      const buf = new Uint8Array(len);
      for (let i = 0; i < len; i++) buf[i] = Math.floor(rnd() * 256);
      attempt(buf, `random case ${n}`);
    }
    expect(rejected).toBeGreaterThan(0);
  });

  it('random bytes shaped like protobuf fields', () => {
    // Plain random bytes rarely get past the first tag; build plausible
    // field sequences (known field numbers, sane lengths) instead.
    const rnd = prng(seed + 1);
    const int = (n: number): number => Math.floor(rnd() * n);
    const message = (depth: number): number[] => {
      const out: number[] = [];
      const fields = int(6);
      for (let f = 0; f < fields; f++) {
        const field = 1 + int(14);
        const kind = int(4);
        if (kind === 0 || depth > 2) out.push(...fv(field, int(4) === 0 ? -int(1000) : int(20)));
        else if (kind === 1) out.push(...fp(field, Array.from({ length: int(5) }, () => int(20))));
        else if (kind === 2) out.push(...fl(field, message(depth + 1)));
        else out.push(...fl(6, String.fromCharCode(...Array.from({ length: int(5) }, () => 97 + int(26)))));
      }
      return out;
    };
    for (let n = 0; n < 3000; n++) attempt(bytes([...fl(6, '')], message(0)), `shaped case ${n}`);
    expect(decoded).toBeGreaterThan(0);
  });

  it('every truncation of a valid profile', () => {
    for (let len = 0; len < valid.length; len++) attempt(valid.subarray(0, len), `truncation to ${len} bytes`);
  });

  it('random bit flips, byte insertions and deletions', () => {
    const rnd = prng(seed + 2);
    for (let n = 0; n < 4000; n++) {
      const buf = Array.from(valid);
      const edits = 1 + Math.floor(rnd() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * buf.length);
        const op = Math.floor(rnd() * 3);
        if (op === 0) buf[at] ^= 1 << Math.floor(rnd() * 8);
        else if (op === 1) buf.splice(at, 0, Math.floor(rnd() * 256));
        else buf.splice(at, 1);
      }
      attempt(Uint8Array.from(buf), `mutation case ${n}`);
    }
  });

  it('giant length prefixes fail fast without allocating', () => {
    const before = process.memoryUsage().rss;
    for (const len of [2 ** 31, 2 ** 32 - 1, 2 ** 53, 2n ** 64n - 1n]) {
      for (const field of [1, 2, 3, 4, 5, 6, 11, 13, 99]) {
        const buf = bytes(fl(6, ''), tag(field, 2), varint(len), [0x61, 0x62]);
        expect(() => decodePprof(buf), `field ${field} length ${len}`).toThrow(/runs past the end/);
      }
    }
    // Nested: a sample whose packed location ids declare 2^31 bytes.
    expect(() => decodePprof(bytes(fl(6, ''), fl(2, [...tag(1, 2), ...varint(2 ** 31)])))).toThrow(/runs past the end/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 << 20);
  });

  it('deeply repeated and nested fields stay linear and bounded', () => {
    // 500k empty samples: 1 MB of input.
    const samples = new Uint8Array(1_000_000 + 2);
    samples.set([0x32, 0x00]);
    for (let i = 2; i < samples.length; i += 2) samples.set([0x12, 0x00], i);
    const p = decodePprof(samples);
    expect(p.sampleCount).toBe(500_000);
    expect(() => decodePprof(samples, { maxSamples: 1000 })).toThrow(/500000 samples, limit is 1000/);

    // 300k nested start-group tags: must not overflow the stack.
    const groups = new Uint8Array(2 + 300_000 * 2);
    groups.set([0x32, 0x00]);
    for (let i = 2; i < groups.length; i += 2) groups.set(tag(100, 3), i);
    expect(() => decodePprof(groups)).toThrow(/unterminated group/);

    // One sample with 1M one-byte location ids referencing a missing location.
    const deep = bytes(fl(6, ''), fl(2, fl(1, new Array(1_000_000).fill(1))));
    expect(() => decodePprof(deep)).toThrow(/sample 0 references unknown location id 1/);
    // The same with the location present decodes, and depth is capped when asked.
    const ok = bytes(fl(6, ''), fl(4, fv(1, 1)), fl(2, fl(1, new Array(1_000_000).fill(1))));
    expect(decodePprof(ok).sampleLocations.length).toBe(1_000_000);
    expect(decodePprof(ok, { maxStackDepth: 128 }).sampleLocations.length).toBe(128);
  });

  it('out-of-range string, location, function and mapping references; id 0', () => {
    const strings = [...fl(6, ''), ...fl(6, 'f')];
    const refs: [Uint8Array, RegExp][] = [
      [bytes(strings, fl(5, [...fv(1, 1), ...fv(2, 2)])), /string index 2 out of range in function\.name/],
      [bytes(strings, fl(5, [...fv(1, 1), ...fv(4, 7)])), /string index 7 out of range in function\.filename/],
      [bytes(strings, fl(3, [...fv(1, 1), ...fv(6, 9)])), /string index 9 out of range in mapping\.build_id/],
      [bytes(strings, fl(1, [...fv(1, 1), ...fv(2, 3)])), /string index 3 out of range in sample_type\.unit/],
      [bytes(strings, fv(14, 5)), /string index 5 out of range in default_sample_type/],
      [bytes(strings, fv(13, 5)), /string index 5 out of range in comment/],
      [bytes(strings, fl(2, fp(1, [4]))), /unknown location id 4/],
      [bytes(strings, fl(4, [...fv(1, 1), ...fl(4, fv(1, 3))])), /unknown function id 3/],
      [bytes(strings, fl(4, [...fv(1, 1), ...fv(2, 3)])), /unknown mapping id 3/],
      [bytes(strings, fl(4, fv(1, 0))), /location id is 0/],
      [bytes(strings, fl(4, [])), /location id is 0/],
      [bytes(strings, fl(5, fv(2, 1))), /function id is 0/],
    ];
    for (const [buf, message] of refs) {
      expect(() => decodePprof(buf)).toThrow(PprofDecodeError);
      expect(() => decodePprof(buf)).toThrow(message);
    }
  });

  it('saw both outcomes', () => {
    console.log(`pprof fuzz: ${decoded} decoded, ${rejected} rejected`);
    expect(decoded).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(1000);
  });
});

// XOR chunks: exact bytes for samples worked out by hand from the format (spec/tsdb.md §6), and
// round trips over awkward values and timestamps.
import { describe, expect, it } from 'vitest';
import { decodeXorChunk, encodeXorChunk, XorAppender, XorIterator, chunkNumSamples, ChunkDecodeError } from '../../../src/tsdb/chunkenc/xor-chunk.js';
import { bitsAt, floatsFromBits, fromBits } from '../helpers.js';
import { prng } from '../../profiles/pprof/reference.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function chunkOf(samples: Array<[number, number]>): Uint8Array {
  const app = new XorAppender();
  for (const [t, v] of samples) app.append(t, v);
  return app.bytes();
}

describe('XOR chunk bytes', () => {
  it('one sample: count, varint timestamp, raw value', () => {
    // count 0001; t=1000 → zig-zag 2000 → uvarint d0 0f; 1.0 = 3ff0000000000000
    expect(hex(chunkOf([[1000, 1]]))).toBe('0001' + 'd00f' + '3ff0000000000000');
  });

  it('negative first timestamp is zig-zag encoded', () => {
    // t=-5 → zig-zag 9 → 09; value 0 → 64 zero bits
    expect(hex(chunkOf([[-5, 0]]))).toBe('0001' + '09' + '0000000000000000');
  });

  it('four samples: uvarint delta, same value, new window, 14-bit delta of delta', () => {
    // s1: delta 1000 → e8 07; value same → '0'
    // s2: dod 0 → '0'; 2.0 ^ 1.0 = 7ff0000000000000: leading 1, trailing 52, 11 bits
    //     → '11' 00001 001011 11111111111
    // s3: dod 10 → '10' 00000000001010; value same → '0'
    // bits: 0 0 11 00001 001011 11111111111 10 00000000001010 0 (+ padding)
    //     = 00110000 10010111 11111111 11100000 00000010 100·····
    const bytes = chunkOf([
      [1000, 1],
      [2000, 1],
      [3000, 2],
      [4010, 2],
    ]);
    expect(hex(bytes)).toBe('0004' + 'd00f' + '3ff0000000000000' + 'e807' + '3097ffe00280');
  });

  it('reuses the leading/trailing window when the next XOR fits it', () => {
    // s1: delta 1 → 01; 2.0^1.0 → '11' 00001 001011 + 11111111111 (as above)
    // s2: dod 0 → '0'; 3.0 = 4008000000000000, ^ 2.0 = 0008000000000000: leading 12,
    //     trailing 51 — fits window (1, 52)? no: trailing 51 < 52 → new window
    //     '11' 01100 000001 + '1'
    // bits: 11 00001 001011 11111111111 0 11 01100 000001 1
    //     = 11000010 01011111 11111111 01101100 00000110 (last 7 bits + pad … )
    const bytes = chunkOf([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    // header 0003, t0=0 → 00, 1.0, delta 01, then the bit string above
    expect(hex(bytes)).toBe('0003' + '00' + '3ff0000000000000' + '01' + 'c25fff6c06');
    // Now a window that the next XOR fits: 3.5 → 3.0 → 3.5. 3.5 ^ 3.0 = 0004000000000000
    // (leading 13, trailing 50) opens window (13, 50); 3.0 → 3.5 has the same XOR and reuses it.
    const app = new XorAppender();
    for (const [t, v] of [
      [0, 3.5],
      [1, 3],
      [2, 3.5],
    ] as const)
      app.append(t, v);
    // s1: '11' 01101 000001 '1'  s2: dod 0 '0', XOR same window → '10' '1'
    // bits: 11011010 00001101 01 → da 0d 40
    expect(hex(app.bytes())).toBe('0003' + '00' + '400c000000000000' + '01' + 'da0d40');
  });

  it('puts delta-of-delta 8192 in the 14-bit bucket and 8193 in the 17-bit one', () => {
    // t 0, 10, 8212: dod 8192 → '10' 10000000000000; values 0 → '0' each
    // bits after the delta byte 0a: 0 10 10000000000000 0 → 01010000 00000000 00······
    expect(hex(chunkOf([[0, 0], [10, 0], [8212, 0]]))).toBe('0003' + '00' + '0000000000000000' + '0a' + '500000');
    // t 0, 10, 8213: dod 8193 → '110' 00010000000000001
    // bits: 0 110 00010000000000001 0 → 01100001 00000000 00001000
    expect(hex(chunkOf([[0, 0], [10, 0], [8213, 0]]))).toBe('0003' + '00' + '0000000000000000' + '0a' + '610008');
  });

  it('round-trips every bucket edge, positive and negative', () => {
    const dods = [8192, 8193, -8191, -8192, 65536, 65537, -65535, -65536, 524288, 524289, -524287, -524288, 2 ** 40, -(2 ** 39)];
    const ts = [0, 2 ** 41];
    let delta = 2 ** 41;
    for (const d of dods) {
      delta += d;
      ts.push(ts[ts.length - 1]! + delta);
    }
    const back = decodeXorChunk(chunkOf(ts.map((t) => [t, 7])));
    expect(Array.from(back.timestamps)).toEqual(ts);
  });
});

describe('XOR chunk round trips', () => {
  // Through JS numbers, so signalling NaNs may arrive quieted; the exact stale marker test is below.
  const special = ['7ff0000000000002', '7ff8000000000001', 'fff8000000000000', '7ff0000000000000', 'fff0000000000000', '8000000000000000', '0000000000000001', '7fefffffffffffff'].map(fromBits);

  for (let seed = 1; seed <= 40; seed++) {
    it(`random series ${seed}`, () => {
      const rnd = prng(seed);
      const n = 1 + Math.floor(rnd() * 240);
      let t = Math.floor((rnd() - 0.5) * 2 ** 50);
      const ts: number[] = [];
      const vs = new Float64Array(n);
      let v = rnd() * 100;
      for (let i = 0; i < n; i++) {
        const r = rnd();
        // small jitter, big jumps, repeats of the step, and huge gaps
        t += r < 0.5 ? 15_000 : r < 0.7 ? 15_000 + Math.floor((rnd() - 0.5) * 2000) : r < 0.9 ? 1 + Math.floor(rnd() * 2 ** 21) : 1 + Math.floor(rnd() * 2 ** 40);
        ts.push(t);
        const k = rnd();
        if (k < 0.3) {
          // keep v: equal values
        } else if (k < 0.5) v = special[Math.floor(rnd() * special.length)]!;
        else if (k < 0.7) v = Math.floor(rnd() * 1000);
        else if (k < 0.8) v = (rnd() - 0.5) * 1e300;
        else if (k < 0.9) v = (rnd() - 0.5) * 1e-300;
        else v = v + rnd();
        vs[i] = v;
      }
      const bytes = encodeXorChunk(ts, vs);
      expect(chunkNumSamples(bytes)).toBe(n);
      const back = decodeXorChunk(bytes);
      expect(Array.from(back.timestamps)).toEqual(ts);
      for (let i = 0; i < n; i++) expect(bitsAt(back.values, i), `sample ${i}`).toBe(bitsAt(vs, i));
    });
  }

  it('keeps the stale marker, NaN payloads and -0 bit for bit', () => {
    const vs = floatsFromBits(['7ff0000000000002', '8000000000000000', '0000000000000000', '7ff8000000000001', '7ff0000000000000', 'fff0000000000000', '7ff0000000000002', '7ff4000000000000']);
    const ts = [-3000, -1000, 0, 1, 2, 3, 4, 5];
    const back = decodeXorChunk(encodeXorChunk(ts, vs));
    expect(Array.from(back.timestamps)).toEqual(ts);
    for (let i = 0; i < vs.length; i++) expect(bitsAt(back.values, i)).toBe(bitsAt(vs, i));
  });

  it('iterates with XorIterator and fails clearly on truncated bytes', () => {
    const bytes = chunkOf([
      [10, 1.5],
      [20, 2.5],
      [30, 3.5],
    ]);
    const it = new XorIterator(bytes);
    const got: Array<[number, number]> = [];
    while (it.next()) got.push([it.t, it.value]);
    expect(got).toEqual([
      [10, 1.5],
      [20, 2.5],
      [30, 3.5],
    ]);
    const cut = new XorIterator(bytes.subarray(0, bytes.length - 3));
    expect(() => {
      while (cut.next());
    }).toThrow(ChunkDecodeError);
  });
});

describe('XorAppender.reset', () => {
  it('starts a chunk in the same buffer with the same bytes a new appender writes', () => {
    const app = new XorAppender();
    for (let i = 0; i < 200; i++) app.append(1_000 + i * 15_000 + (i % 3), Math.sin(i) * 1e6);
    const second: Array<[number, number]> = [[5_000_000, 1], [5_015_000, 1], [5_030_001, 2.5], [5_045_000, -0]];
    app.reset();
    expect(app.numSamples).toBe(0);
    for (const [t, v] of second) app.append(t, v);
    expect(hex(app.bytes())).toBe(hex(chunkOf(second)));
  });
});

describe('BitWriter', () => {
  it('writes what a bit-by-bit reference writes, for random widths and values', async () => {
    const { BitWriter } = await import('../../../src/tsdb/chunkenc/bit-writer.js');
    let seed = 42;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 50; round++) {
      const start = Math.floor(rnd() * 20);
      const w = new BitWriter(1, start);
      const bits: number[] = Array.from({ length: start }, () => 0);
      for (let k = 0; k < 300; k++) {
        const n = Math.floor(rnd() * 33);
        const value = Math.floor(rnd() * 2 ** 32) >>> 0;
        w.writeBits(value, n);
        for (let b = n - 1; b >= 0; b--) bits.push(Math.floor(value / 2 ** b) % 2);
      }
      const want = new Uint8Array(Math.ceil(bits.length / 8));
      bits.forEach((b, i) => (want[i >>> 3]! |= b << (7 - (i & 7))));
      expect(hex(w.toBytes())).toBe(hex(want));
    }
  });
});

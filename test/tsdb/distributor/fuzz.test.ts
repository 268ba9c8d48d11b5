// Hostile remote-write bodies: random bytes, truncations and mutations of valid requests, wrong
// wire types, giant lengths, deep nesting, snappy bombs. Every one ends in a decoded request or
// a 400/413 with a message — never another exception — and memory stays bounded.
import { describe, expect, it } from 'vitest';
import { decodeBody } from '../../../src/tsdb/distributor/push-handler.js';
import { snappyDecode } from '../../../src/tsdb/distributor/snappy-block.js';
import { prng } from '../../profiles/pprof/reference.js';
import { encodeV1, encodeV2, snappy, type TestSeries } from './helpers.js';

const MAX = 1024 * 1024;

function attempt(version: '1.0' | '2.0', compressed: Uint8Array): 'ok' | number {
  try {
    decodeBody(version, compressed, MAX);
    return 'ok';
  } catch (e) {
    const err = e as { status?: number; message?: string };
    if (err.status !== 400 && err.status !== 413) throw e;
    expect(err.message).toBeTruthy();
    return err.status;
  }
}

const sample = (i: number): TestSeries => ({
  labels: { __name__: `m_${i}`, job: 'fuzz', instance: `h${i}` },
  samples: [[1_700_000_000_000 + i, i * 1.5], [1_700_000_000_001 + i, -i]],
  exemplars: i % 3 === 0 ? 1 : 0,
  histograms: i % 5 === 0 ? 1 : 0,
});

describe('snappy block decoder', () => {
  it('round-trips what snappyjs compresses (literals, short and long copies, overlapping runs)', () => {
    const rng = prng(9);
    for (let i = 0; i < 300; i++) {
      const parts: Buffer[] = [];
      const n = Math.floor(rng() * 40);
      for (let p = 0; p < n; p++) {
        const r = rng();
        if (r < 0.3) parts.push(Buffer.alloc(Math.floor(rng() * 300), Math.floor(rng() * 256)));
        else if (r < 0.6 && parts.length > 0) parts.push(parts[Math.floor(rng() * parts.length)]!);
        else parts.push(Buffer.from(Array.from({ length: Math.floor(rng() * 2000) }, () => Math.floor(rng() * 8))));
      }
      const raw = Buffer.concat(parts);
      expect(snappyDecode(snappy(raw), raw.length).equals(raw)).toBe(true);
    }
  });

  it('refuses a literal length with the top bit set (snappyjs loops on it) and a short output', () => {
    // Preamble 10, literal tag 0xfc (4-byte length follows) = 0xffffffff.
    expect(() => snappyDecode(Buffer.from([0x0a, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x00]), 100)).toThrow('literal runs past the input');
    expect(() => snappyDecode(Buffer.from([0x0a, 0x00, 0x41]), 100)).toThrow('decoded 1 bytes, announced 10');
  });
});

describe('remote-write fuzz', () => {
  it('random bodies, compressed and not', () => {
    const rng = prng(7);
    for (let i = 0; i < 3000; i++) {
      const raw = Uint8Array.from({ length: Math.floor(rng() * 300) }, () => Math.floor(rng() * 256));
      attempt(i % 2 ? '1.0' : '2.0', raw);
      attempt(i % 2 ? '1.0' : '2.0', snappy(raw));
    }
  });

  it('truncated and mutated valid requests', () => {
    const rng = prng(8);
    const series = Array.from({ length: 20 }, (_, i) => sample(i));
    for (const [version, raw] of [['1.0', encodeV1(series)], ['2.0', encodeV2(series)]] as const) {
      expect(attempt(version, snappy(raw))).toBe('ok');
      for (let cut = 0; cut < raw.length; cut += 3) attempt(version, snappy(raw.subarray(0, cut)));
      for (let i = 0; i < 3000; i++) {
        const m = Uint8Array.from(raw);
        const flips = 1 + Math.floor(rng() * 4);
        for (let f = 0; f < flips; f++) m[Math.floor(rng() * m.length)] = Math.floor(rng() * 256);
        attempt(version, snappy(m));
      }
      // Mutated snappy framing too.
      const c = snappy(raw);
      for (let i = 0; i < 1000; i++) {
        const m = Uint8Array.from(c);
        m[Math.floor(rng() * m.length)] = Math.floor(rng() * 256);
        attempt(version, m);
      }
    }
  });

  it('wrong wire types for every known field', () => {
    for (const field of [1, 2, 3, 4, 5]) {
      for (const wt of [0, 1, 2, 3, 4, 5, 6, 7]) {
        const body = Buffer.from([(field << 3) | wt, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
        attempt('1.0', snappy(body));
        attempt('2.0', snappy(body));
        // The same inside a TimeSeries.
        const nested = Buffer.concat([Buffer.from([0x0a, body.length]), body]);
        attempt('1.0', snappy(nested));
        attempt('2.0', snappy(Buffer.concat([Buffer.from([0x2a, body.length]), body])));
      }
    }
  });

  it('giant lengths and snappy bombs are refused before anything is allocated', () => {
    const before = process.memoryUsage().arrayBuffers;
    // A length prefix of ~2^62 inside a tiny body.
    const giant = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f]);
    expect(attempt('1.0', snappy(giant))).toBe(400);
    // Snappy preambles announcing ~4 GiB, more than 32 bits, and just over the cap.
    expect(attempt('1.0', Buffer.from([0x80, 0x80, 0x80, 0x80, 0x0f, 0x00]))).toBe(413);
    expect(attempt('1.0', Buffer.from([0x80, 0x80, 0x80, 0x80, 0x10, 0x00]))).toBe(400);
    const over = Buffer.alloc(8);
    let n = MAX + 1;
    let i = 0;
    while (n >= 0x80) {
      over[i++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    over[i++] = n;
    expect(attempt('1.0', over.subarray(0, i + 1))).toBe(413);
    // Framed snappy (stream format) is not what remote write uses.
    expect(attempt('1.0', Buffer.from('ff060000734e61507059', 'hex'))).toBe(400);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * MAX);
  });

  it('deep nesting of unknown length-delimited fields is skipped without recursion', () => {
    // 10,000 levels of field 15 (unknown) wrapping each other, inside a TimeSeries.
    let inner: Buffer = Buffer.alloc(0);
    for (let d = 0; d < 10_000; d++) {
      const len: number[] = [];
      let n = inner.length;
      while (n >= 0x80) {
        len.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      len.push(n);
      inner = Buffer.concat([Buffer.from([0x7a, ...len]), inner]);
    }
    expect(attempt('1.0', snappy(inner))).toBe('ok');
  });

  it('a body at the cap of tiny series decodes with memory linear in its size', () => {
    // ~1 MiB of minimal samples (4 bytes each) in one series.
    const sampleBytes = Buffer.from([0x12, 0x02, 0x10, 0x01]);
    const count = Math.floor((MAX - 64) / sampleBytes.length);
    const series = Buffer.concat([Buffer.from([0x0a, 0x06, 0x0a, 0x04]), Buffer.from('__na'), ...Array.from({ length: count }, () => sampleBytes)]);
    const lenBytes: number[] = [];
    let n = series.length;
    while (n >= 0x80) {
      lenBytes.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    lenBytes.push(n);
    const body = Buffer.concat([Buffer.from([0x0a, ...lenBytes]), series]);
    const decoded = decodeBody('1.0', snappy(body), 2 * MAX);
    expect(decoded.samples).toBe(count);
  });
});

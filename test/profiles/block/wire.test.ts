import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { SymbolsSchema } from '../../../src/gen/block/v1/sections_pb.js';
import { crc32c } from '../../../src/profiles/block/crc32c.js';
import { BlockFormatError } from '../../../src/profiles/block/errors.js';
import type { Symbols } from '../../../src/profiles/block/model.js';
import { decodeSymbols, encodeSymbols } from '../../../src/profiles/block/sections.js';
import { acmeApiSymbols } from './fixture.js';

const INT64_KEYS = ['functionStartLine', 'lineNumber'] as const;
const UINT64_KEYS = ['mappingMemoryStart', 'mappingMemoryLimit', 'mappingFileOffset', 'locationAddress'] as const;

/** The same symbols through @bufbuild/protobuf's reflection encoder. */
function referenceBytes(s: Symbols): Uint8Array {
  const init: Record<string, unknown> = { ...s };
  for (const k of [...INT64_KEYS, ...UINT64_KEYS]) init[k] = s[k].map((v) => BigInt(v));
  return toBinary(SymbolsSchema, create(SymbolsSchema, init));
}

function frameOf(pb: Uint8Array): Uint8Array {
  const out = new Uint8Array(pb.length + 8);
  out.set([0x4b, 0x53, 0x59, 0x31]); // "KSY1"
  out.set(pb, 4);
  new DataView(out.buffer).setUint32(4 + pb.length, crc32c(out.subarray(0, 4 + pb.length)));
  return out;
}

/** Symbols with values at every varint width edge and strings of every length-prefix width. */
function edgeSymbols(): Symbols {
  const s = acmeApiSymbols();
  s.strings.push('ünïcødé', '😀 astral', 'x'.repeat(42), 'y'.repeat(43), 'é'.repeat(100), 'z'.repeat(20_000), '\ud800 lone');
  s.functionStartLine = [-1, -(2 ** 53 - 1), 2 ** 53 - 1, 127];
  s.mappingFlags = [0xffff_ffff];
  s.mappingMemoryStart = [2 ** 64 - 2048];
  s.mappingMemoryLimit = [2 ** 63];
  s.mappingFileOffset = [2 ** 35];
  s.locationAddress = [2 ** 32, 2 ** 32 - 1, 2 ** 53 + 2];
  s.lineNumber = [-5, 128, 16_383, 16_384];
  return s;
}

describe('symbols wire format', () => {
  it('writes exactly the bytes of the block.v1.Symbols reflection encoder', () => {
    for (const s of [acmeApiSymbols(), edgeSymbols()]) {
      const mine = encodeSymbols(s);
      expect(Buffer.from(mine).equals(Buffer.from(frameOf(referenceBytes(s))))).toBe(true);
    }
  });

  it('reads back what it writes, and what the reflection decoder reads', () => {
    const s = edgeSymbols();
    const bytes = encodeSymbols(s);
    const back = decodeSymbols(bytes);
    // Lone surrogates become U+FFFD in UTF-8, as with any protobuf encoder.
    expect(back).toEqual({ ...s, strings: s.strings.map((x) => x.replace('\ud800', '\ufffd')) });
    const ref = fromBinary(SymbolsSchema, bytes.subarray(4, bytes.length - 4));
    expect(ref.mappingMemoryStart).toEqual([2n ** 64n - 2048n]);
    expect(ref.functionStartLine).toEqual([-1n, -(2n ** 53n - 1n), 2n ** 53n - 1n, 127n]);
  });

  it('accepts unpacked repeated fields and skips unknown fields, as a protobuf reader must', () => {
    const pb = referenceBytes(acmeApiSymbols());
    // functionName gets one more entry unpacked (tag 2, varint) and so do the
    // other function columns; field 99 (varint), 100 (fixed64) and 101 (bytes) are unknown.
    const extra = [0x10, 0x01, 0x18, 0x01, 0x20, 0x00, 0x28, 0x7f, 0x98, 0x06, 0x05, 0xa1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0xaa, 0x06, 0x02, 0x09, 0x09];
    const s = decodeSymbols(frameOf(Uint8Array.from([...pb, ...extra])));
    const want = acmeApiSymbols();
    want.functionName.push(1);
    want.functionSystemName.push(1);
    want.functionFilename.push(0);
    want.functionStartLine.push(127);
    expect(s).toEqual(want);
  });

  it('rejects malformed protobuf inside a valid frame with BlockFormatError', () => {
    const cases: [number[], RegExp][] = [
      [[0x0a, 0x05, 0x61], /length 5 overruns/],
      [[0x12, 0x03, 0x01, 0x80, 0x80], /truncated varint/],
      [[0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], /longer than 10 bytes/],
      [[0x08, 0x01], /wire type 0 for field 1/],
      [[0x15, 0x01, 0x02, 0x03, 0x04], /wire type 5 for a varint field/],
      [[0x00], /field number 0/],
      [[0x9b, 0x06], /unsupported wire type 3/],
      [[0x98], /truncated varint/],
    ];
    for (const [body, message] of cases) {
      const bytes = frameOf(Uint8Array.from(body));
      expect(() => decodeSymbols(bytes), String(message)).toThrow(BlockFormatError);
      expect(() => decodeSymbols(bytes)).toThrow(message);
    }
  });
});

describe('crc32c slicing', () => {
  it('matches a bytewise reference at every length and alignment', () => {
    const ref = (d: Uint8Array): number => {
      let c = 0xffffffff;
      for (const b of d) {
        c ^= b;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 2654435761) >>> 24);
    for (let off = 0; off < 8; off++) {
      for (let len = 0; len <= 70; len++) expect(crc32c(data.subarray(off, off + len))).toBe(ref(data.subarray(off, off + len)));
    }
    expect(crc32c(data.subarray(37), crc32c(data.subarray(0, 37)))).toBe(ref(data));
  });
});

// The remote-write 1.0 encoder against bytes written by hand from the protobuf spec, the decoder
// against the encoder, and the snappy block format.
import { describe, expect, it } from 'vitest';
import {
  decodeWriteRequest,
  encodeWriteRequest,
  encodedSeriesSize,
  RemoteWriteDecodeError,
  type RemoteWriteSeries,
} from '../../../src/profiles/exporter/remote-write-encoding.js';
import { snappyCompress, snappyUncompress } from '../../../src/profiles/exporter/snappy.js';

/** Hex bytes; `#` starts a comment that runs to the end of the line. */
const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));

describe('remote-write encoding', () => {
  it('encodes a tiny WriteRequest to the bytes the protobuf spec gives', () => {
    // WriteRequest{timeseries=[{labels=[{__name__,up},{job,a}], samples=[{1.0, 1000}]}]}
    const expected = hex(`
      0a 28  # timeseries (field 1, LEN), 40 bytes
        0a 0e  # labels (field 1, LEN), 14 bytes
          0a 08 5f 5f 6e 61 6d 65 5f 5f  # name "__name__"
          12 02 75 70  # value "up"
        0a 08  # labels, 8 bytes
          0a 03 6a 6f 62  # name "job"
          12 01 61  # value "a"
        12 0c  # samples (field 2, LEN), 12 bytes
          09 00 00 00 00 00 00 f0 3f  # value (field 1, I64) = 1.0 little-endian
          10 e8 07  # timestamp (field 2, VARINT) = 1000
    `);
    // Labels given unsorted: the encoder sorts them by name.
    const got = encodeWriteRequest([{ labels: [{ name: 'job', value: 'a' }, { name: '__name__', value: 'up' }], samples: [{ value: 1, timestampMs: 1000 }] }]);
    expect(Buffer.from(got).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
    expect(got.length).toBe(42);
  });

  it('writes a negative timestamp as a 10-byte two\'s-complement varint and leaves zeros out', () => {
    const got = encodeWriteRequest([{ labels: [{ name: '__name__', value: 'x' }], samples: [{ value: 0, timestampMs: -1 }] }]);
    // labels 0a 0f ..., sample 12 0b 10 ff ff ff ff ff ff ff ff ff 01 (value 0 omitted)
    expect(Buffer.from(got).toString('hex')).toContain('120b10ffffffffffffffffff01');
    expect(decodeWriteRequest(got)[0]!.samples).toEqual([{ value: 0, timestampMs: -1 }]);
  });

  it('round-trips series with UTF-8 values, NaN, negative zero, large timestamps', () => {
    const series: RemoteWriteSeries[] = [
      {
        labels: [
          { name: '__name__', value: 'profiles_recorded_cpu' },
          { name: 'profiles_rule_id', value: 'r1' },
          { name: 'service_name', value: 'café ☕ 日本' },
        ],
        samples: [{ value: 123.456, timestampMs: 1_735_689_600_123 }],
      },
      { labels: [{ name: '__name__', value: 'b' }], samples: [{ value: Number.NaN, timestampMs: 1 }, { value: -0, timestampMs: 2 }, { value: 1e300, timestampMs: 2 ** 52 }] },
      { labels: [{ name: '__name__', value: 'c' }], samples: [] },
    ];
    const bytes = encodeWriteRequest(series);
    const back = decodeWriteRequest(bytes);
    expect(back).toEqual(series);
    expect(Object.is(back[1]!.samples[1]!.value, -0)).toBe(true);
    expect(bytes.length).toBe(series.reduce((n, s) => n + encodedSeriesSize(s), 0));
  });

  it('skips unknown fields and rejects malformed input', () => {
    const known = encodeWriteRequest([{ labels: [{ name: '__name__', value: 'up' }], samples: [{ value: 2, timestampMs: 5 }] }]);
    // Append a metadata entry (field 3, LEN) and a varint field 7: both skipped.
    const withUnknown = new Uint8Array([...known, 0x1a, 0x02, 0x08, 0x01, 0x38, 0x05]);
    expect(decodeWriteRequest(withUnknown)).toEqual(decodeWriteRequest(known));
    expect(() => decodeWriteRequest(known.subarray(0, known.length - 2))).toThrow(RemoteWriteDecodeError);
    expect(() => decodeWriteRequest(new Uint8Array([0x0a, 0x7f]))).toThrow(/runs past/);
    expect(() => decodeWriteRequest(new Uint8Array([0x0b]))).toThrow(/wire type 3/);
    expect(() => decodeWriteRequest(new Uint8Array([0x0a, 0x06, 0x0a, 0x04, 0x0a, 0x02, 0xff, 0xfe]))).toThrow(/UTF-8/);
  });

  it('returns an empty list for an empty request', () => {
    expect(encodeWriteRequest([]).length).toBe(0);
    expect(decodeWriteRequest(new Uint8Array())).toEqual([]);
  });
});

describe('snappy block format', () => {
  it('round-trips and starts with the uvarint of the uncompressed length (block, not framed)', () => {
    const data = encodeWriteRequest(
      Array.from({ length: 500 }, (_, i) => ({ labels: [{ name: '__name__', value: 'profiles_recorded_x' }, { name: 'i', value: String(i) }], samples: [{ value: i, timestampMs: 1000 + i }] })),
    );
    const compressed = snappyCompress(data);
    expect(compressed.length).toBeLessThan(data.length);
    // Framed snappy starts with 0xff "sNaPpY"; block data with the length as a uvarint.
    let len = 0;
    let shift = 1;
    for (let i = 0; ; i++) {
      len += (compressed[i]! & 0x7f) * shift;
      if (compressed[i]! < 0x80) break;
      shift *= 128;
    }
    expect(len).toBe(data.length);
    expect(snappyUncompress(compressed, data.length)).toEqual(data);
  });

  it('decodes a literal-only block written by hand, and refuses a length above the cap', () => {
    // uvarint 5, literal tag (len-1)<<2 = 0x10, "hello"
    const block = hex('05 10 68 65 6c 6c 6f');
    expect(Buffer.from(snappyUncompress(block, 100)).toString()).toBe('hello');
    expect(() => snappyUncompress(hex('ff ff ff 0f 00'), 1024)).toThrow(/too big/);
  });
});

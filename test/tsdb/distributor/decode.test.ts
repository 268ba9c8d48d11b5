// The typed-array decoders against protobufjs (the reference encoder) for remote write 1.0 and
// 2.0: labels, timestamps (negative, large), value bits (stale marker, NaN payloads, -0, ±Inf),
// exemplars/histograms counted, metadata, malformed 2.0 symbol tables.
import { describe, expect, it } from 'vitest';
import { decodeWriteRequestV1 } from '../../../src/tsdb/distributor/remote-write-v1.js';
import { decodeWriteRequestV2 } from '../../../src/tsdb/distributor/remote-write-v2.js';
import { decodeUtf8, RemoteWriteDecodeError } from '../../../src/tsdb/distributor/wire-reader.js';
import { RequestV2, type TestSeries, bitsAt, bitsOf, encodeV1, encodeV2, staleNaN, STALE_HEX, STALE_PLACEHOLDER, withStaleMarkers } from './helpers.js';
import { prng as makeRng } from '../../profiles/pprof/reference.js';

const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

function randomSeries(rng: () => number, n: number): TestSeries[] {
  const specials = [staleNaN(), NaN, -0, Infinity, -Infinity, Number.MAX_VALUE, 5e-324, 0];
  return Array.from({ length: n }, (_, i) => ({
    labels: [
      ['__name__', `metric_${i % 7}`],
      ['instance', `host-${Math.floor(rng() * 100)}:9100`],
      ['job', 'node'],
      ['utf8', 'ümlaut ✓ 日本'],
    ] as [string, string][],
    samples: Array.from({ length: Math.floor(rng() * 5) }, (_, j) => [
      j === 0 && i % 5 === 0 ? -1_000 - Math.floor(rng() * 1e6) : 1_700_000_000_000 + Math.floor(rng() * 1e9),
      rng() < 0.3 ? specials[Math.floor(rng() * specials.length)]! : (rng() - 0.5) * 1e6,
    ] as [number, number]),
    exemplars: rng() < 0.2 ? 2 : 0,
    histograms: rng() < 0.1 ? 1 : 0,
  }));
}

function expectSame(decoded: ReturnType<typeof decodeWriteRequestV1>, series: TestSeries[]): void {
  expect(decoded.series).toHaveLength(series.length);
  let samples = 0;
  series.forEach((s, i) => {
    const d = decoded.series[i]!;
    expect(d.labels).toEqual(Array.isArray(s.labels) ? s.labels : Object.entries(s.labels));
    const want = s.samples ?? [];
    samples += want.length;
    // A series' samples are [from, to) of the request's arrays.
    expect(Array.from(d.timestamps.subarray(d.from, d.to))).toEqual(want.map(([t]) => t));
    want.forEach(([, v], j) => expect(bitsAt(d.values, d.from! + j)).toBe(bitsOf(v)));
    expect(d.exemplars).toBe(s.exemplars ?? 0);
    expect(d.histograms).toBe(s.histograms ?? 0);
  });
  expect(decoded.samples).toBe(samples);
}

describe('remote write 1.0 decoder', () => {
  it('reads what protobufjs writes, bit for bit, over random requests', () => {
    const rng = makeRng(1);
    for (let round = 0; round < 50; round++) {
      const series = randomSeries(rng, Math.floor(rng() * 40));
      expectSame(decodeWriteRequestV1(buf(encodeV1(series))), series);
    }
  });

  it('keeps the stale marker bits 0x7ff0000000000002 exactly', () => {
    const body = withStaleMarkers(encodeV1([{ labels: { __name__: 'up' }, samples: [[1000, STALE_PLACEHOLDER], [2000, 1]] }]));
    expect(body.toString('hex')).toContain('020000000000f07f');
    const d = decodeWriteRequestV1(body);
    expect(bitsAt(d.series[0]!.values, 0)).toBe(STALE_HEX);
    expect(bitsAt(d.series[0]!.values, 1)).toBe(bitsOf(1));
    const d2 = decodeWriteRequestV2(withStaleMarkers(encodeV2([{ labels: { __name__: 'up' }, samples: [[1000, STALE_PLACEHOLDER]] }])));
    expect(bitsAt(d2.series[0]!.values, 0)).toBe(STALE_HEX);
  });

  it('grows its sample arrays past the initial capacity without mixing series', () => {
    const series: TestSeries[] = Array.from({ length: 3 }, (_, i) => ({
      labels: { __name__: `m${i}` },
      samples: Array.from({ length: 500 }, (_, j) => [j * 1000 + i, j + i / 10] as [number, number]),
    }));
    expectSame(decodeWriteRequestV1(buf(encodeV1(series))), series);
  });

  it('reads metadata', () => {
    const d = decodeWriteRequestV1(buf(encodeV1([], [{ type: 1, metricFamilyName: 'http_requests_total', help: 'Requests.', unit: 'requests' }, { metricFamilyName: 'x' }])));
    expect(d.series).toEqual([]);
    expect(d.metadata).toEqual([
      { metricFamilyName: 'http_requests_total', type: 'counter', help: 'Requests.', unit: 'requests' },
      { metricFamilyName: 'x', type: 'unknown', help: '', unit: '' },
    ]);
  });

  it('flags a label value that is not UTF-8 (a validation error of that series, not of the request)', () => {
    // TimeSeries{labels=[{__name__,"up"},{bad,"\xff"}]}
    const label = (n: string, v: Buffer) => Buffer.concat([Buffer.from([0x0a, n.length]), Buffer.from(n), Buffer.from([0x12, v.length]), v]);
    const l1 = label('__name__', Buffer.from('up'));
    const l2 = label('bad', Buffer.from([0xff]));
    const ts = Buffer.concat([Buffer.from([0x0a, l1.length]), l1, Buffer.from([0x0a, l2.length]), l2]);
    const body = Buffer.concat([Buffer.from([0x0a, ts.length]), ts]);
    const d = decodeWriteRequestV1(body);
    expect(d.series[0]!.invalidUtf8Label).toBe('bad');
  });

  it('rejects a known field sent with the wrong wire type', () => {
    // timeseries (field 1) as a varint
    expect(() => decodeWriteRequestV1(Buffer.from([0x08, 0x01]))).toThrow(RemoteWriteDecodeError);
    expect(() => decodeWriteRequestV1(Buffer.from([0x08, 0x01]))).toThrow('wire type 0, expected 2');
  });

  it('decodes a 2.0 body as an empty 1.0 request (fields 1–3 are reserved in 2.0)', () => {
    const d = decodeWriteRequestV1(buf(encodeV2([{ labels: { __name__: 'up' }, samples: [[1, 1]] }])));
    expect(d.series).toEqual([]);
  });
});

describe('remote write 2.0 decoder', () => {
  it('reads what protobufjs writes, bit for bit, over random requests', () => {
    const rng = makeRng(2);
    for (let round = 0; round < 50; round++) {
      const series = randomSeries(rng, Math.floor(rng() * 40));
      expectSame(decodeWriteRequestV2(buf(encodeV2(series))), series);
    }
  });

  it('reads per-series metadata, named by the series metric name', () => {
    const d = decodeWriteRequestV2(buf(encodeV2([{ labels: { __name__: 'req_total', job: 'a' }, samples: [[1, 1]], metadata: { type: 1, help: 'Requests.', unit: 'requests' } }])));
    expect(d.metadata).toEqual([{ metricFamilyName: 'req_total', type: 'counter', help: 'Requests.', unit: 'requests' }]);
  });

  it('accepts unpacked labels_refs', () => {
    // symbols ["", "__name__", "up"]; one series with refs 1,2 sent as two varint fields.
    const sym = (s: string) => Buffer.concat([Buffer.from([0x22, s.length]), Buffer.from(s)]);
    const series = Buffer.from([0x08, 0x01, 0x08, 0x02]);
    const body = Buffer.concat([sym(''), sym('__name__'), sym('up'), Buffer.from([0x2a, series.length]), series]);
    expect(decodeWriteRequestV2(body).series[0]!.labels).toEqual([['__name__', 'up']]);
  });

  it('rejects a symbol table whose first entry is not empty, out-of-range refs and odd refs', () => {
    const enc = (symbols: string[], refs: number[]) => buf(RequestV2.encode(RequestV2.fromObject({ symbols, timeseries: [{ labelsRefs: refs }] })).finish());
    expect(() => decodeWriteRequestV2(enc(['x', 'a'], [0, 1]))).toThrow('symbols[0] must be the empty string');
    expect(() => decodeWriteRequestV2(enc(['', 'a'], [1, 5]))).toThrow('symbol reference 5 is out of range (2 symbols)');
    expect(() => decodeWriteRequestV2(enc(['', 'a'], [1]))).toThrow('labels_refs has an odd length (1)');
  });

  it('finds symbols that come after the series in the body', () => {
    const sym = (s: string) => Buffer.concat([Buffer.from([0x22, s.length]), Buffer.from(s)]);
    const series = Buffer.from([0x0a, 0x02, 0x01, 0x02]);
    const body = Buffer.concat([Buffer.from([0x2a, series.length]), series, sym(''), sym('__name__'), sym('up')]);
    expect(decodeWriteRequestV2(body).series[0]!.labels).toEqual([['__name__', 'up']]);
  });
});

describe('label string interning', () => {
  const slotOf = (s: string): number => {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return (h ^ (h >>> 16)) & 0xffff;
  };

  it('returns the right string when two strings share a cache slot', () => {
    // Find two distinct same-length ASCII strings that map to one slot of the 64 Ki-slot cache.
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined; i++) {
      const s = `v${i.toString(36).padStart(5, '0')}`;
      const other = seen.get(slotOf(s));
      if (other !== undefined) pair = [other, s];
      else seen.set(slotOf(s), s);
    }
    const [a, b] = pair;
    const buf = Buffer.from(a + b + a + 'é');
    for (let k = 0; k < 3; k++) {
      expect(decodeUtf8(buf, 0, a.length)).toBe(a);
      expect(decodeUtf8(buf, a.length, 2 * a.length)).toBe(b);
      expect(decodeUtf8(buf, 2 * a.length, 3 * a.length)).toBe(a);
    }
    expect(decodeUtf8(buf, 0, buf.length)).toBe(a + b + a + 'é');
  });

  it('gives repeated label values as equal strings and still flags invalid UTF-8', () => {
    const buf = Buffer.from([0x6a, 0x6f, 0x62, 0xff]);
    let invalid = 0;
    expect(decodeUtf8(buf, 0, 3)).toBe('job');
    expect(decodeUtf8(buf, 0, 3)).toBe('job');
    decodeUtf8(buf, 0, 4, () => invalid++);
    expect(invalid).toBe(1);
  });
});

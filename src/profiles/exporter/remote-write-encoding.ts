// Remote write 1.0 wire format: `prometheus.WriteRequest` as protobuf (spec/tsdb.md §1.2).
//
//   WriteRequest { repeated TimeSeries timeseries = 1; }
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }   // timestamp in Unix ms
//
// A hand-written encoder: two passes over the series (sizes, then bytes) into one exactly-sized
// buffer, no intermediate message objects. Scalars equal to their proto3 default (0) are left
// out, as every proto3 encoder does; receivers read a missing field as 0. Labels are written
// sorted by name (the 1.0 spec's MUST); a series given unsorted is sorted on a copy.
//
// The decoder is the reverse, for tests (and for a receiver later): it skips unknown fields
// (exemplars, histograms, metadata) and throws RemoteWriteDecodeError on malformed input.

export interface RemoteWriteLabel {
  name: string;
  value: string;
}

export interface RemoteWriteSample {
  value: number;
  /** Unix ms; a safe integer. */
  timestampMs: number;
}

export interface RemoteWriteSeries {
  labels: RemoteWriteLabel[];
  samples: RemoteWriteSample[];
}

export class RemoteWriteDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteWriteDecodeError';
  }
}

// Tags: (field number << 3) | wire type. LEN = 2, I64 = 1, VARINT = 0.
const TAG_TIMESERIES = (1 << 3) | 2; // 0x0a
const TAG_LABELS = (1 << 3) | 2; // 0x0a
const TAG_SAMPLES = (2 << 3) | 2; // 0x12
const TAG_NAME = (1 << 3) | 2; // 0x0a
const TAG_VALUE_STR = (2 << 3) | 2; // 0x12
const TAG_VALUE_DOUBLE = (1 << 3) | 1; // 0x09
const TAG_TIMESTAMP = (2 << 3) | 0; // 0x10

function varintSize(n: number): number {
  // n is a non-negative length (< 2^31 here).
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Bytes of an int64 varint: negative numbers are always 10 (two's complement, not zigzag). */
function int64Size(n: number): number {
  return n < 0 ? 10 : varintSize(n);
}

function lenFieldSize(payload: number): number {
  return 1 + varintSize(payload) + payload;
}

function isSorted(labels: readonly RemoteWriteLabel[]): boolean {
  for (let i = 1; i < labels.length; i++) if (labels[i - 1]!.name > labels[i]!.name) return false;
  return true;
}

function sortedLabels(labels: RemoteWriteLabel[]): RemoteWriteLabel[] {
  return isSorted(labels) ? labels : [...labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function labelSize(l: RemoteWriteLabel): number {
  let size = 0;
  const n = Buffer.byteLength(l.name, 'utf8');
  const v = Buffer.byteLength(l.value, 'utf8');
  if (n > 0) size += lenFieldSize(n);
  if (v > 0) size += lenFieldSize(v);
  return size;
}

function sampleSize(s: RemoteWriteSample): number {
  let size = 0;
  if (s.value !== 0 || Object.is(s.value, -0)) size += 9;
  if (s.timestampMs !== 0) size += 1 + int64Size(s.timestampMs);
  return size;
}

/** Bytes of the TimeSeries message body (without its tag and length). */
function seriesBodySize(series: RemoteWriteSeries): number {
  let size = 0;
  for (const l of series.labels) size += lenFieldSize(labelSize(l));
  for (const s of series.samples) size += lenFieldSize(sampleSize(s));
  return size;
}

/** Bytes this series adds to an encoded WriteRequest (tag, length and body). */
export function encodedSeriesSize(series: RemoteWriteSeries): number {
  return lenFieldSize(seriesBodySize(series));
}

class Writer {
  readonly buf: Buffer;
  pos = 0;
  private readonly view: DataView;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  int64(n: number): void {
    if (n >= 0) return this.varint(n);
    let x = BigInt.asUintN(64, BigInt(n));
    while (x > 0x7fn) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  double(v: number): void {
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  string(tag: number, s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    if (len === 0) return;
    this.byte(tag);
    this.varint(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }
}

/** Encodes a WriteRequest holding `series` (labels sorted by name on the way). */
export function encodeWriteRequest(series: readonly RemoteWriteSeries[]): Uint8Array {
  const prepared = series.map((s) => ({ labels: sortedLabels(s.labels), samples: s.samples }));
  const bodySizes = prepared.map(seriesBodySize);
  let total = 0;
  for (const b of bodySizes) total += lenFieldSize(b);
  const w = new Writer(total);
  prepared.forEach((s, i) => {
    w.byte(TAG_TIMESERIES);
    w.varint(bodySizes[i]!);
    for (const l of s.labels) {
      w.byte(TAG_LABELS);
      w.varint(labelSize(l));
      w.string(TAG_NAME, l.name);
      w.string(TAG_VALUE_STR, l.value);
    }
    for (const sample of s.samples) {
      w.byte(TAG_SAMPLES);
      w.varint(sampleSize(sample));
      if (sample.value !== 0 || Object.is(sample.value, -0)) {
        w.byte(TAG_VALUE_DOUBLE);
        w.double(sample.value);
      }
      if (sample.timestampMs !== 0) {
        w.byte(TAG_TIMESTAMP);
        w.int64(sample.timestampMs);
      }
    }
  });
  if (w.pos !== total) throw new Error(`remote-write encoder: wrote ${w.pos} bytes, sized ${total}`);
  return new Uint8Array(w.buf.buffer, w.buf.byteOffset, total);
}

// ---- Decoding ------------------------------------------------------------------------------

class Reader {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number; exact up to 2^53, which covers lengths and ms timestamps. */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RemoteWriteDecodeError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new RemoteWriteDecodeError('varint longer than 10 bytes');
  }

  /** An int64 varint, negative values included. */
  int64(): number {
    const start = this.pos;
    const n = this.varint();
    if (n < 2 ** 63) return n;
    // Two's complement negative: redo it exactly with BigInt.
    let x = 0n;
    for (let i = this.pos - 1; i >= start; i--) x = (x << 7n) | BigInt(this.buf[i]! & 0x7f);
    return Number(BigInt.asIntN(64, x));
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new RemoteWriteDecodeError('truncated double');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** The [start, end) of a length-delimited field's payload. */
  len(): [number, number] {
    const n = this.varint();
    const start = this.pos;
    if (n > this.end - start) throw new RemoteWriteDecodeError(`length ${n} runs past the end of the message`);
    this.pos = start + n;
    return [start, start + n];
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        if (this.pos + 8 > this.end) throw new RemoteWriteDecodeError('truncated fixed64');
        this.pos += 8;
        return;
      case 2:
        this.len();
        return;
      case 5:
        if (this.pos + 4 > this.end) throw new RemoteWriteDecodeError('truncated fixed32');
        this.pos += 4;
        return;
      default:
        throw new RemoteWriteDecodeError(`unsupported wire type ${wireType}`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeString(buf: Uint8Array, [start, end]: [number, number]): string {
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    throw new RemoteWriteDecodeError('string is not valid UTF-8');
  }
}

function decodeLabel(buf: Uint8Array, range: [number, number]): RemoteWriteLabel {
  const r = new Reader(buf, range[0], range[1]);
  const label: RemoteWriteLabel = { name: '', value: '' };
  while (!r.done()) {
    const tag = r.varint();
    if (tag === TAG_NAME) label.name = decodeString(buf, r.len());
    else if (tag === TAG_VALUE_STR) label.value = decodeString(buf, r.len());
    else r.skip(tag & 7);
  }
  return label;
}

function decodeSample(buf: Uint8Array, range: [number, number]): RemoteWriteSample {
  const r = new Reader(buf, range[0], range[1]);
  const sample: RemoteWriteSample = { value: 0, timestampMs: 0 };
  while (!r.done()) {
    const tag = r.varint();
    if (tag === TAG_VALUE_DOUBLE) sample.value = r.double();
    else if (tag === TAG_TIMESTAMP) sample.timestampMs = r.int64();
    else r.skip(tag & 7);
  }
  return sample;
}

function decodeSeries(buf: Uint8Array, range: [number, number]): RemoteWriteSeries {
  const r = new Reader(buf, range[0], range[1]);
  const series: RemoteWriteSeries = { labels: [], samples: [] };
  while (!r.done()) {
    const tag = r.varint();
    if (tag === TAG_LABELS) series.labels.push(decodeLabel(buf, r.len()));
    else if (tag === TAG_SAMPLES) series.samples.push(decodeSample(buf, r.len()));
    else r.skip(tag & 7);
  }
  return series;
}

/** Decodes a WriteRequest's time series (other fields are skipped). */
export function decodeWriteRequest(buf: Uint8Array): RemoteWriteSeries[] {
  const r = new Reader(buf, 0, buf.length);
  const out: RemoteWriteSeries[] = [];
  while (!r.done()) {
    const tag = r.varint();
    if (tag === TAG_TIMESERIES) out.push(decodeSeries(buf, r.len()));
    else r.skip(tag & 7);
  }
  return out;
}

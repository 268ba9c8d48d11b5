// The payloads of WAL records (framed by wal-segment.ts). Type numbers follow Prometheus
// (series = 1, samples = 2); the layouts are Kiln's own.
//
// series  (type 1): repeated { ref uvarint, label count uvarint, repeated { name, value } }
//                   where a string is uvarint byte length + UTF-8 bytes
// samples (type 2): repeated { ref uvarint, count uvarint, first timestamp varint,
//                   count−1 timestamp deltas varint (signed: an accepted out-of-order sample may
//                   follow a newer one), count values as 8 raw bytes each (IEEE 754 big-endian,
//                   so NaN payloads such as the stale marker survive) }
//
// A series record always precedes the first samples record that names its ref, in the same
// segment or an earlier one (or the checkpoint).

export const RECORD_SERIES = 1;
export const RECORD_SAMPLES = 2;

/** A checksummed record whose contents do not decode: a bug or an incompatible writer, not a torn write. */
export class WalDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WalDecodeError';
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Growable byte buffer with the varint helpers the records need. */
export class RecordWriter {
  bytes: Uint8Array;
  length = 0;

  /** `reserve`: bytes left free at the start (e.g. for a frame header; see frameInPlace). */
  constructor(
    initial = 256,
    private readonly reserve = 0,
  ) {
    this.bytes = new Uint8Array(Math.max(initial, reserve + 16));
    this.length = reserve;
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  uvarint(v: number): void {
    this.ensure(10);
    const b = this.bytes;
    let len = this.length;
    if (v >= 0x80000000) {
      // Millisecond timestamps: the low 28 bits as four groups with integer arithmetic, then
      // the rest (more than 3 bits, since v ≥ 2^31).
      let low = v % 0x10000000;
      v = Math.floor(v / 0x10000000);
      for (let i = 0; i < 4; i++) {
        b[len++] = (low & 0x7f) | 0x80;
        low >>>= 7;
      }
    }
    while (v >= 0x80) {
      b[len++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[len++] = v;
    this.length = len;
  }

  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** A 64-bit value as its two words, big-endian. */
  words(hi: number, lo: number): void {
    this.ensure(8);
    const b = this.bytes;
    const at = this.length;
    b[at] = hi >>> 24;
    b[at + 1] = (hi >>> 16) & 0xff;
    b[at + 2] = (hi >>> 8) & 0xff;
    b[at + 3] = hi & 0xff;
    b[at + 4] = lo >>> 24;
    b[at + 5] = (lo >>> 16) & 0xff;
    b[at + 6] = (lo >>> 8) & 0xff;
    b[at + 7] = lo & 0xff;
    this.length = at + 8;
  }

  string(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.ensure(10 + s.length * 3);
    const lenAt = this.length;
    // Reserve the maximum uvarint size for the length, then move the bytes if it was smaller.
    const { written } = encoder.encodeInto(s, this.bytes.subarray(lenAt + 5));
    this.uvarint(written);
    const headerEnd = this.length;
    if (headerEnd !== lenAt + 5) this.bytes.copyWithin(headerEnd, lenAt + 5, lenAt + 5 + written);
    this.length = headerEnd + written;
  }

  /** The written bytes, after the reserved ones (a view; copy if the writer is reused). */
  finish(): Uint8Array {
    return this.bytes.subarray(this.reserve, this.length);
  }
}

/** Sequential reader over one payload; every method throws WalDecodeError when it runs out. */
export class RecordReader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  uvarint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.at >= this.bytes.length) throw new WalDecodeError('record ends inside a varint');
      const b = this.bytes[this.at++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    throw new WalDecodeError('varint larger than 2^56');
  }

  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Reads 8 bytes into words[at + hiIndex], words[at + loIndex]. */
  words(out: Uint32Array, hiAt: number, loAt: number): void {
    if (this.at + 8 > this.bytes.length) throw new WalDecodeError('record ends inside a sample value');
    const b = this.bytes;
    const i = this.at;
    out[hiAt] = ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
    out[loAt] = ((b[i + 4]! << 24) | (b[i + 5]! << 16) | (b[i + 6]! << 8) | b[i + 7]!) >>> 0;
    this.at = i + 8;
  }

  string(): string {
    const len = this.uvarint();
    if (this.at + len > this.bytes.length) throw new WalDecodeError(`string of ${len} bytes runs past the record`);
    let s: string;
    try {
      s = decoder.decode(this.bytes.subarray(this.at, this.at + len));
    } catch {
      throw new WalDecodeError('label string is not valid UTF-8');
    }
    this.at += len;
    return s;
  }
}

/** One series announced in a series record. */
export interface WalSeries {
  ref: number;
  labels: Array<[string, string]>;
}

export function decodeSeriesRecord(payload: Uint8Array): WalSeries[] {
  const r = new RecordReader(payload);
  const out: WalSeries[] = [];
  while (!r.done) {
    const ref = r.uvarint();
    const n = r.uvarint();
    if (n > payload.length) throw new WalDecodeError(`series ${ref} announces ${n} labels in a ${payload.length}-byte record`);
    const labels: Array<[string, string]> = [];
    for (let i = 0; i < n; i++) labels.push([r.string(), r.string()]);
    out.push({ ref, labels });
  }
  return out;
}

/**
 * Walks a samples record, calling `onSeries(ref, timestamps, words)` once per group; `words` is
 * a word view of the group's values (value i at 2i+HI / 2i+LO, see float-bits.ts). The arrays
 * are reused between calls: copy what you keep.
 */
export function forEachSamplesGroup(
  payload: Uint8Array,
  hi: number,
  lo: number,
  onSeries: (ref: number, count: number, timestamps: Float64Array, words: Uint32Array) => void,
): void {
  const r = new RecordReader(payload);
  let ts = new Float64Array(64);
  let words = new Uint32Array(128);
  while (!r.done) {
    const ref = r.uvarint();
    const n = r.uvarint();
    if (n === 0 || n * 9 > payload.length) throw new WalDecodeError(`series ${ref} announces ${n} samples in a ${payload.length}-byte record`);
    if (n > ts.length) {
      ts = new Float64Array(n);
      words = new Uint32Array(2 * n);
    }
    let t = r.varint();
    ts[0] = t;
    for (let i = 1; i < n; i++) {
      t += r.varint();
      ts[i] = t;
    }
    for (let i = 0; i < n; i++) r.words(words, 2 * i + hi, 2 * i + lo);
    onSeries(ref, n, ts, words);
  }
}

// Hand-written protobuf reader for perftools.profiles.Profile (google/pprof
// profile.proto) that decodes straight into the typed-array columns of
// DecodedProfile. Object-per-sample decoders spend most of their time in GC on
// large profiles; this one fills growable typed arrays that it keeps for the
// next decode, and allocates one ArrayBuffer for the profile's columns and one
// JS string per string-table entry.
//
// Two passes: the first walks the wire format once, collecting raw ids; the
// second resolves location/function/mapping ids into 0-based indexes and checks
// string references (tables may appear in any order on the wire).
//
// Memory: every element pushed into a column consumed at least one input byte,
// and columns at most double when they grow, so memory stays within a constant
// factor of the input size whatever lengths or counts the input declares. The
// columns kept between decodes are dropped once they pass 16 MiB.

import { Buffer } from 'node:buffer';
import type { DecodedProfile } from './profile.js';

export interface PprofLimits {
  /** Max samples per profile (Pyroscope max_profile_stacktrace_samples). 0 = off. */
  maxSamples?: number;
  /** Max labels on one sample (max_profile_stacktrace_sample_labels). 0 = off. */
  maxSampleLabels?: number;
  /** Max frames per stack; deeper stacks lose their leaf-side frames (max_profile_stacktrace_depth). 0 = off. */
  maxStackDepth?: number;
  /** Max UTF-8 bytes per string; longer ones keep their last bytes (max_profile_symbol_value_length). 0 = off. */
  maxSymbolLength?: number;
  /** Max string-table entries. 0 = off. */
  maxStrings?: number;
  /** Max locations. 0 = off. */
  maxLocations?: number;
}

export class PprofDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PprofDecodeError';
  }
}

export type PprofLimitReason = 'samples_limit' | 'sample_labels_limit';

/** A per-tenant limit was exceeded; carries what the caller needs for a Pyroscope-style message. */
export class PprofLimitError extends PprofDecodeError {
  readonly reason: PprofLimitReason;
  readonly actual: number;
  readonly limit: number;
  constructor(reason: PprofLimitReason, actual: number, limit: number) {
    super(
      reason === 'samples_limit'
        ? `profile has ${actual} samples, limit is ${limit}`
        : `a sample has ${actual} labels, limit is ${limit}`,
    );
    this.name = 'PprofLimitError';
    this.reason = reason;
    this.actual = actual;
    this.limit = limit;
  }
}

const TWO32 = 4294967296;
const U32_MAX = 0xffffffff;

// Wire types.
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const SGROUP = 3;
const EGROUP = 4;
const I32 = 5;


// Growable columns. One class per element type (not one generic class) so that
// every push() call site sees a single typed-array shape and stays monomorphic.
// A column's capacity after clear() follows the input's size (see Columns).
class F64 {
  a = new Float64Array(0);
  n = 0;
  constructor(readonly capacityFor: (inputBytes: number) => number) {}
  clear(inputBytes: number): void {
    this.n = 0;
    const cap = this.capacityFor(inputBytes);
    if (this.a.length < cap) this.a = new Float64Array(cap);
  }
  push(v: number): void {
    if (this.n === this.a.length) this.grow();
    this.a[this.n++] = v;
  }
  grow(): void {
    const b = new Float64Array(this.a.length * 2);
    b.set(this.a);
    this.a = b;
  }
  /** The elements, copied into the profile's slab. */
  done(out: Slab): Float64Array {
    const v = out.f64(this.n);
    v.set(this.a.subarray(0, this.n));
    return v;
  }
}

class U32 {
  a = new Uint32Array(0);
  n = 0;
  constructor(readonly capacityFor: (inputBytes: number) => number) {}
  clear(inputBytes: number): void {
    this.n = 0;
    const cap = this.capacityFor(inputBytes);
    if (this.a.length < cap) this.a = new Uint32Array(cap);
  }
  push(v: number): void {
    if (this.n === this.a.length) this.grow();
    this.a[this.n++] = v;
  }
  grow(): void {
    const b = new Uint32Array(this.a.length * 2);
    b.set(this.a);
    this.a = b;
  }
  done(out: Slab): Uint32Array {
    const v = out.u32(this.n);
    v.set(this.a.subarray(0, this.n));
    return v;
  }
}

class U8 {
  a = new Uint8Array(0);
  n = 0;
  constructor(readonly capacityFor: (inputBytes: number) => number) {}
  clear(inputBytes: number): void {
    this.n = 0;
    const cap = this.capacityFor(inputBytes);
    if (this.a.length < cap) this.a = new Uint8Array(cap);
  }
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Uint8Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  done(out: Slab): Uint8Array {
    const v = out.u8(this.n);
    v.set(this.a.subarray(0, this.n));
    return v;
  }
}

// Initial capacities by input size: big profiles rarely regrow, tiny inputs allocate little.
const FEW = () => 4;
const SOME = () => 16;
const PER_128_BYTES = (inputBytes: number) => Math.max(16, Math.min(1 << 17, inputBytes >>> 7));
const PER_4_BYTES = (inputBytes: number) => Math.max(16, Math.min(1 << 22, inputBytes >>> 2));

/**
 * The growable columns the first pass fills. The profile's columns are copied
 * out of them at the end, so one set is kept for the next decode (decoding is
 * synchronous, one at a time per thread): allocating some thirty arrays per
 * profile, and freeing them again on V8's sweeper thread, cost about as much
 * as decoding a small profile's samples.
 */
class Columns {
  readonly stType = new U32(FEW);
  readonly stUnit = new U32(FEW);
  readonly comments = new U32(FEW);

  // Samples.
  readonly values = new F64(PER_128_BYTES);
  readonly sampleLocStart = new U32(PER_128_BYTES);
  /**
   * Raw location ids of all samples, resolved in place to indexes later. Ids
   * that do not fit in 32 bits (some profilers use addresses as ids) are stored
   * as U32_MAX with the real id appended to sampleLocBig, in order.
   */
  readonly sampleLocRaw = new U32(PER_4_BYTES);
  readonly sampleLocBig = new F64(FEW);
  readonly sampleLabelStart = new U32(PER_128_BYTES);
  readonly labelKey = new U32(SOME);
  readonly labelStr = new U32(SOME);
  readonly labelNum = new F64(SOME);
  readonly labelNumUnit = new U32(SOME);

  // Locations.
  readonly locId = new F64(PER_128_BYTES);
  readonly locMappingRaw = new F64(PER_128_BYTES);
  readonly locAddress = new F64(PER_128_BYTES);
  readonly locFolded = new U8(PER_128_BYTES);
  readonly locLineStart = new U32(PER_128_BYTES);
  readonly lineFunctionRaw = new F64(PER_128_BYTES);
  readonly lineNumber = new F64(PER_128_BYTES);
  readonly lineColumn = new F64(PER_128_BYTES);

  // Functions.
  readonly fnId = new F64(PER_128_BYTES);
  readonly fnName = new U32(PER_128_BYTES);
  readonly fnSystemName = new U32(PER_128_BYTES);
  readonly fnFilename = new U32(PER_128_BYTES);
  readonly fnStartLine = new F64(PER_128_BYTES);

  // Mappings.
  readonly mapId = new F64(FEW);
  readonly mapStart = new F64(FEW);
  readonly mapLimit = new F64(FEW);
  readonly mapOffset = new F64(FEW);
  readonly mapFilename = new U32(FEW);
  readonly mapBuildId = new U32(FEW);
  readonly mapFlags = new U8(FEW);

  /** Empties every column, with room for an input of `inputBytes`. */
  clear(inputBytes: number): void {
    for (const col of Object.values(this) as (F64 | U32 | U8)[]) col.clear(inputBytes);
  }

  bytes(): number {
    let n = 0;
    for (const col of Object.values(this) as (F64 | U32 | U8)[]) n += col.a.byteLength;
    return n;
  }
}

/** A column set grown past this (by a huge profile) is not kept for the next decode. */
const SPARE_COLUMNS_MAX_BYTES = 16 * 1024 * 1024;
let spareColumns: Columns | undefined;

/**
 * One ArrayBuffer for every column of a decoded profile, carved into views:
 * one allocation per profile instead of one per column. 8-byte elements come
 * first, then 4-byte, then 1-byte ones, so every view is aligned.
 */
class Slab {
  private readonly buffer: ArrayBuffer;
  private at8 = 0;
  private at4: number;
  private at1: number;

  constructor(
    private readonly n8: number,
    private readonly n4: number,
    n1: number,
  ) {
    this.buffer = new ArrayBuffer(n8 * 8 + n4 * 4 + n1);
    this.at4 = n8 * 8;
    this.at1 = this.at4 + n4 * 4;
  }

  f64(n: number): Float64Array {
    const v = new Float64Array(this.buffer, this.at8, n);
    this.at8 += n * 8;
    return v;
  }

  u32(n: number): Uint32Array {
    const v = new Uint32Array(this.buffer, this.at4, n);
    this.at4 += n * 4;
    return v;
  }

  i32(n: number): Int32Array {
    const v = new Int32Array(this.buffer, this.at4, n);
    this.at4 += n * 4;
    return v;
  }

  u8(n: number): Uint8Array {
    const v = new Uint8Array(this.buffer, this.at1, n);
    this.at1 += n;
    return v;
  }

  /** Every element was carved exactly as counted (else views would overlap). */
  check(): void {
    if (this.at8 !== this.n8 * 8 || this.at4 !== this.n8 * 8 + this.n4 * 4 || this.at1 !== this.buffer.byteLength) {
      throw new Error('pprof decoder: slab size does not match its columns');
    }
  }
}

function limitOf(v: number | undefined, name: string): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`pprof limit ${name} must be a non-negative integer, got ${v}`);
  return v;
}

class Reader {
  readonly buf: Uint8Array;
  /** The same bytes as a Buffer (no copy), for string decoding. */
  readonly nodeBuf: Buffer;
  pos = 0;
  /** Low and high 32 bits of the last multi-byte varint (hi = 0 after a 1-byte one). */
  lo = 0;
  hi = 0;
  /** Message being decoded, for error messages. */
  ctx = 'Profile';

  // Limits.
  readonly maxSamples: number;
  readonly maxSampleLabels: number;
  readonly maxStackDepth: number;
  readonly maxSymbolLength: number;
  readonly maxStrings: number;
  readonly maxLocations: number;

  // Profile scalars.
  periodTypeType = 0;
  periodTypeUnit = 0;
  period = 0;
  timeNanos = 0n;
  durationNanos = 0n;
  defaultSampleType = 0;
  dropFrames = 0;
  keepFrames = 0;
  /** Largest string index referenced anywhere (checked once the table is complete). */
  maxStr = 0;

  strings: string[] = [];

  // Samples.
  sampleCount = 0;
  /** Samples seen beyond maxSamples are only counted, so the error can report the total. */
  samplesSeen = 0;
  valuesPerSample = -1;
  badValuesSample = -1;
  badValuesCount = 0;
  labelsOver = 0;

  constructor(buf: Uint8Array, limits: PprofLimits, readonly cols: Columns) {
    this.buf = buf;
    this.nodeBuf = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.maxSamples = limitOf(limits.maxSamples, 'maxSamples');
    this.maxSampleLabels = limitOf(limits.maxSampleLabels, 'maxSampleLabels');
    this.maxStackDepth = limitOf(limits.maxStackDepth, 'maxStackDepth');
    this.maxSymbolLength = limitOf(limits.maxSymbolLength, 'maxSymbolLength');
    this.maxStrings = limitOf(limits.maxStrings, 'maxStrings');
    this.maxLocations = limitOf(limits.maxLocations, 'maxLocations');
  }

  fail(what: string, at: number = this.pos): PprofDecodeError {
    return new PprofDecodeError(`invalid pprof: ${what} at byte ${at} (in ${this.ctx})`);
  }

  /** Reads an unsigned varint as a number (exact below 2^53). */
  u(end: number): number {
    const p = this.pos;
    if (p < end) {
      const c = this.buf[p];
      if (c < 0x80) {
        this.pos = p + 1;
        this.hi = 0;
        return c;
      }
    }
    return this.uSlow(end);
  }

  uSlow(end: number): number {
    const b = this.buf;
    const start = this.pos;
    let p = start;
    if (p >= end) throw this.fail('truncated varint', start);
    let c = b[p++];
    let lo = c & 0x7f;
    let hi = 0;
    let shift = 7;
    while (c >= 0x80) {
      if (shift > 63) throw this.fail('varint longer than 10 bytes', start);
      if (p >= end) throw this.fail('truncated varint', start);
      c = b[p++];
      if (shift < 28) lo |= (c & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (c & 0x0f) << 28;
        hi = (c & 0x7f) >>> 4;
      } else hi |= (c & 0x7f) << (shift - 32);
      shift += 7;
    }
    this.pos = p;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    return this.hi * TWO32 + this.lo;
  }

  /** Reads an int64 varint (two's complement, so negatives come back negative). */
  i(end: number): number {
    const v = this.u(end);
    // Only a multi-byte varint can set the sign bit, and that path set lo/hi.
    return this.hi >= 0x80000000 ? (this.hi | 0) * TWO32 + this.lo : v;
  }

  /** Reads an int64 varint exactly, as a bigint. */
  big(end: number): bigint {
    const v = this.u(end);
    if (this.hi === 0) return BigInt(v);
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(this.lo));
  }

  /** Reads a string-table index, remembering the largest one for the final range check. */
  str(end: number): number {
    const v = this.u(end);
    if (v > this.maxStr) this.maxStr = v;
    return v > U32_MAX ? U32_MAX : v;
  }

  /** Reads a field tag; returns field number * 8 + wire type as a plain number. */
  tag(end: number): number {
    const at = this.pos;
    const t = this.u(end);
    if (t > U32_MAX || t < 8) throw this.fail(`invalid field tag ${t}`, at);
    return t;
  }

  /** Reads a length prefix and returns the end offset of the payload. */
  len(end: number): number {
    const at = this.pos;
    const n = this.u(end);
    if (n > end - this.pos) {
      throw this.fail(`length ${n} runs past the end of the message (${end - this.pos} bytes left)`, at);
    }
    return this.pos + n;
  }

  wrongWire(field: number, name: string, wire: number): PprofDecodeError {
    return this.fail(`field ${field} (${name}) has wire type ${wire}, which does not fit its type`);
  }

  skip(t: number, end: number): void {
    const wire = t & 7;
    switch (wire) {
      case VARINT:
        this.u(end);
        return;
      case I64:
        if (end - this.pos < 8) throw this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case LEN:
        this.pos = this.len(end);
        return;
      case I32:
        if (end - this.pos < 4) throw this.fail('truncated fixed32');
        this.pos += 4;
        return;
      case SGROUP: {
        // Deprecated groups: walk to the matching end tag iteratively, so deep
        // nesting cannot overflow the stack.
        let depth = 1;
        while (depth > 0) {
          if (this.pos >= end) throw this.fail('unterminated group');
          const t2 = this.tag(end);
          const w2 = t2 & 7;
          if (w2 === SGROUP) depth++;
          else if (w2 === EGROUP) depth--;
          else this.skip(t2, end);
        }
        return;
      }
      case EGROUP:
        throw this.fail(`unexpected end-group tag for field ${t >>> 3}`);
      default:
        throw this.fail(`invalid wire type ${wire} for field ${t >>> 3}`);
    }
  }

  decode(): void {
    const end = this.buf.length;
    while (this.pos < end) {
      const t = this.tag(end);
      const field = t >>> 3;
      const wire = t & 7;
      switch (field) {
        case 1: // sample_type
          if (wire !== LEN) throw this.wrongWire(field, 'sample_type', wire);
          this.valueType(this.len(end), true);
          break;
        case 2: // sample
          if (wire !== LEN) throw this.wrongWire(field, 'sample', wire);
          this.sample(this.len(end));
          break;
        case 3: // mapping
          if (wire !== LEN) throw this.wrongWire(field, 'mapping', wire);
          this.mapping(this.len(end));
          break;
        case 4: // location
          if (wire !== LEN) throw this.wrongWire(field, 'location', wire);
          this.location(this.len(end));
          break;
        case 5: // function
          if (wire !== LEN) throw this.wrongWire(field, 'function', wire);
          this.func(this.len(end));
          break;
        case 6: {
          // string_table
          if (wire !== LEN) throw this.wrongWire(field, 'string_table', wire);
          const sEnd = this.len(end);
          if (this.maxStrings > 0 && this.strings.length >= this.maxStrings) {
            throw new PprofDecodeError(`invalid pprof: string table has more than ${this.maxStrings} entries`);
          }
          this.strings.push(this.string(this.pos, sEnd));
          this.pos = sEnd;
          break;
        }
        case 7:
          if (wire !== VARINT) throw this.wrongWire(field, 'drop_frames', wire);
          this.dropFrames = this.str(end);
          break;
        case 8:
          if (wire !== VARINT) throw this.wrongWire(field, 'keep_frames', wire);
          this.keepFrames = this.str(end);
          break;
        case 9:
          if (wire !== VARINT) throw this.wrongWire(field, 'time_nanos', wire);
          this.timeNanos = this.big(end);
          break;
        case 10:
          if (wire !== VARINT) throw this.wrongWire(field, 'duration_nanos', wire);
          this.durationNanos = this.big(end);
          break;
        case 11: // period_type
          if (wire !== LEN) throw this.wrongWire(field, 'period_type', wire);
          this.valueType(this.len(end), false);
          break;
        case 12:
          if (wire !== VARINT) throw this.wrongWire(field, 'period', wire);
          this.period = this.i(end);
          break;
        case 13: // comment: repeated int64, packed or not
          if (wire === LEN) {
            const pEnd = this.len(end);
            while (this.pos < pEnd) this.cols.comments.push(this.str(pEnd));
          } else if (wire === VARINT) this.cols.comments.push(this.str(end));
          else throw this.wrongWire(field, 'comment', wire);
          break;
        case 14:
          if (wire !== VARINT) throw this.wrongWire(field, 'default_sample_type', wire);
          this.defaultSampleType = this.str(end);
          break;
        default:
          this.skip(t, end);
      }
    }
  }

  string(start: number, end: number): string {
    if (start === end) return '';
    // Pyroscope keeps the tail of over-long symbols (the most specific part of a
    // qualified name); it cuts bytes, and so do we.
    if (this.maxSymbolLength > 0 && end - start > this.maxSymbolLength) start = end - this.maxSymbolLength;
    // Buffer's UTF-8 decoding measured 2.7x faster than TextDecoder on a
    // 25k-entry table; both replace invalid sequences with U+FFFD and, unlike
    // TextDecoder's default, it keeps a leading BOM.
    return this.nodeBuf.toString('utf8', start, end);
  }

  valueType(end: number, isSampleType: boolean): void {
    const outer = this.ctx;
    this.ctx = isSampleType ? 'Profile.sample_type' : 'Profile.period_type';
    let type = isSampleType ? 0 : this.periodTypeType;
    let unit = isSampleType ? 0 : this.periodTypeUnit;
    while (this.pos < end) {
      const t = this.tag(end);
      const field = t >>> 3;
      const wire = t & 7;
      if (field === 1) {
        if (wire !== VARINT) throw this.wrongWire(field, 'type', wire);
        type = this.str(end);
      } else if (field === 2) {
        if (wire !== VARINT) throw this.wrongWire(field, 'unit', wire);
        unit = this.str(end);
      } else this.skip(t, end);
    }
    if (isSampleType) {
      this.cols.stType.push(type);
      this.cols.stUnit.push(unit);
    } else {
      this.periodTypeType = type;
      this.periodTypeUnit = unit;
    }
    this.ctx = outer;
  }

  sample(end: number): void {
    const index = this.samplesSeen++;
    if (this.maxSamples > 0 && index >= this.maxSamples) {
      // Over the limit: only count the rest (reported once the pass ends).
      this.pos = end;
      return;
    }
    this.ctx = 'Profile.sample';
    this.sampleCount++;
    const locs = this.cols.sampleLocRaw;
    const locStart = locs.n;
    const bigStart = this.cols.sampleLocBig.n;
    const valStart = this.cols.values.n;
    const labelStart = this.cols.labelKey.n;
    this.cols.sampleLocStart.push(locStart);
    this.cols.sampleLabelStart.push(labelStart);
    while (this.pos < end) {
      const t = this.tag(end);
      const field = t >>> 3;
      const wire = t & 7;
      if (field === 1) {
        if (wire === LEN) {
          const pEnd = this.len(end);
          // The hot loop of the whole decoder: one uint64 location id per frame.
          const b = this.buf;
          let p = this.pos;
          let a = locs.a;
          let n = locs.n;
          while (p < pEnd) {
            let v = b[p];
            if (v < 0x80) p++;
            else if (p + 1 < pEnd && b[p + 1] < 0x80) {
              // Two-byte ids (128..16383) are the common case in big profiles.
              v = (v & 0x7f) | (b[p + 1] << 7);
              p += 2;
            } else {
              this.pos = p;
              v = this.uSlow(pEnd);
              p = this.pos;
              if (v >= U32_MAX) v = this.bigLocId(v);
            }
            if (n === a.length) {
              locs.n = n;
              locs.grow();
              a = locs.a;
            }
            a[n++] = v;
          }
          locs.n = n;
          this.pos = p;
        } else if (wire === VARINT) {
          const v = this.u(end);
          locs.push(v >= U32_MAX ? this.bigLocId(v) : v);
        }
        else throw this.wrongWire(field, 'location_id', wire);
      } else if (field === 2) {
        if (wire === LEN) {
          const pEnd = this.len(end);
          while (this.pos < pEnd) this.cols.values.push(this.i(pEnd));
        } else if (wire === VARINT) this.cols.values.push(this.i(end));
        else throw this.wrongWire(field, 'value', wire);
      } else if (field === 3) {
        if (wire !== LEN) throw this.wrongWire(field, 'label', wire);
        this.label(this.len(end));
      } else this.skip(t, end);
    }
    const depth = locs.n - locStart;
    if (this.maxStackDepth > 0 && depth > this.maxStackDepth) {
      // Leaf is first: keep the root-side frames, as Pyroscope does.
      const cut = locs.n - this.maxStackDepth;
      let bigCut = 0;
      for (let k = locStart; k < cut; k++) if (locs.a[k] === U32_MAX) bigCut++;
      if (bigCut > 0) {
        const big = this.cols.sampleLocBig;
        big.a.copyWithin(bigStart, bigStart + bigCut, big.n);
        big.n -= bigCut;
      }
      locs.a.copyWithin(locStart, cut, locs.n);
      locs.n = locStart + this.maxStackDepth;
    }
    const nValues = this.cols.values.n - valStart;
    if (this.valuesPerSample < 0) this.valuesPerSample = nValues;
    else if (nValues !== this.valuesPerSample && this.badValuesSample < 0) {
      this.badValuesSample = index;
      this.badValuesCount = nValues;
    }
    const nLabels = this.cols.labelKey.n - labelStart;
    if (this.maxSampleLabels > 0 && nLabels > this.maxSampleLabels && this.labelsOver === 0) this.labelsOver = nLabels;
    this.ctx = 'Profile';
  }

  bigLocId(v: number): number {
    this.cols.sampleLocBig.push(v);
    return U32_MAX;
  }

  label(end: number): void {
    const outer = this.ctx;
    this.ctx = 'Sample.label';
    let key = 0;
    let s = 0;
    let num = 0;
    let numUnit = 0;
    while (this.pos < end) {
      const t = this.tag(end);
      const field = t >>> 3;
      const wire = t & 7;
      switch (field) {
        case 1:
          if (wire !== VARINT) throw this.wrongWire(field, 'key', wire);
          key = this.str(end);
          break;
        case 2:
          if (wire !== VARINT) throw this.wrongWire(field, 'str', wire);
          s = this.str(end);
          break;
        case 3:
          if (wire !== VARINT) throw this.wrongWire(field, 'num', wire);
          num = this.i(end);
          break;
        case 4:
          if (wire !== VARINT) throw this.wrongWire(field, 'num_unit', wire);
          numUnit = this.str(end);
          break;
        default:
          this.skip(t, end);
      }
    }
    this.cols.labelKey.push(key);
    this.cols.labelStr.push(s);
    this.cols.labelNum.push(num);
    this.cols.labelNumUnit.push(numUnit);
    this.ctx = outer;
  }

  mapping(end: number): void {
    this.ctx = 'Profile.mapping';
    let id = 0;
    let start = 0;
    let limit = 0;
    let offset = 0;
    let filename = 0;
    let buildId = 0;
    let flags = 0;
    while (this.pos < end) {
      const t = this.tag(end);
      const field = t >>> 3;
      const wire = t & 7;
      if (field >= 1 && field <= 10 && wire !== VARINT) throw this.wrongWire(field, 'mapping field', wire);
      switch (field) {
        case 1:
          id = this.u(end);
          break;
        case 2:
          start = this.u(end);
          break;
        case 3:
          limit = this.u(end);
          break;
        case 4:
          offset = this.u(end);
          break;
        case 5:
          filename = this.str(end);
          break;
        case 6:
          buildId = this.str(end);
          break;
        case 7:
        case 8:
        case 9:
        case 10: {
          const bit = 1 << (field - 7);
          flags = this.u(end) !== 0 ? flags | bit : flags & ~bit;
          break;
        }
        default:
          this.skip(t, end);
      }
    }
    this.cols.mapId.push(id);
    this.cols.mapStart.push(start);
    this.cols.mapLimit.push(limit);
    this.cols.mapOffset.push(offset);
    this.cols.mapFilename.push(filename);
    this.cols.mapBuildId.push(buildId);
    this.cols.mapFlags.push(flags);
    this.ctx = 'Profile';
  }

  location(end: number): void {
    if (this.maxLocations > 0 && this.cols.locId.n >= this.maxLocations) {
      throw new PprofDecodeError(`invalid pprof: profile has more than ${this.maxLocations} locations`);
    }
    this.ctx = 'Profile.location';
    let id = 0;
    let mappingId = 0;
    let address = 0;
    let folded = 0;
    this.cols.locLineStart.push(this.cols.lineFunctionRaw.n);
    while (this.pos < end) {
      const t = this.tag(end);
      const field = t >>> 3;
      const wire = t & 7;
      switch (field) {
        case 1:
          if (wire !== VARINT) throw this.wrongWire(field, 'id', wire);
          id = this.u(end);
          break;
        case 2:
          if (wire !== VARINT) throw this.wrongWire(field, 'mapping_id', wire);
          mappingId = this.u(end);
          break;
        case 3:
          if (wire !== VARINT) throw this.wrongWire(field, 'address', wire);
          address = this.u(end);
          break;
        case 4:
          if (wire !== LEN) throw this.wrongWire(field, 'line', wire);
          this.line(this.len(end));
          break;
        case 5:
          if (wire !== VARINT) throw this.wrongWire(field, 'is_folded', wire);
          folded = this.u(end) !== 0 ? 1 : 0;
          break;
        default:
          this.skip(t, end);
      }
    }
    this.cols.locId.push(id);
    this.cols.locMappingRaw.push(mappingId);
    this.cols.locAddress.push(address);
    this.cols.locFolded.push(folded);
    this.ctx = 'Profile';
  }

  line(end: number): void {
    this.ctx = 'Location.line';
    let fn = 0;
    let line = 0;
    let column = 0;
    while (this.pos < end) {
      const t = this.tag(end);
      const field = t >>> 3;
      const wire = t & 7;
      if (field >= 1 && field <= 3 && wire !== VARINT) throw this.wrongWire(field, 'line field', wire);
      if (field === 1) fn = this.u(end);
      else if (field === 2) line = this.i(end);
      else if (field === 3) column = this.i(end);
      else this.skip(t, end);
    }
    // function_id 0 means "no function" (Go's pprof leaves Line.Function nil);
    // such a line carries no symbol, so it is dropped rather than given a fake index.
    if (fn !== 0) {
      this.cols.lineFunctionRaw.push(fn);
      this.cols.lineNumber.push(line);
      this.cols.lineColumn.push(column);
    }
    this.ctx = 'Profile.location';
  }

  func(end: number): void {
    this.ctx = 'Profile.function';
    let id = 0;
    let name = 0;
    let systemName = 0;
    let filename = 0;
    let startLine = 0;
    while (this.pos < end) {
      const t = this.tag(end);
      const field = t >>> 3;
      const wire = t & 7;
      if (field >= 1 && field <= 5 && wire !== VARINT) throw this.wrongWire(field, 'function field', wire);
      switch (field) {
        case 1:
          id = this.u(end);
          break;
        case 2:
          name = this.str(end);
          break;
        case 3:
          systemName = this.str(end);
          break;
        case 4:
          filename = this.str(end);
          break;
        case 5:
          startLine = this.i(end);
          break;
        default:
          this.skip(t, end);
      }
    }
    this.cols.fnId.push(id);
    this.cols.fnName.push(name);
    this.cols.fnSystemName.push(systemName);
    this.cols.fnFilename.push(filename);
    this.cols.fnStartLine.push(startLine);
    this.ctx = 'Profile';
  }
}

/** id → index lookup: a flat table when ids are small (the usual 1..n), a Map otherwise. */
interface IdIndex {
  table: Int32Array | null;
  map: Map<number, number> | null;
}

function indexIds(ids: Float64Array, kind: string, zeroAllowed: boolean): IdIndex {
  const n = ids.length;
  let max = 0;
  for (let i = 0; i < n; i++) if (ids[i] > max) max = ids[i];
  if (max <= n * 4 + 1024) {
    const table = new Int32Array(max + 1).fill(-1);
    for (let i = 0; i < n; i++) {
      const id = ids[i];
      if (id === 0) {
        if (zeroAllowed) continue; // id 0 cannot be referenced (0 means "none")
        throw new PprofDecodeError(`invalid pprof: ${kind} id is 0 (${kind} #${i})`);
      }
      if (table[id] !== -1) throw new PprofDecodeError(`invalid pprof: duplicate ${kind} id ${id}`);
      table[id] = i;
    }
    return { table, map: null };
  }
  const map = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (id === 0) {
      if (zeroAllowed) continue;
      throw new PprofDecodeError(`invalid pprof: ${kind} id is 0 (${kind} #${i})`);
    }
    if (map.has(id)) throw new PprofDecodeError(`invalid pprof: duplicate ${kind} id ${id}`);
    map.set(id, i);
  }
  return { table: null, map };
}

function lookup(ix: IdIndex, id: number): number {
  if (ix.table !== null) return id < ix.table.length ? ix.table[id] : -1;
  const v = ix.map!.get(id);
  return v === undefined ? -1 : v;
}

/** Finds which column holds an out-of-range string index, to name it in the error. */
function badStringRef(r: Reader, n: number): string {
  const cols: [string, Uint32Array, number][] = [
    ['sample_type.type', r.cols.stType.a, r.cols.stType.n],
    ['sample_type.unit', r.cols.stUnit.a, r.cols.stUnit.n],
    ['comment', r.cols.comments.a, r.cols.comments.n],
    ['sample.label.key', r.cols.labelKey.a, r.cols.labelKey.n],
    ['sample.label.str', r.cols.labelStr.a, r.cols.labelStr.n],
    ['sample.label.num_unit', r.cols.labelNumUnit.a, r.cols.labelNumUnit.n],
    ['function.name', r.cols.fnName.a, r.cols.fnName.n],
    ['function.system_name', r.cols.fnSystemName.a, r.cols.fnSystemName.n],
    ['function.filename', r.cols.fnFilename.a, r.cols.fnFilename.n],
    ['mapping.filename', r.cols.mapFilename.a, r.cols.mapFilename.n],
    ['mapping.build_id', r.cols.mapBuildId.a, r.cols.mapBuildId.n],
  ];
  const shown = (v: number): number => (v === U32_MAX ? r.maxStr : v);
  for (const [name, a, len] of cols) {
    for (let i = 0; i < len; i++) if (a[i] >= n) return `string index ${shown(a[i])} out of range in ${name} #${i}`;
  }
  const scalars: [string, number][] = [
    ['period_type.type', r.periodTypeType],
    ['period_type.unit', r.periodTypeUnit],
    ['default_sample_type', r.defaultSampleType],
    ['drop_frames', r.dropFrames],
    ['keep_frames', r.keepFrames],
  ];
  for (const [name, v] of scalars) if (v >= n) return `string index ${shown(v)} out of range in ${name}`;
  return `string index ${r.maxStr} out of range`;
}

/**
 * Decodes an uncompressed pprof profile into columns. Throws PprofDecodeError
 * (PprofLimitError for the sample limits) on malformed input; never anything else.
 */
export function decodePprof(buf: Uint8Array, limits: PprofLimits = {}): DecodedProfile {
  const cols = spareColumns ?? new Columns();
  spareColumns = undefined;
  cols.clear(buf.length);
  try {
    return decodeWith(new Reader(buf, limits, cols));
  } finally {
    if (cols.bytes() <= SPARE_COLUMNS_MAX_BYTES) spareColumns = cols;
  }
}

function decodeWith(r: Reader): DecodedProfile {
  try {
    r.decode();
  } catch (e) {
    // A RangeError from an allocation the size bound did not foresee is still
    // the input's fault; report it as such rather than crash the caller.
    if (e instanceof RangeError) throw new PprofDecodeError(`invalid pprof: ${e.message}`);
    throw e;
  }

  // Limits first, in Pyroscope's order: sample count, then labels per sample.
  if (r.maxSamples > 0 && r.samplesSeen > r.maxSamples) {
    throw new PprofLimitError('samples_limit', r.samplesSeen, r.maxSamples);
  }
  if (r.labelsOver > 0) throw new PprofLimitError('sample_labels_limit', r.labelsOver, r.maxSampleLabels);

  const strings = r.strings;
  if (strings.length === 0) throw new PprofDecodeError('invalid pprof: empty string table');
  if (strings[0] !== '') throw new PprofDecodeError('invalid pprof: string_table[0] must be ""');
  if (r.maxStr >= strings.length) {
    throw new PprofDecodeError(
      `invalid pprof: ${badStringRef(r, strings.length)}: string table has ${strings.length} entries`,
    );
  }

  const c = r.cols;
  const nTypes = c.stType.n;
  if (r.sampleCount > 0 && r.valuesPerSample !== nTypes) {
    throw new PprofDecodeError(
      `invalid pprof: sample 0 has ${r.valuesPerSample} values but the profile has ${nTypes} sample types`,
    );
  }
  if (r.badValuesSample >= 0) {
    throw new PprofDecodeError(
      `invalid pprof: sample ${r.badValuesSample} has ${r.badValuesCount} values but the profile has ${nTypes} sample types`,
    );
  }

  const nSamples = r.sampleCount;
  const nLocs = c.locId.n;
  const nLines = c.lineFunctionRaw.n;
  const nLocRefs = c.sampleLocRaw.n;
  const out = new Slab(
    c.values.n + c.labelNum.n + c.locId.n + c.locAddress.n + c.lineNumber.n + c.lineColumn.n +
      c.fnId.n + c.fnStartLine.n + c.mapId.n + c.mapStart.n + c.mapLimit.n + c.mapOffset.n,
    c.stType.n + c.stUnit.n + c.comments.n + nLocRefs + 2 * (nSamples + 1) + c.labelKey.n + c.labelStr.n + c.labelNumUnit.n +
      nLocs + (nLocs + 1) + nLines + c.fnName.n + c.fnSystemName.n + c.fnFilename.n + c.mapFilename.n + c.mapBuildId.n,
    c.locFolded.n + c.mapFlags.n,
  );

  const locationId = c.locId.done(out);
  const functionId = c.fnId.done(out);
  const mappingId = c.mapId.done(out);
  const locIx = indexIds(locationId, 'location', false);
  const fnIx = indexIds(functionId, 'function', false);
  const mapIx = indexIds(mappingId, 'mapping', true);

  // Sample stacks: raw location ids → location indexes, in place.
  const raw = c.sampleLocRaw.a;
  const bigIds = c.sampleLocBig.a;
  let nextBig = 0;
  const table = locIx.table;
  for (let k = 0; k < nLocRefs; k++) {
    let id = raw[k];
    if (id === U32_MAX) id = bigIds[nextBig++];
    const j = table !== null ? (id < table.length ? table[id] : -1) : lookup(locIx, id);
    if (j < 0) {
      throw new PprofDecodeError(`invalid pprof: ${sampleOf(r, k)} references unknown location id ${id}`);
    }
    raw[k] = j;
  }
  const sampleLocations = c.sampleLocRaw.done(out);

  const locationMapping = out.i32(nLocs);
  const mapRaw = c.locMappingRaw.a;
  for (let j = 0; j < nLocs; j++) {
    const id = mapRaw[j];
    if (id === 0) {
      locationMapping[j] = -1;
      continue;
    }
    const m = lookup(mapIx, id);
    if (m < 0) throw new PprofDecodeError(`invalid pprof: location id ${locationId[j]} references unknown mapping id ${id}`);
    locationMapping[j] = m;
  }

  const lineFunction = out.u32(nLines);
  const fnRaw = c.lineFunctionRaw.a;
  const locationLineStart = out.u32(nLocs + 1);
  locationLineStart.set(c.locLineStart.a.subarray(0, nLocs));
  locationLineStart[nLocs] = nLines;
  let loc = 0;
  for (let k = 0; k < nLines; k++) {
    const f = lookup(fnIx, fnRaw[k]);
    if (f < 0) {
      while (loc + 1 < nLocs && locationLineStart[loc + 1] <= k) loc++;
      throw new PprofDecodeError(
        `invalid pprof: location id ${locationId[loc]} references unknown function id ${fnRaw[k]}`,
      );
    }
    lineFunction[k] = f;
  }

  const sampleLocationStart = out.u32(nSamples + 1);
  sampleLocationStart.set(c.sampleLocStart.a.subarray(0, nSamples));
  sampleLocationStart[nSamples] = nLocRefs;
  const sampleLabelStart = out.u32(nSamples + 1);
  sampleLabelStart.set(c.sampleLabelStart.a.subarray(0, nSamples));
  sampleLabelStart[nSamples] = c.labelKey.n;

  const profile: DecodedProfile = {
    strings,
    sampleTypeType: c.stType.done(out),
    sampleTypeUnit: c.stUnit.done(out),
    periodTypeType: r.periodTypeType,
    periodTypeUnit: r.periodTypeUnit,
    period: r.period,
    timeNanos: r.timeNanos,
    durationNanos: r.durationNanos,
    defaultSampleType: r.defaultSampleType,
    dropFrames: r.dropFrames,
    keepFrames: r.keepFrames,
    comments: c.comments.done(out),
    sampleCount: nSamples,
    sampleValues: c.values.done(out),
    sampleLocationStart,
    sampleLocations,
    sampleLabelStart,
    labelKey: c.labelKey.done(out),
    labelStr: c.labelStr.done(out),
    labelNum: c.labelNum.done(out),
    labelNumUnit: c.labelNumUnit.done(out),
    locationId,
    locationMapping,
    locationAddress: c.locAddress.done(out),
    locationIsFolded: c.locFolded.done(out),
    locationLineStart,
    lineFunction,
    lineNumber: c.lineNumber.done(out),
    lineColumn: c.lineColumn.done(out),
    functionId,
    functionName: c.fnName.done(out),
    functionSystemName: c.fnSystemName.done(out),
    functionFilename: c.fnFilename.done(out),
    functionStartLine: c.fnStartLine.done(out),
    mappingId,
    mappingMemoryStart: c.mapStart.done(out),
    mappingMemoryLimit: c.mapLimit.done(out),
    mappingFileOffset: c.mapOffset.done(out),
    mappingFilename: c.mapFilename.done(out),
    mappingBuildId: c.mapBuildId.done(out),
    mappingFlags: c.mapFlags.done(out),
  };
  out.check();
  return profile;
}

/** Names the sample that owns location reference k (error path only). */
function sampleOf(r: Reader, k: number): string {
  const starts = r.cols.sampleLocStart.a;
  let lo = 0;
  let hi = r.sampleCount - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid] <= k) lo = mid;
    else hi = mid - 1;
  }
  return `sample ${lo}`;
}

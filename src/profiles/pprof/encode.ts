// Writes a DecodedProfile back to the pprof wire format (uncompressed), and
// builds DecodedProfiles from plain stacks (folded text, tests).

import type { DecodedProfile } from './profile.js';

const TWO32 = 4294967296;
const utf8 = new TextEncoder();

class Writer {
  buf = new Uint8Array(1024);
  pos = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }

  /** Unsigned varint from the two 32-bit halves. */
  v64(lo: number, hi: number): void {
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    while (hi !== 0 || lo > 0x7f) {
      b[p++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    b[p++] = lo;
    this.pos = p;
  }

  /** Unsigned varint; v must be a non-negative integer (2^64 and above, e.g. a rounded max uint64, saturate). */
  u(v: number): void {
    if (v < 0x80) {
      this.ensure(1);
      this.buf[this.pos++] = v;
      return;
    }
    if (v >= 18446744073709551616) {
      this.v64(0xffffffff, 0xffffffff);
      return;
    }
    this.v64(v % TWO32 >>> 0, Math.floor(v / TWO32) >>> 0);
  }

  /** int64 varint: negatives are written as 64-bit two's complement (10 bytes). */
  i(v: number): void {
    if (v >= 0) {
      this.u(v);
      return;
    }
    const hi = Math.floor(v / TWO32); // floor of a negative: the sign-extended high word
    this.v64((v - hi * TWO32) >>> 0, hi >>> 0);
  }

  big(v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.v64(Number(u & 0xffffffffn), Number(u >> 32n));
  }

  tag(field: number, wire: number): void {
    this.u(field * 8 + wire);
  }

  /** Starts a length-delimited field; returns the mark to pass to end(). */
  begin(field: number): number {
    this.tag(field, 2);
    this.ensure(1);
    return this.pos++; // one byte reserved for the length, widened in end() if needed
  }

  end(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 0x80) {
      this.buf[mark] = len;
      return;
    }
    let size = 1;
    for (let x = len; x >= 0x80; x = Math.floor(x / 128)) size++;
    this.ensure(size - 1);
    this.buf.copyWithin(mark + size, mark + 1, this.pos);
    this.pos += size - 1;
    let p = mark;
    let x = len;
    while (x >= 0x80) {
      this.buf[p++] = (x & 0x7f) | 0x80;
      x = Math.floor(x / 128);
    }
    this.buf[p] = x;
  }

  string(field: number, s: string): void {
    const mark = this.begin(field);
    this.ensure(s.length * 3);
    const { written } = utf8.encodeInto(s, this.buf.subarray(this.pos));
    this.pos += written;
    this.end(mark);
  }

  fieldU(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, 0);
    this.u(v);
  }

  fieldI(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, 0);
    this.i(v);
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

function checkInt(v: number, what: string): void {
  if (!Number.isInteger(v)) throw new RangeError(`encodePprof: ${what} must be an integer, got ${v}`);
}

function checkUint(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`encodePprof: ${what} must be a non-negative integer, got ${v}`);
}

/** Wire ids for a table: the original ids when they are usable, else index + 1. */
function wireIds(orig: Float64Array, n: number): Float64Array {
  const seen = new Set<number>();
  let ok = orig.length === n;
  for (let i = 0; ok && i < n; i++) {
    const id = orig[i];
    if (id === 0 || !Number.isSafeInteger(id) || id < 0 || seen.has(id)) ok = false;
    else seen.add(id);
  }
  if (ok) return orig;
  const ids = new Float64Array(n);
  for (let i = 0; i < n; i++) ids[i] = i + 1;
  return ids;
}

function checkRef(v: number, n: number, what: string): void {
  if (v >= n) throw new RangeError(`encodePprof: ${what} ${v} out of range (${n} entries)`);
}

/** Encodes the profile as an uncompressed pprof protobuf. Throws RangeError on inconsistent columns. */
export function encodePprof(p: DecodedProfile): Uint8Array {
  const nStr = p.strings.length;
  if (nStr === 0 || p.strings[0] !== '') throw new RangeError('encodePprof: strings[0] must be ""');
  const nTypes = p.sampleTypeType.length;
  const nLocs = p.locationMapping.length;
  const nFns = p.functionName.length;
  const nMaps = p.mappingFilename.length;
  const locIds = wireIds(p.locationId, nLocs);
  const fnIds = wireIds(p.functionId, nFns);
  const mapIds = wireIds(p.mappingId, nMaps);
  if (p.sampleValues.length !== p.sampleCount * nTypes) {
    throw new RangeError(
      `encodePprof: ${p.sampleValues.length} sample values for ${p.sampleCount} samples × ${nTypes} sample types`,
    );
  }
  const str = (v: number, what: string): number => {
    checkRef(v, nStr, `string index in ${what}`);
    return v;
  };

  const w = new Writer();
  for (let t = 0; t < nTypes; t++) {
    const m = w.begin(1);
    w.fieldU(1, str(p.sampleTypeType[t], 'sample_type'));
    w.fieldU(2, str(p.sampleTypeUnit[t], 'sample_type'));
    w.end(m);
  }

  for (let s = 0; s < p.sampleCount; s++) {
    const m = w.begin(2);
    const l0 = p.sampleLocationStart[s];
    const l1 = p.sampleLocationStart[s + 1];
    if (l1 > l0) {
      const pm = w.begin(1);
      for (let k = l0; k < l1; k++) {
        const j = p.sampleLocations[k];
        checkRef(j, nLocs, `location index in sample ${s}`);
        w.u(locIds[j]);
      }
      w.end(pm);
    }
    if (nTypes > 0) {
      const pm = w.begin(2);
      for (let t = s * nTypes, e = t + nTypes; t < e; t++) {
        const v = p.sampleValues[t];
        checkInt(v, `value of sample ${s}`);
        w.i(v);
      }
      w.end(pm);
    }
    for (let k = p.sampleLabelStart[s], e = p.sampleLabelStart[s + 1]; k < e; k++) {
      const lm = w.begin(3);
      w.fieldU(1, str(p.labelKey[k], 'label key'));
      w.fieldU(2, str(p.labelStr[k], 'label str'));
      checkInt(p.labelNum[k], 'label num');
      w.fieldI(3, p.labelNum[k]);
      w.fieldU(4, str(p.labelNumUnit[k], 'label num_unit'));
      w.end(lm);
    }
    w.end(m);
  }

  for (let i = 0; i < nMaps; i++) {
    const m = w.begin(3);
    w.fieldU(1, mapIds[i]);
    checkUint(p.mappingMemoryStart[i], 'mapping memory_start');
    checkUint(p.mappingMemoryLimit[i], 'mapping memory_limit');
    checkUint(p.mappingFileOffset[i], 'mapping file_offset');
    w.fieldU(2, p.mappingMemoryStart[i]);
    w.fieldU(3, p.mappingMemoryLimit[i]);
    w.fieldU(4, p.mappingFileOffset[i]);
    w.fieldU(5, str(p.mappingFilename[i], 'mapping filename'));
    w.fieldU(6, str(p.mappingBuildId[i], 'mapping build_id'));
    const f = p.mappingFlags[i];
    for (let bit = 0; bit < 4; bit++) w.fieldU(7 + bit, (f >>> bit) & 1);
    w.end(m);
  }

  for (let j = 0; j < nLocs; j++) {
    const m = w.begin(4);
    w.fieldU(1, locIds[j]);
    const mi = p.locationMapping[j];
    if (mi >= 0) {
      checkRef(mi, nMaps, `mapping index of location ${j}`);
      w.fieldU(2, mapIds[mi]);
    }
    checkUint(p.locationAddress[j], 'location address');
    w.fieldU(3, p.locationAddress[j]);
    for (let k = p.locationLineStart[j], e = p.locationLineStart[j + 1]; k < e; k++) {
      const lm = w.begin(4);
      const f = p.lineFunction[k];
      checkRef(f, nFns, `function index of location ${j}`);
      w.fieldU(1, fnIds[f]);
      checkInt(p.lineNumber[k], 'line number');
      checkInt(p.lineColumn[k], 'line column');
      w.fieldI(2, p.lineNumber[k]);
      w.fieldI(3, p.lineColumn[k]);
      w.end(lm);
    }
    w.fieldU(5, p.locationIsFolded[j] ? 1 : 0);
    w.end(m);
  }

  for (let i = 0; i < nFns; i++) {
    const m = w.begin(5);
    w.fieldU(1, fnIds[i]);
    w.fieldU(2, str(p.functionName[i], 'function name'));
    w.fieldU(3, str(p.functionSystemName[i], 'function system_name'));
    w.fieldU(4, str(p.functionFilename[i], 'function filename'));
    checkInt(p.functionStartLine[i], 'function start_line');
    w.fieldI(5, p.functionStartLine[i]);
    w.end(m);
  }

  for (let i = 0; i < nStr; i++) w.string(6, p.strings[i]);

  w.fieldU(7, str(p.dropFrames, 'drop_frames'));
  w.fieldU(8, str(p.keepFrames, 'keep_frames'));
  if (p.timeNanos !== 0n) {
    w.tag(9, 0);
    w.big(p.timeNanos);
  }
  if (p.durationNanos !== 0n) {
    w.tag(10, 0);
    w.big(p.durationNanos);
  }
  if (p.periodTypeType !== 0 || p.periodTypeUnit !== 0) {
    const m = w.begin(11);
    w.fieldU(1, str(p.periodTypeType, 'period_type'));
    w.fieldU(2, str(p.periodTypeUnit, 'period_type'));
    w.end(m);
  }
  checkInt(p.period, 'period');
  w.fieldI(12, p.period);
  for (let i = 0; i < p.comments.length; i++) {
    w.tag(13, 0);
    w.u(str(p.comments[i], 'comment'));
  }
  w.fieldU(14, str(p.defaultSampleType, 'default_sample_type'));
  return w.done();
}

export interface ProfileSpec {
  sampleTypes: [type: string, unit: string][];
  periodType?: [type: string, unit: string];
  period?: number;
  timeNanos?: bigint;
  durationNanos?: bigint;
  /** stack: function names, leaf first; values: one per sample type. */
  samples: { stack: string[]; values: number[]; labels?: Record<string, string> }[];
}

/**
 * Builds a profile with one function and one location per distinct function
 * name (no mappings, no line numbers): the shape folded text ("a;b;c 42") maps to.
 */
export function buildProfile(spec: ProfileSpec): DecodedProfile {
  const strings: string[] = [''];
  const strIndex = new Map<string, number>([['', 0]]);
  const intern = (s: string): number => {
    let i = strIndex.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      strIndex.set(s, i);
    }
    return i;
  };

  const nTypes = spec.sampleTypes.length;
  const sampleTypeType = new Uint32Array(nTypes);
  const sampleTypeUnit = new Uint32Array(nTypes);
  spec.sampleTypes.forEach(([type, unit], t) => {
    sampleTypeType[t] = intern(type);
    sampleTypeUnit[t] = intern(unit);
  });
  const periodTypeType = spec.periodType ? intern(spec.periodType[0]) : 0;
  const periodTypeUnit = spec.periodType ? intern(spec.periodType[1]) : 0;

  // Function index === location index: one of each per distinct name.
  const fnByName = new Map<string, number>();
  const fnNames: number[] = [];
  const n = spec.samples.length;
  const sampleValues = new Float64Array(n * nTypes);
  const sampleLocationStart = new Uint32Array(n + 1);
  const sampleLabelStart = new Uint32Array(n + 1);
  const locs: number[] = [];
  const labelKey: number[] = [];
  const labelStr: number[] = [];
  spec.samples.forEach((s, i) => {
    if (s.values.length !== nTypes) {
      throw new RangeError(`buildProfile: sample ${i} has ${s.values.length} values for ${nTypes} sample types`);
    }
    s.values.forEach((v, t) => {
      if (!Number.isSafeInteger(v)) throw new RangeError(`buildProfile: sample ${i} value ${v} is not a safe integer`);
      sampleValues[i * nTypes + t] = v;
    });
    sampleLocationStart[i] = locs.length;
    for (const name of s.stack) {
      let f = fnByName.get(name);
      if (f === undefined) {
        f = fnNames.length;
        fnNames.push(intern(name));
        fnByName.set(name, f);
      }
      locs.push(f);
    }
    sampleLabelStart[i] = labelKey.length;
    for (const [k, v] of Object.entries(s.labels ?? {})) {
      labelKey.push(intern(k));
      labelStr.push(intern(v));
    }
  });
  sampleLocationStart[n] = locs.length;
  sampleLabelStart[n] = labelKey.length;

  const nFns = fnNames.length;
  const ids = new Float64Array(nFns);
  for (let i = 0; i < nFns; i++) ids[i] = i + 1;
  const lineStart = new Uint32Array(nFns + 1);
  for (let i = 0; i <= nFns; i++) lineStart[i] = i;
  const lineFunction = new Uint32Array(nFns);
  for (let i = 0; i < nFns; i++) lineFunction[i] = i;

  return {
    strings,
    sampleTypeType,
    sampleTypeUnit,
    periodTypeType,
    periodTypeUnit,
    period: spec.period ?? 0,
    timeNanos: spec.timeNanos ?? 0n,
    durationNanos: spec.durationNanos ?? 0n,
    defaultSampleType: 0,
    dropFrames: 0,
    keepFrames: 0,
    comments: new Uint32Array(0),
    sampleCount: n,
    sampleValues,
    sampleLocationStart,
    sampleLocations: Uint32Array.from(locs),
    sampleLabelStart,
    labelKey: Uint32Array.from(labelKey),
    labelStr: Uint32Array.from(labelStr),
    labelNum: new Float64Array(labelKey.length),
    labelNumUnit: new Uint32Array(labelKey.length),
    locationId: ids,
    locationMapping: new Int32Array(nFns).fill(-1),
    locationAddress: new Float64Array(nFns),
    locationIsFolded: new Uint8Array(nFns),
    locationLineStart: lineStart,
    lineFunction,
    lineNumber: new Float64Array(nFns),
    lineColumn: new Float64Array(nFns),
    functionId: ids.slice(),
    functionName: Uint32Array.from(fnNames),
    functionSystemName: new Uint32Array(nFns),
    functionFilename: new Uint32Array(nFns),
    functionStartLine: new Float64Array(nFns),
    mappingId: new Float64Array(0),
    mappingMemoryStart: new Float64Array(0),
    mappingMemoryLimit: new Float64Array(0),
    mappingFileOffset: new Float64Array(0),
    mappingFilename: new Uint32Array(0),
    mappingBuildId: new Uint32Array(0),
    mappingFlags: new Uint8Array(0),
  };
}

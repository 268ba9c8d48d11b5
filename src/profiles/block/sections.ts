// Series-index and symbols sections of a dataset. On disk each is
//   magic (4 ASCII bytes) ‖ protobuf (block.v1.SeriesIndex / block.v1.Symbols) ‖ BE uint32 CRC-32C(magic ‖ protobuf)
// The magic tells the sections apart (a wrong table of contents is caught at
// once) and the CRC catches corruption before any index is trusted.

import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { SeriesIndexSchema } from '../../gen/block/v1/sections_pb.js';
import { crc32c } from './crc32c.js';
import { BlockFormatError } from './errors.js';
import { compareLabels, compareStrings } from './labels.js';
import { emptySymbols, type Labels, type Symbols } from './model.js';
import { ProtoError, ProtoReader, ProtoWriter, type VarintKind } from './pbwire.js';
import type { ProfilesLayout } from './profiles.js';

export const SERIES_MAGIC = 'KSI1';
export const SYMBOLS_MAGIC = 'KSY1';

const UINT32_LIMIT = 0x1_0000_0000;
const UINT64_LIMIT = 2 ** 64;

function frame(magic: string, pb: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + pb.length + 4);
  for (let i = 0; i < 4; i++) out[i] = magic.charCodeAt(i);
  out.set(pb, 4);
  new DataView(out.buffer).setUint32(4 + pb.length, crc32c(out.subarray(0, 4 + pb.length)));
  return out;
}

function unframe(magic: string, bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length < 8) throw new BlockFormatError(`${what} section of ${bytes.length} bytes is too short`);
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== magic.charCodeAt(i)) throw new BlockFormatError(`${what} section has a wrong magic (want ${magic})`);
  }
  const body = bytes.length - 4;
  const want = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(body);
  if (crc32c(bytes.subarray(0, body)) !== want) throw new BlockFormatError(`${what} section CRC-32C mismatch (corrupt block)`);
  return bytes.subarray(4, body);
}

/** Interns strings in first-use order, so the table depends only on the input order. */
export class StringTable {
  readonly strings: string[] = [''];
  private readonly index = new Map<string, number>([['', 0]]);
  intern(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

// ---- series index ----

/** Encodes label sets that are already sorted (see compareLabels) and normalized, and the profiles layout. */
export function encodeSeriesIndex(series: readonly Labels[], layout: ProfilesLayout): Uint8Array {
  const st = new StringTable();
  const groups: number[] = [];
  for (const set of series) {
    groups.push(set.length);
    for (const [k, v] of set) groups.push(st.intern(k), st.intern(v));
  }
  const msg = create(SeriesIndexSchema, {
    strings: st.strings,
    labels: groups,
    seriesCount: series.length,
    profilesTable: {
      rowGroups: layout.rowGroups.map((g) => ({ offset: BigInt(g.offset), size: BigInt(g.size), rows: g.rows, crc32c: g.crc32c })),
      footerOffset: BigInt(layout.footerOffset),
      footerCrc32c: layout.footerCrc32c,
      stacktraceCount: layout.stacktraceCount,
    },
  });
  return frame(SERIES_MAGIC, toBinary(SeriesIndexSchema, msg));
}

function safe(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BlockFormatError(`series index: ${what} ${v} out of range`);
  return Number(v);
}

/** Decodes and validates a series-index section: indexes in range, names sorted, series strictly increasing. */
export function decodeSeriesIndex(bytes: Uint8Array): { series: Labels[]; layout: ProfilesLayout } {
  const pb = unframe(SERIES_MAGIC, bytes, 'series index');
  let msg;
  try {
    msg = fromBinary(SeriesIndexSchema, pb);
  } catch (err) {
    throw new BlockFormatError(`series index section is not a valid protobuf: ${(err as Error).message}`, { cause: err });
  }
  const { strings, labels } = msg;
  if (strings.length === 0 || strings[0] !== '') throw new BlockFormatError('series index string table must start with ""');
  const out: Labels[] = [];
  let i = 0;
  while (i < labels.length) {
    const n = labels[i++]!;
    if (i + 2 * n > labels.length) throw new BlockFormatError(`series ${out.length}: label group of ${n} pairs overruns the list`);
    const set: [string, string][] = new Array(n);
    for (let k = 0; k < n; k++, i += 2) {
      const name = strings[labels[i]!];
      const value = strings[labels[i + 1]!];
      if (name === undefined || value === undefined) {
        throw new BlockFormatError(`series ${out.length}: string index out of range (table has ${strings.length})`);
      }
      if (k > 0 && compareStrings(set[k - 1]![0], name) >= 0) {
        throw new BlockFormatError(`series ${out.length}: label names not strictly increasing at ${JSON.stringify(name)}`);
      }
      set[k] = [name, value];
    }
    if (out.length > 0 && compareLabels(out[out.length - 1]!, set) >= 0) {
      throw new BlockFormatError(`series ${out.length} is not after series ${out.length - 1} in label order`);
    }
    out.push(set);
  }
  if (out.length !== msg.seriesCount) {
    throw new BlockFormatError(`series index holds ${out.length} series, header says ${msg.seriesCount}`);
  }
  const t = msg.profilesTable;
  if (t === undefined) throw new BlockFormatError('series index lacks the profiles table layout');
  const layout: ProfilesLayout = {
    rowGroups: t.rowGroups.map((g) => ({ offset: safe(g.offset, 'row group offset'), size: safe(g.size, 'row group size'), rows: g.rows, crc32c: g.crc32c })),
    footerOffset: safe(t.footerOffset, 'footer offset'),
    footerCrc32c: t.footerCrc32c,
    stacktraceCount: t.stacktraceCount,
  };
  return { series: out, layout };
}

// ---- symbols ----

type Col = ArrayLike<number>;

function checkUint32(col: Col, name: string): string | undefined {
  for (let i = 0; i < col.length; i++) {
    const v = col[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v < UINT32_LIMIT)) return `${name}[${i}] = ${v} is not a uint32`;
  }
  return undefined;
}

function checkInt(col: Col, name: string, unsigned: boolean): string | undefined {
  for (let i = 0; i < col.length; i++) {
    const v = col[i]!;
    const ok = unsigned ? Number.isInteger(v) && v >= 0 && v < UINT64_LIMIT : Number.isSafeInteger(v);
    if (!ok) return `${name}[${i}] = ${v} is not ${unsigned ? 'a uint64' : 'a safe int64'}`;
  }
  return undefined;
}

function checkBelow(col: Col, limit: number, name: string, target: string): string | undefined {
  for (let i = 0; i < col.length; i++) {
    if (col[i]! >= limit) return `${name}[${i}] = ${col[i]} out of range (${target} has ${limit})`;
  }
  return undefined;
}

function checkEnds(ends: Col, total: number, name: string, target: string): string | undefined {
  let prev = 0;
  for (let i = 0; i < ends.length; i++) {
    const e = ends[i]!;
    if (e < prev || e > total) return `${name}[${i}] = ${e} not in [${prev}, ${total}] (${target})`;
    prev = e;
  }
  if (prev !== total) return `${name} ends at ${prev} but ${target} has ${total} entries`;
  return undefined;
}

function checkSameLength(cols: Record<string, Col>): string | undefined {
  const names = Object.keys(cols);
  const n = cols[names[0]!]!.length;
  for (const k of names) {
    if (cols[k]!.length !== n) return `column ${k} has ${cols[k]!.length} entries, ${names[0]} has ${n}`;
  }
  return undefined;
}

/**
 * Describes the first inconsistency in `s` (lengths, value ranges, references
 * between tables), or returns undefined when every index resolves.
 * `strictValues` also checks that numbers are integers of the right range
 * (always true after protobuf decoding, not for caller-built objects).
 */
export function symbolsProblem(s: Symbols, strictValues: boolean): string | undefined {
  if (!Array.isArray(s.strings) || s.strings.length === 0 || s.strings[0] !== '') return 'strings must start with ""';
  const S = s.strings.length;
  const fn = { functionName: s.functionName, functionSystemName: s.functionSystemName, functionFilename: s.functionFilename, functionStartLine: s.functionStartLine };
  const mp = {
    mappingMemoryStart: s.mappingMemoryStart, mappingMemoryLimit: s.mappingMemoryLimit, mappingFileOffset: s.mappingFileOffset,
    mappingFilename: s.mappingFilename, mappingBuildId: s.mappingBuildId, mappingFlags: s.mappingFlags,
  };
  const loc = { locationMapping: s.locationMapping, locationAddress: s.locationAddress, locationLineEnd: s.locationLineEnd };
  const ln = { lineFunction: s.lineFunction, lineNumber: s.lineNumber };
  for (const group of [fn, mp, loc, ln, { stacktraceEnd: s.stacktraceEnd }, { stacktraceLocations: s.stacktraceLocations }]) {
    for (const [k, v] of Object.entries(group)) if (!Array.isArray(v) && !(v instanceof Uint32Array)) return `column ${k} is not an array`;
  }
  const F = s.functionName.length;
  const M = s.mappingMemoryStart.length;
  const L = s.locationMapping.length;
  const uint32Cols: [Col, string][] = [
    [s.functionName, 'functionName'], [s.functionSystemName, 'functionSystemName'], [s.functionFilename, 'functionFilename'],
    [s.mappingFilename, 'mappingFilename'], [s.mappingBuildId, 'mappingBuildId'], [s.mappingFlags, 'mappingFlags'],
    [s.locationMapping, 'locationMapping'], [s.locationLineEnd, 'locationLineEnd'], [s.lineFunction, 'lineFunction'],
    [s.stacktraceEnd, 'stacktraceEnd'], [s.stacktraceLocations, 'stacktraceLocations'],
  ];
  return (
    checkSameLength(fn) ??
    checkSameLength(mp) ??
    checkSameLength(loc) ??
    checkSameLength(ln) ??
    (strictValues
      ? (uint32Cols.map(([c, n]) => checkUint32(c, n)).find((p) => p !== undefined) ??
        checkInt(s.functionStartLine, 'functionStartLine', false) ??
        checkInt(s.lineNumber, 'lineNumber', false) ??
        checkInt(s.mappingMemoryStart, 'mappingMemoryStart', true) ??
        checkInt(s.mappingMemoryLimit, 'mappingMemoryLimit', true) ??
        checkInt(s.mappingFileOffset, 'mappingFileOffset', true) ??
        checkInt(s.locationAddress, 'locationAddress', true))
      : undefined) ??
    checkBelow(s.functionName, S, 'functionName', 'strings') ??
    checkBelow(s.functionSystemName, S, 'functionSystemName', 'strings') ??
    checkBelow(s.functionFilename, S, 'functionFilename', 'strings') ??
    checkBelow(s.mappingFilename, S, 'mappingFilename', 'strings') ??
    checkBelow(s.mappingBuildId, S, 'mappingBuildId', 'strings') ??
    checkBelow(s.locationMapping, M + 1, 'locationMapping', 'mappings + 1') ??
    checkEnds(s.locationLineEnd, s.lineFunction.length, 'locationLineEnd', 'lines') ??
    checkBelow(s.lineFunction, F, 'lineFunction', 'functions') ??
    checkEnds(s.stacktraceEnd, s.stacktraceLocations.length, 'stacktraceEnd', 'stacktraceLocations') ??
    checkBelow(s.stacktraceLocations, L, 'stacktraceLocations', 'locations')
  );
}

/**
 * The numeric columns of block.v1.Symbols by field number (strings are
 * field 1), with how each is read back. The order is the field order.
 */
type NumericColumn = Exclude<keyof Symbols, 'strings'>;

const SYMBOL_COLUMNS: readonly (readonly [number, NumericColumn, VarintKind])[] = [
  [2, 'functionName', 'uint32'],
  [3, 'functionSystemName', 'uint32'],
  [4, 'functionFilename', 'uint32'],
  [5, 'functionStartLine', 'int64'],
  [6, 'mappingMemoryStart', 'uint64'],
  [7, 'mappingMemoryLimit', 'uint64'],
  [8, 'mappingFileOffset', 'uint64'],
  [9, 'mappingFilename', 'uint32'],
  [10, 'mappingBuildId', 'uint32'],
  [11, 'mappingFlags', 'uint32'],
  [12, 'locationMapping', 'uint32'],
  [13, 'locationAddress', 'uint64'],
  [14, 'locationLineEnd', 'uint32'],
  [15, 'lineFunction', 'uint32'],
  [16, 'lineNumber', 'int64'],
  [17, 'stacktraceEnd', 'uint32'],
  [18, 'stacktraceLocations', 'uint32'],
];

/**
 * Encodes symbols that passed symbolsProblem(s, true) as block.v1.Symbols,
 * with the hand-written wire writer (same bytes as toBinary, much faster on
 * columns of 10^5 entries).
 */
export function encodeSymbols(s: Symbols): Uint8Array {
  const w = new ProtoWriter();
  w.strings(1, s.strings);
  for (const [field, key] of SYMBOL_COLUMNS) w.packed(field, s[key]);
  return frame(SYMBOLS_MAGIC, w.finish());
}

/** Decodes a symbols section and rejects it unless every index resolves. */
export function decodeSymbols(bytes: Uint8Array): Symbols {
  const pb = unframe(SYMBOLS_MAGIC, bytes, 'symbols');
  const s = emptySymbols();
  s.strings = [];
  const keys: (NumericColumn | undefined)[] = [];
  const kinds: VarintKind[] = [];
  for (const [field, key, kind] of SYMBOL_COLUMNS) {
    keys[field] = key;
    kinds[field] = kind;
  }
  try {
    const r = new ProtoReader(pb);
    while (!r.done()) {
      const [field, wire] = r.tag();
      const key = keys[field];
      if (field === 1) {
        if (wire !== 2) throw new ProtoError(`wire type ${wire} for field 1 (strings)`);
        s.strings.push(r.string());
      } else if (key !== undefined) s[key] = r.varints(wire, kinds[field]!, s[key]);
      else r.skip(wire);
    }
  } catch (err) {
    if (!(err instanceof ProtoError)) throw err;
    throw new BlockFormatError(`symbols section is not a valid protobuf: ${err.message}`, { cause: err });
  }
  const problem = symbolsProblem(s, false);
  if (problem !== undefined) throw new BlockFormatError(`inconsistent symbols section: ${problem}`);
  return s;
}

/** Number of stack traces in `s`. */
export function stacktraceCount(s: Symbols): number {
  return s.stacktraceEnd.length;
}

/**
 * Function names (string indexes) of stack trace `id`, leaf first: for each
 * location (leaf first) every line, inlined callees before their caller, as
 * pprof orders them.
 */
export function stacktraceFunctionNameIds(s: Symbols, id: number): number[] {
  if (!Number.isInteger(id) || id < 0 || id >= s.stacktraceEnd.length) {
    throw new RangeError(`stack trace id ${id} out of range (${s.stacktraceEnd.length} stack traces)`);
  }
  const out: number[] = [];
  const end = s.stacktraceEnd[id]!;
  for (let i = id === 0 ? 0 : s.stacktraceEnd[id - 1]!; i < end; i++) {
    const loc = s.stacktraceLocations[i]!;
    const lineEnd = s.locationLineEnd[loc]!;
    for (let j = loc === 0 ? 0 : s.locationLineEnd[loc - 1]!; j < lineEnd; j++) out.push(s.functionName[s.lineFunction[j]!]!);
  }
  return out;
}

/** Function names of stack trace `id`, in the order of stacktraceFunctionNameIds. */
export function stacktraceFunctionNames(s: Symbols, id: number): string[] {
  return stacktraceFunctionNameIds(s, id).map((i) => s.strings[i]!);
}

// The in-memory part of an open segment for one dataset (tenant, service):
// symbols interned and deduplicated across every profile of the segment,
// series, and one row per (profile, series).

import { type ColumnarDataset, type Labels, type RowColumns, emptySymbols } from '../block/model.js';
import type { DecodedProfile } from '../pprof/profile.js';
import { HASH_SEED, HashIndex, mix } from './hash-index.js';
import { RowBuilder } from './row-columns.js';
import { type SeriesPlan, labelsKey } from './series.js';
import { StacktraceTable } from './stacktrace-table.js';

/** The columns of a decoded profile that hold its symbols and stack traces: what interning reads. */
export type SymbolSource = Pick<DecodedProfile,
  'strings' | 'functionName' | 'functionSystemName' | 'functionFilename' | 'functionStartLine' |
  'mappingMemoryStart' | 'mappingMemoryLimit' | 'mappingFileOffset' | 'mappingFilename' | 'mappingBuildId' | 'mappingFlags' |
  'locationMapping' | 'locationAddress' | 'locationLineStart' | 'lineFunction' | 'lineNumber' |
  'sampleCount' | 'sampleLocationStart' | 'sampleLocations'>;

/**
 * A dataset built elsewhere (another build worker's part of the same segment):
 * its stack traces as the "samples" of `symbols`, and rows whose stack trace
 * ids index them.
 */
export interface HeadPart {
  tenant: string;
  name: string;
  series: Labels[];
  rows: RowColumns;
  symbols: SymbolSource;
}

export interface RowMeta {
  profileId: Uint8Array;
  timeNanos: bigint;
}

export class DatasetHead {
  /** The symbols but stack traces, which are interned into their own typed columns. */
  private readonly symbols = emptySymbols();
  private readonly strings = new Map<string, number>([['', 0]]);
  private readonly functions = new HashIndex();
  private readonly mappings = new HashIndex();
  private readonly locations = new HashIndex();
  private readonly stacktraces = new StacktraceTable();
  /** Series id by the labels' text, and by the labels array itself. */
  private readonly seriesIds = new Map<string, number>();
  private readonly seriesIdsByArray = new Map<Labels, number>();
  private readonly series: Labels[] = [];
  private readonly rows = RowBuilder.take();
  /** Per-stack-trace sums while one group is summed; reused across appends. */
  private acc = new Float64Array(0);
  private mark = new Int32Array(0);
  private stamp = 0;
  /** Stack trace ids touched by the group being summed; reused across appends. */
  private touched = new Uint32Array(1024);
  /** Per-profile lookup tables of internStacktraces (profile index → dataset id), reused across profiles. */
  private scratch = { str: new Int32Array(0), fn: new Int32Array(0), map: new Int32Array(0), loc: new Int32Array(0), out: new Uint32Array(0), frames: new Uint32Array(0), lineFns: new Uint32Array(16) };
  /** Rough bytes held, for memory accounting. */
  bytes = 0;

  constructor(
    readonly tenant: string,
    readonly name: string,
  ) {}

  append(p: DecodedProfile, plan: SeriesPlan, meta: RowMeta): void {
    const stacktraceOf = this.internStacktraces(p);
    const types = p.sampleTypeType.length;
    const stacks = this.stacktraces.length;
    if (this.mark.length < stacks) {
      const grown = Math.max(stacks, this.mark.length * 2, 1024);
      const mark = new Int32Array(grown);
      mark.set(this.mark);
      this.mark = mark;
    }
    if (this.acc.length < stacks * types) this.acc = new Float64Array(Math.max(stacks * types, this.acc.length * 2));
    const { acc, mark } = this;
    const sampleValues = p.sampleValues;
    const period = BigInt(Math.trunc(p.period));

    for (let g = 0; g < plan.groups.length; g++) {
      const samples = plan.groups[g]!;
      // Sum the values of equal stack traces: each stack id touched once per group.
      const stamp = ++this.stamp;
      if (this.touched.length < samples.length) this.touched = new Uint32Array(Math.max(samples.length, this.touched.length * 2));
      const touched = this.touched;
      let distinct = 0;
      for (let k = 0; k < samples.length; k++) {
        const i = samples[k]!;
        const id = stacktraceOf[i]!;
        // A loop, not acc.fill: a builtin call per sample cost more than the sums.
        if (mark[id] !== stamp) {
          mark[id] = stamp;
          touched[distinct++] = id;
          for (let t = 0; t < types; t++) acc[id * types + t] = 0;
        }
        for (let t = 0; t < types; t++) acc[id * types + t]! += sampleValues[i * types + t]!;
      }
      const ids = touched.subarray(0, distinct).sort();
      for (let t = 0; t < types; t++) {
        let n = 0;
        for (let k = 0; k < ids.length; k++) if (acc[ids[k]! * types + t] !== 0) n++;
        const rows = this.rows;
        let j = rows.reserve(n);
        const { stacks, values } = rows;
        let total = 0;
        for (let k = 0; k < ids.length; k++) {
          const v = acc[ids[k]! * types + t]!;
          if (v === 0) continue;
          stacks[j] = ids[k]!;
          values[j++] = v;
          total += v;
        }
        rows.push(this.seriesId(plan.labels[g]![t]!), meta.profileId, meta.timeNanos, p.durationNanos, period, total, n);
        this.bytes += 96 + n * 12;
      }
    }
  }

  /**
   * Adds another head's dataset: its symbols are interned like a profile's
   * (its stack traces are the samples), its series and rows remapped.
   */
  merge(part: HeadPart): void {
    const stackOf = this.internStacktraces(part.symbols);
    const seriesOf = part.series.map((labels) => this.seriesId(labels));
    const r = part.rows;
    const rows = this.rows;
    for (let i = 0; i < r.rowSeries.length; i++) {
      const from = r.rowStackStart[i]!;
      const n = r.rowStackStart[i + 1]! - from;
      const at = rows.reserve(n);
      // Written in place: two views per row were most of what merging allocated.
      const { stacks, values: vals } = rows;
      let sorted = true;
      for (let k = 0; k < n; k++) {
        stacks[at + k] = stackOf[r.rowStacks[from + k]!]!;
        vals[at + k] = r.rowValues[from + k]!;
        if (k > 0 && stacks[at + k]! < stacks[at + k - 1]!) sorted = false;
      }
      if (!sorted) {
        const ids = stacks.subarray(at, at + n);
        const values = vals.subarray(at, at + n);
        const order = Array.from(ids.keys()).sort((a, b) => ids[a]! - ids[b]!);
        const [i0, v0] = [ids.slice(), values.slice()];
        order.forEach((from, k) => {
          ids[k] = i0[from]!;
          values[k] = v0[from]!;
        });
      }
      const profileId = r.rowIds.subarray(r.rowIdStart[i]!, r.rowIdStart[i + 1]!);
      rows.push(seriesOf[r.rowSeries[i]!]!, profileId, r.rowTime[i]!, r.rowDuration[i]!, r.rowPeriod[i]!, r.rowTotal[i]!, n);
      this.bytes += 96 + n * 12;
    }
  }

  /**
   * The dataset as the block writer takes it (and as a build worker sends
   * its share to the one that merges), its columns views into the head's
   * buffers: the head must not be appended to afterwards.
   */
  content(): ColumnarDataset {
    return { tenant: this.tenant, name: this.name, series: this.series, rows: this.rows.columns(), symbols: { ...this.symbols, ...this.stacktraces.columns() } };
  }

  /** Gives the row columns back for reuse: nothing may read this head or its content afterwards. */
  release(): void {
    this.rows.release();
  }

  private seriesId(labels: Labels): number {
    // planSeries hands out the same array for a series it has seen: most
    // lookups are by identity, without building the labels' text.
    let id = this.seriesIdsByArray.get(labels);
    if (id !== undefined) return id;
    const key = labelsKey(labels);
    id = this.seriesIds.get(key);
    if (id === undefined) {
      id = this.series.length;
      this.series.push(labels);
      this.seriesIds.set(key, id);
      this.bytes += key.length * 2 + 64;
    }
    this.seriesIdsByArray.set(labels, id);
    return id;
  }

  /** A reused lookup table of at least n entries, the first n set to -1. */
  private table(which: 'str' | 'fn' | 'map' | 'loc', n: number): Int32Array {
    let t = this.scratch[which];
    if (t.length < n) this.scratch[which] = t = new Int32Array(Math.max(n, t.length * 2));
    return t.fill(-1, 0, n);
  }

  /**
   * Interns every sample's stack trace; returns the dataset stack trace id per
   * sample (in a reused array, valid until the next call).
   */
  private internStacktraces(p: SymbolSource): Uint32Array {
    const s = this.symbols;
    const strMap = this.table('str', p.strings.length);
    const str = (i: number): number => {
      let v = strMap[i]!;
      if (v < 0) {
        const text = p.strings[i]!;
        v = this.strings.get(text) ?? -1;
        if (v < 0) {
          v = s.strings.length;
          s.strings.push(text);
          this.strings.set(text, v);
          this.bytes += text.length * 2 + 48;
        }
        strMap[i] = v;
      }
      return v;
    };

    const fnMap = this.table('fn', p.functionName.length);
    const fn = (i: number): number => {
      let v = fnMap[i]!;
      if (v >= 0) return v;
      const name = str(p.functionName[i]!);
      const system = str(p.functionSystemName[i]!);
      const file = str(p.functionFilename[i]!);
      const start = p.functionStartLine[i]!;
      const h = mix(mix(mix(mix(HASH_SEED, name), system), file), start);
      for (v = this.functions.first(h); v >= 0; v = this.functions.following(v)) {
        if (s.functionName[v] === name && s.functionSystemName[v] === system && s.functionFilename[v] === file && s.functionStartLine[v] === start) break;
      }
      if (v < 0) {
        v = s.functionName.length;
        s.functionName.push(name);
        s.functionSystemName.push(system);
        s.functionFilename.push(file);
        s.functionStartLine.push(start);
        this.functions.add(h, v);
        this.bytes += 64;
      }
      return (fnMap[i] = v);
    };

    const mapMap = this.table('map', p.mappingFilename.length);
    const mapping = (i: number): number => {
      let v = mapMap[i]!;
      if (v >= 0) return v;
      const file = str(p.mappingFilename[i]!);
      const build = str(p.mappingBuildId[i]!);
      const start = p.mappingMemoryStart[i]!;
      const limit = p.mappingMemoryLimit[i]!;
      const offset = p.mappingFileOffset[i]!;
      const flags = p.mappingFlags[i]!;
      const h = mix(mix(mix(mix(mix(mix(HASH_SEED, file), build), start), limit), offset), flags);
      for (v = this.mappings.first(h); v >= 0; v = this.mappings.following(v)) {
        if (s.mappingFilename[v] === file && s.mappingBuildId[v] === build && s.mappingMemoryStart[v] === start &&
          s.mappingMemoryLimit[v] === limit && s.mappingFileOffset[v] === offset && s.mappingFlags[v] === flags) break;
      }
      if (v < 0) {
        v = s.mappingFilename.length;
        s.mappingMemoryStart.push(start);
        s.mappingMemoryLimit.push(limit);
        s.mappingFileOffset.push(offset);
        s.mappingFilename.push(file);
        s.mappingBuildId.push(build);
        s.mappingFlags.push(flags);
        this.mappings.add(h, v);
        this.bytes += 64;
      }
      return (mapMap[i] = v);
    };

    // Every location of the profile, in one pass (profiles list only the locations they use).
    const locMap = this.table('loc', p.locationAddress.length);
    // The profile's columns in locals: `p` is a decoded profile or a merged head's
    // symbols (two shapes), and a field read through it in a loop was re-checked
    // every iteration.
    const { locationMapping, locationAddress, locationLineStart, lineFunction, lineNumber, sampleLocationStart: starts, sampleLocations, sampleCount } = p;
    // The dataset function of each line of the location at hand. A reused typed
    // array: emptying a JS array (length = 0) dropped its storage, and refilling
    // it was a third of what a build worker allocated.
    let lineFns = this.scratch.lineFns;
    for (let j = 0; j < locationAddress.length; j++) {
      const m = locationMapping[j]! < 0 ? 0 : mapping(locationMapping[j]!) + 1;
      const address = locationAddress[j]!;
      const lineStart = locationLineStart[j]!;
      const lineCount = locationLineStart[j + 1]! - lineStart;
      let h = mix(mix(mix(HASH_SEED, m), address), lineCount);
      if (lineFns.length < lineCount) this.scratch.lineFns = lineFns = new Uint32Array(Math.max(lineCount, lineFns.length * 2));
      for (let k = 0; k < lineCount; k++) {
        const f = fn(lineFunction[lineStart + k]!);
        lineFns[k] = f;
        h = mix(mix(h, f), lineNumber[lineStart + k]!);
      }
      let v: number;
      for (v = this.locations.first(h); v >= 0; v = this.locations.following(v)) {
        if (s.locationMapping[v] !== m || s.locationAddress[v] !== address) continue;
        const from = v === 0 ? 0 : s.locationLineEnd[v - 1]!;
        if (s.locationLineEnd[v]! - from !== lineCount) continue;
        let same = true;
        for (let k = 0; k < lineCount && same; k++) {
          same = s.lineFunction[from + k] === lineFns[k] && s.lineNumber[from + k] === lineNumber[lineStart + k];
        }
        if (same) break;
      }
      if (v < 0) {
        v = s.locationMapping.length;
        s.locationMapping.push(m);
        s.locationAddress.push(address);
        for (let k = 0; k < lineCount; k++) {
          s.lineFunction.push(lineFns[k]!);
          s.lineNumber.push(lineNumber[lineStart + k]!);
        }
        s.locationLineEnd.push(s.lineFunction.length);
        this.locations.add(h, v);
        this.bytes += 48 + lineCount * 16;
      }
      locMap[j] = v;
    }

    // Stack traces as dataset location ids.
    const frameCount = starts[sampleCount]!;
    if (this.scratch.frames.length < frameCount) this.scratch.frames = new Uint32Array(Math.max(frameCount, this.scratch.frames.length * 2));
    const frames = this.scratch.frames;
    for (let k = 0; k < frameCount; k++) frames[k] = locMap[sampleLocations[k]!]!;
    if (this.scratch.out.length < sampleCount) this.scratch.out = new Uint32Array(Math.max(sampleCount, this.scratch.out.length * 2));
    const out = this.scratch.out;
    const stacks = this.stacktraces;
    for (let i = 0; i < sampleCount; i++) {
      const known = stacks.length;
      const id = stacks.intern(frames, starts[i]!, starts[i + 1]!);
      if (id === known) this.bytes += 16 + (starts[i + 1]! - starts[i]!) * 4;
      out[i] = id;
    }
    return out;
  }
}

// The in-memory part of an open segment for one dataset (tenant, service):
// symbols interned and deduplicated across every profile of the segment,
// series, and one row per (profile, series).

import { type DatasetContent, type Labels, type ProfileRow, emptySymbols } from '../block/model.js';
import type { DecodedProfile } from '../pprof/profile.js';
import type { SeriesPlan } from './series.js';

export interface RowMeta {
  profileId: Uint8Array;
  timeNanos: bigint;
}

export class DatasetHead {
  private readonly symbols = emptySymbols();
  private readonly strings = new Map<string, number>([['', 0]]);
  private readonly functions = new Map<string, number>();
  private readonly mappings = new Map<string, number>();
  private readonly locations = new Map<string, number>();
  private readonly stacktraces = new Map<string, number>();
  private readonly seriesIds = new Map<string, number>();
  private readonly series: Labels[] = [];
  private readonly rows: ProfileRow[] = [];
  /** Rough bytes held, for memory accounting. */
  bytes = 0;

  constructor(
    readonly tenant: string,
    readonly name: string,
  ) {}

  get profileCount(): number {
    return this.rows.length;
  }

  append(p: DecodedProfile, plan: SeriesPlan, meta: RowMeta): void {
    const stacktraceOf = this.internStacktraces(p);
    const types = p.sampleTypeType.length;
    const period = BigInt(Math.trunc(p.period));
    for (let g = 0; g < plan.groups.length; g++) {
      const samples = plan.groups[g]!;
      // Samples sorted by stack trace id, so equal stacks are summed in one run.
      const order = Uint32Array.from(samples).sort((a, b) => stacktraceOf[a]! - stacktraceOf[b]!);
      for (let t = 0; t < types; t++) {
        const ids: number[] = [];
        const values: number[] = [];
        let total = 0;
        for (let k = 0; k < order.length; ) {
          const id = stacktraceOf[order[k]!]!;
          let v = 0;
          for (; k < order.length && stacktraceOf[order[k]!] === id; k++) v += p.sampleValues[order[k]! * types + t]!;
          if (v !== 0) {
            ids.push(id);
            values.push(v);
            total += v;
          }
        }
        this.rows.push({
          seriesIndex: this.seriesId(plan.labels[g]![t]!),
          profileId: meta.profileId,
          timeNanos: meta.timeNanos,
          durationNanos: p.durationNanos,
          period,
          totalValue: total,
          stacktraceIds: Uint32Array.from(ids),
          values: Float64Array.from(values),
        });
        this.bytes += 96 + ids.length * 12;
      }
    }
  }

  /** The dataset as the block writer takes it. */
  content(): DatasetContent {
    return { tenant: this.tenant, name: this.name, series: this.series, rows: this.rows, symbols: this.symbols };
  }

  private seriesId(labels: Labels): number {
    const key = labels.map(([n, v]) => `${n}\u0000${v}`).join('\u0001');
    let id = this.seriesIds.get(key);
    if (id === undefined) {
      id = this.series.length;
      this.series.push(labels);
      this.seriesIds.set(key, id);
      this.bytes += key.length * 2 + 64;
    }
    return id;
  }

  /** Interns every sample's stack trace; returns the dataset stack trace id per sample. */
  private internStacktraces(p: DecodedProfile): Uint32Array {
    const s = this.symbols;
    const strMap = new Int32Array(p.strings.length).fill(-1);
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
    const fnMap = new Int32Array(p.functionName.length).fill(-1);
    const fn = (i: number): number => {
      let v = fnMap[i]!;
      if (v < 0) {
        const name = str(p.functionName[i]!);
        const system = str(p.functionSystemName[i]!);
        const file = str(p.functionFilename[i]!);
        const start = p.functionStartLine[i]!;
        const key = `${name},${system},${file},${start}`;
        v = this.functions.get(key) ?? -1;
        if (v < 0) {
          v = s.functionName.length;
          s.functionName.push(name);
          s.functionSystemName.push(system);
          s.functionFilename.push(file);
          s.functionStartLine.push(start);
          this.functions.set(key, v);
          this.bytes += 96;
        }
        fnMap[i] = v;
      }
      return v;
    };
    const mapMap = new Int32Array(p.mappingFilename.length).fill(-1);
    const mapping = (i: number): number => {
      let v = mapMap[i]!;
      if (v < 0) {
        const file = str(p.mappingFilename[i]!);
        const build = str(p.mappingBuildId[i]!);
        const key = `${p.mappingMemoryStart[i]},${p.mappingMemoryLimit[i]},${p.mappingFileOffset[i]},${file},${build},${p.mappingFlags[i]}`;
        v = this.mappings.get(key) ?? -1;
        if (v < 0) {
          v = s.mappingFilename.length;
          s.mappingMemoryStart.push(p.mappingMemoryStart[i]!);
          s.mappingMemoryLimit.push(p.mappingMemoryLimit[i]!);
          s.mappingFileOffset.push(p.mappingFileOffset[i]!);
          s.mappingFilename.push(file);
          s.mappingBuildId.push(build);
          s.mappingFlags.push(p.mappingFlags[i]!);
          this.mappings.set(key, v);
          this.bytes += 96;
        }
        mapMap[i] = v;
      }
      return v;
    };
    const locMap = new Int32Array(p.locationAddress.length).fill(-1);
    const location = (j: number): number => {
      let v = locMap[j]!;
      if (v < 0) {
        const m = p.locationMapping[j]! < 0 ? 0 : mapping(p.locationMapping[j]!) + 1;
        let key = `${m},${p.locationAddress[j]}`;
        const lineStart = p.locationLineStart[j]!;
        const lineEnd = p.locationLineStart[j + 1]!;
        const lines: number[] = [];
        for (let k = lineStart; k < lineEnd; k++) {
          const f = fn(p.lineFunction[k]!);
          lines.push(f, p.lineNumber[k]!);
          key += `;${f}:${p.lineNumber[k]}`;
        }
        v = this.locations.get(key) ?? -1;
        if (v < 0) {
          v = s.locationMapping.length;
          s.locationMapping.push(m);
          s.locationAddress.push(p.locationAddress[j]!);
          for (let k = 0; k < lines.length; k += 2) {
            s.lineFunction.push(lines[k]!);
            s.lineNumber.push(lines[k + 1]!);
          }
          s.locationLineEnd.push(s.lineFunction.length);
          this.locations.set(key, v);
          this.bytes += key.length * 2 + 96;
        }
        locMap[j] = v;
      }
      return v;
    };

    const out = new Uint32Array(p.sampleCount);
    const stack: number[] = [];
    for (let i = 0; i < p.sampleCount; i++) {
      stack.length = 0;
      for (let k = p.sampleLocationStart[i]!; k < p.sampleLocationStart[i + 1]!; k++) stack.push(location(p.sampleLocations[k]!));
      const key = stack.join(',');
      let id = this.stacktraces.get(key);
      if (id === undefined) {
        id = s.stacktraceEnd.length;
        for (const l of stack) s.stacktraceLocations.push(l);
        s.stacktraceEnd.push(s.stacktraceLocations.length);
        this.stacktraces.set(key, id);
        this.bytes += key.length * 2 + stack.length * 8 + 64;
      }
      out[i] = id;
    }
    return out;
  }
}

// Symbols of a merged dataset: the source datasets' tables are deduplicated
// into one output table, and each source's stack trace ids are rewritten into
// it. Work is lazy and per source: a source stack trace is translated the
// first time a merged row uses it, and the translation is kept in a typed
// array. Output ids are therefore given in first-use order of the merge, which
// is deterministic, and the output holds only symbols that surviving rows use.
//
// Memory: the output table and every source's table of the open dataset are
// held while it merges. They grow with distinct symbols, not with rows.

import { emptySymbols, type Symbols } from '../block/model.js';
import { stacktraceFunctionNameIds } from '../block/sections.js';
import { HASH_SEED, HashIndex, mix } from '../segment/hash-index.js';
import { StacktraceTable } from '../segment/stacktrace-table.js';

/** The deduplicated symbol table of one output dataset. */
export class SymbolTableBuilder {
  /** Every table but the stack traces, which are interned into `stacktraces`. */
  private readonly tables = emptySymbols();
  private readonly strings = new Map<string, number>([['', 0]]);
  private readonly functions = new HashIndex();
  private readonly mappings = new HashIndex();
  private readonly locations = new HashIndex();
  private readonly stacktraces = new StacktraceTable();
  /** Location ids of the stack trace being looked up (reused). */
  private frames = new Uint32Array(256);

  /** The table built so far: its stack trace columns are views that the next new stack trace replaces. */
  symbols(): Symbols {
    return { ...this.tables, ...this.stacktraces.columns() };
  }

  /** The string with id `i`. */
  stringAt(i: number): string {
    return this.tables.strings[i]!;
  }

  /** The function names (string ids) of stack trace `id`, see stacktraceFunctionNameIds. */
  functionNameIds(id: number): number[] {
    return stacktraceFunctionNameIds(this.symbols(), id);
  }

  string(s: string): number {
    let i = this.strings.get(s);
    if (i === undefined) {
      i = this.tables.strings.length;
      this.tables.strings.push(s);
      this.strings.set(s, i);
    }
    return i;
  }

  function(name: number, systemName: number, filename: number, startLine: number): number {
    const s = this.tables;
    const h = mix(mix(mix(mix(HASH_SEED, name), systemName), filename), startLine);
    for (let v = this.functions.first(h); v >= 0; v = this.functions.following(v)) {
      if (s.functionName[v] === name && s.functionSystemName[v] === systemName && s.functionFilename[v] === filename && s.functionStartLine[v] === startLine) return v;
    }
    const v = s.functionName.length;
    s.functionName.push(name);
    s.functionSystemName.push(systemName);
    s.functionFilename.push(filename);
    s.functionStartLine.push(startLine);
    this.functions.add(h, v);
    return v;
  }

  mapping(start: number, limit: number, offset: number, filename: number, buildId: number, flags: number): number {
    const s = this.tables;
    const h = mix(mix(mix(mix(mix(mix(HASH_SEED, filename), buildId), start), limit), offset), flags);
    for (let v = this.mappings.first(h); v >= 0; v = this.mappings.following(v)) {
      if (
        s.mappingFilename[v] === filename && s.mappingBuildId[v] === buildId && s.mappingMemoryStart[v] === start &&
        s.mappingMemoryLimit[v] === limit && s.mappingFileOffset[v] === offset && s.mappingFlags[v] === flags
      ) return v;
    }
    const v = s.mappingMemoryStart.length;
    s.mappingMemoryStart.push(start);
    s.mappingMemoryLimit.push(limit);
    s.mappingFileOffset.push(offset);
    s.mappingFilename.push(filename);
    s.mappingBuildId.push(buildId);
    s.mappingFlags.push(flags);
    this.mappings.add(h, v);
    return v;
  }

  /** A location whose n lines are `lineFunction[0..n)` (output ids) and `lineNumber[at..at+n)`. */
  location(mapping: number, address: number, lineFunction: ArrayLike<number>, lineNumber: ArrayLike<number>, at: number, n: number): number {
    const s = this.tables;
    let h = mix(mix(mix(HASH_SEED, mapping), address), n);
    for (let k = 0; k < n; k++) h = mix(mix(h, lineFunction[k]!), lineNumber[at + k]!);
    for (let v = this.locations.first(h); v >= 0; v = this.locations.following(v)) {
      if (s.locationMapping[v] !== mapping || s.locationAddress[v] !== address) continue;
      const from = v === 0 ? 0 : s.locationLineEnd[v - 1]!;
      if (s.locationLineEnd[v]! - from !== n) continue;
      let k = 0;
      while (k < n && s.lineFunction[from + k] === lineFunction[k] && s.lineNumber[from + k] === lineNumber[at + k]) k++;
      if (k === n) return v;
    }
    const v = s.locationMapping.length;
    s.locationMapping.push(mapping);
    s.locationAddress.push(address);
    for (let k = 0; k < n; k++) {
      s.lineFunction.push(lineFunction[k]!);
      s.lineNumber.push(lineNumber[at + k]!);
    }
    s.locationLineEnd.push(s.lineFunction.length);
    this.locations.add(h, v);
    return v;
  }

  /** Room for a stack trace of n frames in the scratch buffer; fill it, then call stacktrace(n). */
  frameBuffer(n: number): Uint32Array {
    if (this.frames.length < n) this.frames = new Uint32Array(Math.max(n, this.frames.length * 2));
    return this.frames;
  }

  /** The stack trace held in frameBuffer()[0..n) (output location ids, leaf first). */
  stacktrace(n: number): number {
    return this.stacktraces.intern(this.frames, 0, n);
  }
}

/** Translates one source dataset's symbol ids into a SymbolTableBuilder, lazily and once per id. */
export class SourceSymbolMap {
  // -1 = not translated yet.
  private readonly strings: Int32Array;
  private readonly functions: Int32Array;
  private readonly mappings: Int32Array;
  private readonly locations: Int32Array;
  private readonly stacks: Int32Array;
  private lineFunction = new Uint32Array(16);

  constructor(
    private readonly src: Symbols,
    private readonly out: SymbolTableBuilder,
  ) {
    this.strings = new Int32Array(src.strings.length).fill(-1);
    this.functions = new Int32Array(src.functionName.length).fill(-1);
    this.mappings = new Int32Array(src.mappingMemoryStart.length).fill(-1);
    this.locations = new Int32Array(src.locationMapping.length).fill(-1);
    this.stacks = new Int32Array(src.stacktraceEnd.length).fill(-1);
  }

  /** Output id of source stack trace `id`. */
  stacktrace(id: number): number {
    const known = this.stacks[id]!;
    if (known >= 0) return known;
    const s = this.src;
    const from = id === 0 ? 0 : s.stacktraceEnd[id - 1]!;
    const n = s.stacktraceEnd[id]! - from;
    // location() never touches the frame buffer, so frames go straight into it.
    const frames = this.out.frameBuffer(n);
    for (let k = 0; k < n; k++) frames[k] = this.location(s.stacktraceLocations[from + k]!);
    return (this.stacks[id] = this.out.stacktrace(n));
  }

  private string(i: number): number {
    const known = this.strings[i]!;
    return known >= 0 ? known : (this.strings[i] = this.out.string(this.src.strings[i]!));
  }

  private function(i: number): number {
    const known = this.functions[i]!;
    if (known >= 0) return known;
    const s = this.src;
    const v = this.out.function(this.string(s.functionName[i]!), this.string(s.functionSystemName[i]!), this.string(s.functionFilename[i]!), s.functionStartLine[i]!);
    return (this.functions[i] = v);
  }

  private mapping(i: number): number {
    const known = this.mappings[i]!;
    if (known >= 0) return known;
    const s = this.src;
    const v = this.out.mapping(
      s.mappingMemoryStart[i]!, s.mappingMemoryLimit[i]!, s.mappingFileOffset[i]!,
      this.string(s.mappingFilename[i]!), this.string(s.mappingBuildId[i]!), s.mappingFlags[i]!,
    );
    return (this.mappings[i] = v);
  }

  private location(i: number): number {
    const known = this.locations[i]!;
    if (known >= 0) return known;
    const s = this.src;
    const from = i === 0 ? 0 : s.locationLineEnd[i - 1]!;
    const n = s.locationLineEnd[i]! - from;
    if (this.lineFunction.length < n) this.lineFunction = new Uint32Array(n * 2);
    const fns = this.lineFunction;
    for (let k = 0; k < n; k++) fns[k] = this.function(s.lineFunction[from + k]!);
    const m = s.locationMapping[i]!;
    const mapping = m === 0 ? 0 : this.mapping(m - 1) + 1;
    const v = this.out.location(mapping, s.locationAddress[i]!, fns, s.lineNumber, from, n);
    return (this.locations[i] = v);
  }
}

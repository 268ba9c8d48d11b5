// Which function rules a stack trace "hits": rule j hits a stack when any
// frame of the stack (any line of any location, inlined ones included) is a
// function named exactly like rule j's stacktrace_filter. The answer is a
// bitmap over the dataset's function rules, OR-ed over the frames, so a stack
// counts once per rule however often the function appears in it (recursion).
//
// Everything is cached per dataset, on typed arrays, because stack trace ids
// and string indexes are only stable within one dataset's output symbols:
//
//   string index → name group  (which function name, if any, a string is)
//   stack id     → bitmap      (computed on first sight, then one array read)
//
// A dataset's rows reuse a small set of stacks, so after warm-up a row costs
// one cached bitmap read per sample. Strings are materialised once per
// distinct function name index, never per row.

import type { StackResolver } from '../compaction/observer.js';

const UNKNOWN = 0;
const NO_GROUP = 1;
/** stringGroup values from here on are group index + FIRST_GROUP. */
const FIRST_GROUP = 2;

export class FunctionHits {
  /** 32-bit words per bitmap: ceil(function rules / 32). */
  readonly words: number;
  /** Bitmap of each stack id (`words` words from id × words); valid where `known[id]` is 1. Re-read after of(): it grows. */
  hits: Uint32Array;
  private known: Uint8Array;
  /** Distinct filter function name → its group (the rules sharing that name). */
  private readonly groupOfName = new Map<string, number>();
  /** Bitmap of the rules of each group, `words` words per group. */
  private readonly groupBits: Uint32Array;
  /** String index → UNKNOWN, NO_GROUP or group + FIRST_GROUP. */
  private stringGroup = new Int32Array(256);
  /** Scratch bitmap while a stack is resolved. */
  private readonly acc: Uint32Array;

  /** `functionNames[j]` is the filter of the dataset's function rule j. */
  constructor(functionNames: readonly string[]) {
    this.words = Math.max(1, Math.ceil(functionNames.length / 32));
    const groups: number[][] = [];
    functionNames.forEach((name, j) => {
      let g = this.groupOfName.get(name);
      if (g === undefined) {
        g = groups.length;
        this.groupOfName.set(name, g);
        groups.push([]);
      }
      groups[g]!.push(j);
    });
    this.groupBits = new Uint32Array(groups.length * this.words);
    groups.forEach((rules, g) => {
      for (const j of rules) this.groupBits[g * this.words + (j >>> 5)]! |= 1 << (j & 31);
    });
    this.hits = new Uint32Array(256 * this.words);
    this.known = new Uint8Array(256);
    this.acc = new Uint32Array(this.words);
  }

  /** Offset in `hits` of stack `id`'s bitmap, computing it on first sight. */
  of(id: number, symbols: StackResolver): number {
    const w = this.words;
    if (id < this.known.length && this.known[id] === 1) return id * w;
    if (id >= this.known.length) this.growStacks(id);
    const acc = this.acc;
    acc.fill(0);
    const names = symbols.functionNameIds(id);
    for (let i = 0; i < names.length; i++) {
      const g = this.groupOfString(names[i]!, symbols);
      if (g < 0) continue;
      for (let k = 0; k < w; k++) acc[k]! |= this.groupBits[g * w + k]!;
    }
    this.hits.set(acc, id * w);
    this.known[id] = 1;
    return id * w;
  }

  /** The group of the function name at string index `s`, or -1. */
  private groupOfString(s: number, symbols: StackResolver): number {
    if (s >= this.stringGroup.length) {
      const grown = new Int32Array(Math.max(s + 1, this.stringGroup.length * 2));
      grown.set(this.stringGroup);
      this.stringGroup = grown;
    }
    let v = this.stringGroup[s]!;
    if (v === UNKNOWN) {
      const g = this.groupOfName.get(symbols.string(s));
      v = g === undefined ? NO_GROUP : g + FIRST_GROUP;
      this.stringGroup[s] = v;
    }
    return v - FIRST_GROUP;
  }

  private growStacks(id: number): void {
    const n = Math.max(id + 1, this.known.length * 2);
    const known = new Uint8Array(n);
    known.set(this.known);
    this.known = known;
    const hits = new Uint32Array(n * this.words);
    hits.set(this.hits);
    this.hits = hits;
  }
}

// The head's inverted index: label name id → label value id → the sorted refs of the series
// with that pair ("postings"), plus the list of every series ref.
//
// Refs are handed out in increasing order, so adding a series appends to the end of each of
// its lists and they stay sorted without work. A list with one series (e.g. a label unique per
// series) is kept as a bare number instead of an array: high-cardinality labels are common and
// an array object per value would cost more than the series itself.
//
// Query-time set operations work on sorted Uint32Arrays.

/** A growable sorted list of refs. */
export class PostingsList {
  refs: Uint32Array;
  length = 0;

  constructor(capacity = 4) {
    this.refs = new Uint32Array(capacity);
  }

  add(ref: number): void {
    if (this.length === this.refs.length) {
      const next = new Uint32Array(this.refs.length * 2);
      next.set(this.refs);
      this.refs = next;
    }
    // Appends are in ref order except during replay of unusual logs; keep sorted regardless.
    let i = this.length;
    while (i > 0 && this.refs[i - 1]! > ref) {
      this.refs[i] = this.refs[i - 1]!;
      i--;
    }
    this.refs[i] = ref;
    this.length++;
  }

  view(): Uint32Array {
    return this.refs.subarray(0, this.length);
  }
}

type Entry = number | PostingsList;

export class PostingsIndex {
  private readonly byName = new Map<number, Map<number, Entry>>();
  readonly all = new PostingsList(1024);

  /** Adds a series with labels [name0, value0, name1, value1, …] (symbol ids). */
  add(ref: number, labels: Uint32Array): void {
    this.all.add(ref);
    for (let i = 0; i < labels.length; i += 2) {
      let values = this.byName.get(labels[i]!);
      if (values === undefined) {
        values = new Map();
        this.byName.set(labels[i]!, values);
      }
      const v = labels[i + 1]!;
      const e = values.get(v);
      if (e === undefined) {
        values.set(v, ref);
      } else if (typeof e === 'number') {
        const list = new PostingsList(2);
        list.add(e);
        list.add(ref);
        values.set(v, list);
      } else {
        e.add(ref);
      }
    }
  }

  /** Refs of series with name=value, sorted (a fresh or shared array: do not modify). */
  get(name: number, value: number): Uint32Array {
    const e = this.byName.get(name)?.get(value);
    if (e === undefined) return EMPTY;
    return typeof e === 'number' ? Uint32Array.of(e) : e.view();
  }

  /** Value ids present for a label name. */
  values(name: number): IterableIterator<number> {
    return (this.byName.get(name) ?? new Map<number, Entry>()).keys();
  }

  /** Label name ids present. */
  names(): IterableIterator<number> {
    return this.byName.keys();
  }

  /** Union of the postings of several values of one name (disjoint: a series has one value per name). */
  union(name: number, valueIds: readonly number[]): Uint32Array {
    const values = this.byName.get(name);
    if (values === undefined || valueIds.length === 0) return EMPTY;
    let total = 0;
    for (const v of valueIds) {
      const e = values.get(v);
      total += e === undefined ? 0 : typeof e === 'number' ? 1 : e.length;
    }
    const out = new Uint32Array(total);
    let at = 0;
    for (const v of valueIds) {
      const e = values.get(v);
      if (e === undefined) continue;
      if (typeof e === 'number') out[at++] = e;
      else {
        out.set(e.view(), at);
        at += e.length;
      }
    }
    return valueIds.length > 1 ? out.sort() : out;
  }
}

export const EMPTY = new Uint32Array(0);

/** Refs in both sorted lists. */
export function intersect(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out[n++] = x;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out.subarray(0, n);
}

/** Refs of sorted `a` not in sorted `b`. */
export function subtract(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (b.length === 0) return a;
  const out = new Uint32Array(a.length);
  let j = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    while (j < b.length && b[j]! < x) j++;
    if (j < b.length && b[j] === x) continue;
    out[n++] = x;
  }
  return out.subarray(0, n);
}

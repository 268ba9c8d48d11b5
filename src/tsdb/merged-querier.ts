// Reads one tenant across its blocks and its head as if they were one store (storage.ts Querier).
//
// For select(): every block overlapping [minT, maxT] is asked for its matching series; each
// series' chunks are decoded and cut to the range; the head's series are added; series with the
// same labels are merged with one sample per timestamp (series-merge.ts: blocks by minTime and
// ULID first, the head last). Output is sorted by labels. Label names and values are the union.
//
// A block found corrupt while reading (a chunk CRC) is reported through `onCorrupt` — the DB
// logs it and stops using the block — and the query goes on without it rather than failing.
import type { BlockReader } from './blocks/block-reader.js';
import { CorruptBlockError } from './blocks/block-reader.js';
import { compareLabels, compareStrings, labelsKey } from './blocks/labels.js';
import { compileMatcher } from './blocks/matchers.js';
import { concatSamples, decodeChunk, mergeSamples, type Samples } from './blocks/series-merge.js';
import type { LabelMatcher, Labels, Querier, SelectedSeries } from './storage.js';

export interface MergedQuerierSources {
  /** Blocks to read, sorted by minTime then ULID; the querier does not close them. */
  blocks: readonly BlockReader[];
  /** The head's querier (absent for a tenant without a head yet). */
  head?: Querier;
  onCorrupt(block: BlockReader, err: CorruptBlockError): void;
}

export class MergedQuerier implements Querier {
  constructor(private readonly src: MergedQuerierSources) {}

  private overlapping(minT: number, maxT: number): BlockReader[] {
    return this.src.blocks.filter((b) => b.meta.minTime <= maxT && b.meta.maxTime > minT);
  }

  /** Runs `read` on a block; a corrupt block is reported and contributes nothing. */
  private async guarded<T>(block: BlockReader, empty: T, read: () => Promise<T> | T): Promise<T> {
    try {
      return await read();
    } catch (err) {
      if (!(err instanceof CorruptBlockError)) throw err;
      this.src.onCorrupt(block, err);
      return empty;
    }
  }

  async select(matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<SelectedSeries[]> {
    const compiled = matchers.map(compileMatcher);
    // labels key → the series' labels and its sample runs in source order.
    const merged = new Map<string, { labels: Labels; runs: Samples[] }>();
    const add = (labels: Labels, run: Samples): void => {
      if (run.timestamps.length === 0) return;
      const key = labelsKey(labels);
      const e = merged.get(key);
      if (e) e.runs.push(run);
      else merged.set(key, { labels, runs: [run] });
    };
    for (const block of this.overlapping(minT, maxT)) {
      const series = await this.guarded(block, [] as Array<{ labels: Labels; run: Samples }>, async () => {
        const out: Array<{ labels: Labels; run: Samples }> = [];
        for (const s of block.series(compiled, minT, maxT)) {
          const runs: Samples[] = [];
          for (const ref of s.chunks) runs.push(decodeChunk(await block.chunk(ref.ref)));
          out.push({ labels: s.labels, run: mergeSamples([concatSamples(runs)], minT, maxT) });
        }
        return out;
      });
      for (const s of series) add(s.labels, s.run);
    }
    if (this.src.head) for (const s of await this.src.head.select(matchers, minT, maxT)) add(s.labels, s);

    const out: SelectedSeries[] = [];
    for (const { labels, runs } of merged.values()) {
      const s = runs.length === 1 ? runs[0]! : mergeSamples(runs);
      out.push({ labels, timestamps: s.timestamps, values: s.values });
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  async labelNames(matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<string[]> {
    const names = new Set<string>();
    const compiled = matchers.map(compileMatcher);
    for (const block of this.overlapping(minT, maxT)) {
      const found = await this.guarded(block, [] as string[], () =>
        matchers.length === 0 ? block.labelNames() : block.series(compiled, minT, maxT).flatMap((s) => s.labels.map(([n]) => n)),
      );
      for (const n of found) names.add(n);
    }
    if (this.src.head) for (const n of await this.src.head.labelNames(matchers, minT, maxT)) names.add(n);
    return sortedUtf8(names);
  }

  async labelValues(name: string, matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<string[]> {
    const values = new Set<string>();
    const compiled = matchers.map(compileMatcher);
    for (const block of this.overlapping(minT, maxT)) {
      const found = await this.guarded(block, [] as string[], () =>
        matchers.length === 0
          ? block.labelValues(name)
          : block.series(compiled, minT, maxT).flatMap((s) => s.labels.filter(([n]) => n === name).map(([, v]) => v)),
      );
      for (const v of found) values.add(v);
    }
    if (this.src.head) for (const v of await this.src.head.labelValues(name, matchers, minT, maxT)) values.add(v);
    return sortedUtf8(values);
  }
}

function sortedUtf8(set: Set<string>): string[] {
  return [...set].sort(compareStrings);
}

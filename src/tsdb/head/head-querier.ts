// Reads a head through the storage Querier interface (storage.ts). Series are found through
// the inverted index (Head.postingsForMatchers), never by scanning; samples are decoded from
// the chunks overlapping the range. Times are inclusive ms; data older than the head's last
// truncation is invisible (it is in a block by then).

import type { LabelMatcher, Labels, Querier, SelectedSeries } from '../storage.js';
import type { Head } from './head.js';
import { compareLabels, compareStrings } from './labels.js';
import { SampleBuffer, type MemSeries } from './series.js';

export class HeadQuerier implements Querier {
  constructor(private readonly head: Head) {}

  async select(matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<SelectedSeries[]> {
    return this.selectSync(matchers, minT, maxT);
  }

  /** select() without the promise, for callers that merge several sources synchronously. */
  selectSync(matchers: readonly LabelMatcher[], minT: number, maxT: number): SelectedSeries[] {
    minT = Math.max(minT, this.head.minValidTime);
    const out: SelectedSeries[] = [];
    if (minT > maxT) return out;
    const buf = new SampleBuffer(256);
    for (const ms of this.matching(matchers, minT, maxT)) {
      buf.length = 0;
      ms.collect(minT, maxT, buf);
      if (buf.length === 0) continue;
      const { timestamps, values } = buf.toArrays();
      out.push({ labels: this.head.labelsOf(ms), timestamps, values });
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  async labelNames(matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<string[]> {
    if (matchers.length === 0 && this.coversHead(minT, maxT)) return this.head.allLabelNames().sort(compareStrings);
    const names = new Set<string>();
    for (const ms of this.matching(matchers, minT, maxT)) for (const [name] of this.head.labelsOf(ms)) names.add(name);
    return [...names].sort(compareStrings);
  }

  async labelValues(name: string, matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<string[]> {
    if (matchers.length === 0 && this.coversHead(minT, maxT)) return this.head.allLabelValues(name).sort(compareStrings);
    const values = new Set<string>();
    for (const ms of this.matching(matchers, minT, maxT)) {
      const v = labelValue(this.head.labelsOf(ms), name);
      if (v !== undefined) values.add(v);
    }
    return [...values].sort(compareStrings);
  }

  /** Series matching the matchers whose time span overlaps [minT, maxT]. */
  private *matching(matchers: readonly LabelMatcher[], minT: number, maxT: number): Generator<MemSeries> {
    minT = Math.max(minT, this.head.minValidTime);
    for (const ref of this.head.postingsForMatchers(matchers)) {
      const ms = this.head.seriesByRef(ref);
      if (ms !== undefined && ms.minT <= maxT && ms.maxT >= minT) yield ms;
    }
  }

  private coversHead(minT: number, maxT: number): boolean {
    return minT <= Math.max(this.head.minTime, this.head.minValidTime) && maxT >= this.head.maxTime;
  }
}

function labelValue(labels: Labels, name: string): string | undefined {
  for (const [n, v] of labels) if (n === name) return v;
  return undefined;
}

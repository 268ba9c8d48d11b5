// An in-memory Querier for PromQL tests: series given as labels plus samples, selected with the
// head's matcher semantics (anchored regexes, a missing label matches as ""). Stale markers can be
// written with STALE (the Prometheus StaleNaN bit pattern is kept in the Float64Array).

import { compileMatcher } from '../../../src/tsdb/head/matchers.js';
import { writeStaleMarker } from '../../../src/tsdb/promql/selectors.js';
import type { LabelMatcher, Labels, Querier, SelectedSeries } from '../../../src/tsdb/storage.js';
import { compareLabels } from '../../../src/tsdb/head/labels.js';
import type { StepSeries } from '../../../src/tsdb/promql/values.js';

/** Marks a stale sample in `samples` (a value that is not a number). */
export const STALE = Symbol('stale');

interface MemorySeries {
  labels: Labels;
  /** timestamp → value or STALE */
  samples: Map<number, number | typeof STALE>;
}

/** `{__name__: 'up', job: 'x'}` → sorted label pairs (empty values dropped). */
export function labelsOf(obj: Record<string, string>): Labels {
  return Object.entries(obj)
    .filter(([, v]) => v !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A series over a grid of steps; null = no value at that step. */
export function stepSeries(labels: Record<string, string>, values: Array<number | null>, dropName?: boolean): StepSeries {
  return {
    labels: labelsOf(labels),
    values: Float64Array.from(values, (v) => v ?? 0),
    present: Uint8Array.from(values, (v) => (v === null ? 0 : 1)),
    ...(dropName === undefined ? {} : { dropName }),
  };
}

export class MemoryQuerier implements Querier {
  private readonly series: MemorySeries[] = [];

  /** Adds (or extends) a series; samples are [timestampMs, value | STALE] in any order. */
  add(labels: Record<string, string> | Labels, samples: ReadonlyArray<readonly [number, number | typeof STALE]>): this {
    const ls = Array.isArray(labels) ? (labels as Labels) : labelsOf(labels as Record<string, string>);
    let series = this.series.find((s) => compareLabels(s.labels, ls) === 0);
    if (!series) {
      series = { labels: ls, samples: new Map() };
      this.series.push(series);
      this.series.sort((a, b) => compareLabels(a.labels, b.labels));
    }
    for (const [t, v] of samples) series.samples.set(t, v);
    return this;
  }

  clear(): void {
    this.series.length = 0;
  }

  private matching(matchers: readonly LabelMatcher[]): MemorySeries[] {
    const compiled = matchers.map(compileMatcher);
    return this.series.filter((s) =>
      compiled.every((m) => {
        const v = s.labels.find(([n]) => n === m.name)?.[1] ?? '';
        return m.matches(v);
      }),
    );
  }

  async select(matchers: readonly LabelMatcher[], minT: number, maxT: number): Promise<SelectedSeries[]> {
    const out: SelectedSeries[] = [];
    for (const s of this.matching(matchers)) {
      const inRange = [...s.samples].filter(([t]) => t >= minT && t <= maxT).sort((a, b) => a[0] - b[0]);
      if (inRange.length === 0) continue;
      const timestamps = Float64Array.from(inRange, ([t]) => t);
      const values = new Float64Array(inRange.length);
      inRange.forEach(([, v], i) => {
        if (v === STALE) writeStaleMarker(values, i);
        else values[i] = v;
      });
      out.push({ labels: s.labels, timestamps, values });
    }
    return out;
  }

  async labelNames(matchers: readonly LabelMatcher[]): Promise<string[]> {
    const names = new Set<string>();
    for (const s of matchers.length ? this.matching(matchers) : this.series) for (const [n] of s.labels) names.add(n);
    return [...names].sort();
  }

  async labelValues(name: string, matchers: readonly LabelMatcher[]): Promise<string[]> {
    const values = new Set<string>();
    for (const s of matchers.length ? this.matching(matchers) : this.series) {
      const v = s.labels.find(([n]) => n === name)?.[1];
      if (v !== undefined) values.add(v);
    }
    return [...values].sort();
  }
}

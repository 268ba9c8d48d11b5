// Puts a test script's `load` data into real Kiln storage (TsdbStorage over a temp dir), so the
// conformance run also exercises the head's append and select paths the engine reads through.
//
// `clear` switches to a fresh tenant rather than reopening storage: every tenant is an
// independent TSDB, and that costs nothing. Native-histogram samples are not stored (Kiln's TSDB
// holds floats only; a series mixing floats and histograms keeps its floats); where they would
// have been is remembered so the runner can tell which evals read them.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TsdbStorage } from '../../../../src/tsdb/db.js';
import type { Labels, Querier, SeriesSamples } from '../../../../src/tsdb/storage.js';
import type { LoadCommand, SeriesLine } from './script.js';

/** Loads may go back in time (several `load` commands per series), so the window covers any script. */
const OUT_OF_ORDER_WINDOW_MS = 100 * 365 * 24 * 3_600_000;

const HISTOGRAM_SUFFIXES = ['_bucket', '_count', '_sum'] as const;

/** A series' native-histogram samples that were left out, by timestamp (ms). */
export interface OmittedHistograms {
  labels: Labels;
  timestamps: number[];
}

export class ScriptStorage {
  private generation = 0;
  /** Native-histogram samples left out (literals and `load_with_nhcb` conversions) since the last clear. */
  histogramSeries: OmittedHistograms[] = [];

  private constructor(
    private readonly dir: string,
    private readonly storage: TsdbStorage,
  ) {}

  static async open(): Promise<ScriptStorage> {
    const dir = await mkdtemp(path.join(tmpdir(), 'kiln-promqltest-'));
    const logger = { info: (): void => {}, warn: (o: object, m: string): void => console.warn(m, o) };
    return new ScriptStorage(dir, await TsdbStorage.open({ dir, compactionIntervalMs: 0, logger }));
  }

  private get tenant(): string {
    return `script-${this.generation}`;
  }

  /** `clear`: later loads and queries see an empty database. */
  clear(): void {
    this.generation++;
    this.histogramSeries = [];
  }

  querier(): Querier {
    return this.storage.querier(this.tenant);
  }

  async load(cmd: LoadCommand): Promise<void> {
    const batch: SeriesSamples[] = [];
    // A series defined twice in one load keeps its last definition (Prometheus keys them by labels).
    const defs = new Map<string, SeriesLine>();
    for (const s of cmd.series) defs.set(JSON.stringify(s.labels), s);
    for (const s of defs.values()) {
      if (s.histogram) this.histogramSeries.push({ labels: s.labels, timestamps: s.histogramSlots.map((i) => i * cmd.intervalMs) });
      const ts: number[] = [];
      const idx: number[] = [];
      for (let i = 0; i < s.values.length; i++) {
        if (s.present[i] === 1) {
          ts.push(i * cmd.intervalMs);
          idx.push(i);
        }
      }
      // Copy through a Float64Array (not number[]) so stale markers keep their exact bits.
      const values = new Float64Array(idx.length);
      idx.forEach((from, to) => values.set(s.values.subarray(from, from + 1), to));
      if (ts.length > 0) batch.push({ labels: s.labels, timestamps: Float64Array.from(ts), values });
    }
    if (cmd.withNhcb) this.histogramSeries.push(...customBucketHistogramSeries(cmd));
    if (batch.length === 0) return;
    const out = await this.storage.append(this.tenant, batch, { outOfOrderWindowMs: OUT_OF_ORDER_WINDOW_MS, maxSeriesPerUser: 0 });
    if (out.rejected.length > 0) {
      const r = out.rejected[0]!;
      const labels = batch[r.series]!.labels.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(',');
      throw new Error(`load at line ${cmd.line}: storage rejected ${out.rejected.length} sample(s), first {${labels}} t=${r.timestampMs}: ${r.reason}`);
    }
  }

  async close(): Promise<void> {
    await this.storage.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * The series `load_with_nhcb` adds in Prometheus: each classic histogram (`x_bucket` with `le`,
 * `x_count`, `x_sum`) also becomes a custom-bucket native histogram named `x` (without `le`).
 */
export function customBucketHistogramSeries(cmd: LoadCommand): OmittedHistograms[] {
  const out = new Map<string, OmittedHistograms>();
  for (const s of cmd.series) {
    const name = s.labels.find(([n]) => n === '__name__')?.[1];
    const suffix = HISTOGRAM_SUFFIXES.find((x) => name?.endsWith(x));
    if (name === undefined || suffix === undefined) continue;
    if (suffix === '_bucket' && !s.labels.some(([n]) => n === 'le')) continue;
    const base = s.labels.filter(([n]) => n !== 'le').map(([n, v]): readonly [string, string] => (n === '__name__' ? [n, name.slice(0, -suffix.length)] : [n, v]));
    const key = JSON.stringify(base);
    const entry = out.get(key) ?? { labels: base, timestamps: [] };
    for (let i = 0; i < s.values.length; i++) if (s.present[i] === 1) entry.timestamps.push(i * cmd.intervalMs);
    out.set(key, entry);
  }
  for (const e of out.values()) e.timestamps = [...new Set(e.timestamps)].sort((a, b) => a - b);
  return [...out.values()];
}

// Merges the same dataset (tenant, service_name) of several source blocks into
// one output dataset, streaming:
//
//   1. Series: the union of the sources' series, in label order. Each source
//      gets a table from its series index to the output's; label order is
//      kept, so a source's rows stay sorted after the translation.
//   2. Rows: a k-way merge (binary heap over the sources' cursors) ordered by
//      (output series, time, source position). Each cursor holds one row
//      group of its source; the next is read when it is used up. A row equal
//      in (series, time) to the previous output row is a duplicate (a retried
//      segment upload stores a profile twice) and is dropped, so the first
//      one, from the source with the smallest block id, is kept.
//   3. Samples: stack trace ids are rewritten into the output symbols
//      (symbol-remap.ts), put back in ascending order and encoded as blobs
//      into a reused row-group buffer, which goes to the writer every
//      ROW_GROUP_SIZE rows.
//
// Rows held at once: one row group per source plus one output row group.

import { compareLabels } from '../block/labels.js';
import type { Labels, ProfileRow } from '../block/model.js';
import { allocRowGroup, canonicalSamples, ROW_GROUP_SIZE } from '../block/profiles.js';
import type { BlockReader, DatasetInfo } from '../block/reader.js';
import { BlobWriter } from '../block/samples.js';
import type { StreamingBlockWriter } from '../block/stream-writer.js';
import type { JobObserver, ObservedRow, StackResolver } from './observer.js';
import { SourceSymbolMap, SymbolTableBuilder } from './symbol-remap.js';

/** One source's copy of the dataset. */
export interface MergeSource {
  reader: BlockReader;
  dataset: DatasetInfo;
}

/** Counters of a compaction, summed over its datasets. */
export interface MergeStats {
  /** Rows read from the sources. */
  sourceRows: number;
  /** Rows written (source rows minus duplicates). */
  outputRows: number;
  /** Rows dropped as exact duplicates (same series labels and time). */
  duplicateRows: number;
  /** Source rows loaded right now (one row group per source at most). */
  rowsHeld: number;
  /** The most source rows loaded at once: bounded by sources × ROW_GROUP_SIZE. */
  maxRowsHeld: number;
}

export function emptyStats(): MergeStats {
  return { sourceRows: 0, outputRows: 0, duplicateRows: 0, rowsHeld: 0, maxRowsHeld: 0 };
}

const seriesKey = (labels: Labels): string => labels.map(([n, v]) => `${n}\u0000${v}`).join('\u0001');

/** Output series (sorted union) and, per source, source series index → output index. */
function unionSeries(perSource: Labels[][]): { series: Labels[]; maps: Uint32Array[] } {
  const byKey = new Map<string, Labels>();
  for (const list of perSource) for (const labels of list) byKey.set(seriesKey(labels), labels);
  const series = [...byKey.values()].sort(compareLabels);
  const index = new Map<string, number>();
  series.forEach((labels, i) => index.set(seriesKey(labels), i));
  const maps = perSource.map((list) => Uint32Array.from(list, (labels) => index.get(seriesKey(labels))!));
  return { series, maps };
}

/** Row stream of one source, one row group loaded at a time. */
class Cursor {
  rows: ProfileRow[] = [];
  pos = 0;
  private readonly groups: AsyncGenerator<ProfileRow[]>;

  constructor(
    source: MergeSource,
    readonly seriesMap: Uint32Array,
    readonly symbols: SourceSymbolMap,
    private readonly stats: MergeStats,
  ) {
    this.groups = source.reader.rowGroups(source.dataset);
  }

  /** Loads the next non-empty row group; false at the end. The previous group is released. */
  async next(): Promise<boolean> {
    this.stats.rowsHeld -= this.rows.length;
    this.rows = [];
    this.pos = 0;
    for (;;) {
      const r = await this.groups.next();
      if (r.done === true) return false;
      if (r.value.length === 0) continue;
      this.rows = r.value;
      this.stats.rowsHeld += r.value.length;
      this.stats.sourceRows += r.value.length;
      if (this.stats.rowsHeld > this.stats.maxRowsHeld) this.stats.maxRowsHeld = this.stats.rowsHeld;
      return true;
    }
  }

  async close(): Promise<void> {
    this.stats.rowsHeld -= this.rows.length;
    this.rows = [];
    await this.groups.return(undefined);
  }
}

/** Sorted ids and summed values of one row after the id rewrite; reused across rows. */
class SampleScratch {
  ids = new Uint32Array(1024);
  values = new Float64Array(1024);
  private keys = new Float64Array(1024);
  private sortedIds = new Uint32Array(1024);
  private sortedValues = new Float64Array(1024);

  ensure(n: number): void {
    if (this.ids.length >= n) return;
    const size = Math.max(n, this.ids.length * 2);
    this.ids = new Uint32Array(size);
    this.values = new Float64Array(size);
    this.keys = new Float64Array(size);
    this.sortedIds = new Uint32Array(size);
    this.sortedValues = new Float64Array(size);
  }

  /**
   * Puts ids[0..n) / values[0..n) in ascending id order, equal ids summed
   * (canonical samples). Returns views valid until the next call.
   */
  canonical(n: number): [Uint32Array, Float64Array] {
    const ids = this.ids;
    let i = 1;
    while (i < n && ids[i - 1]! < ids[i]!) i++;
    if (i >= n) return [ids.subarray(0, n), this.values.subarray(0, n)];
    // Rewritten ids come in first-use order, so most rows need a sort. Pack
    // (id, position) into one double and use the native numeric sort: no
    // comparator calls. id < 2^32 and position < 2^21 fit in 53 bits.
    if (n >= 2 ** 21) return canonicalSamples(ids.slice(0, n), this.values.slice(0, n));
    const keys = this.keys.subarray(0, n);
    for (let k = 0; k < n; k++) keys[k] = ids[k]! * 2097152 + k;
    keys.sort();
    const outIds = this.sortedIds;
    const outValues = this.sortedValues;
    let m = 0;
    for (let k = 0; k < n; k++) {
      const key = keys[k]!;
      const id = Math.floor(key / 2097152);
      const v = this.values[key - id * 2097152]!;
      if (m > 0 && outIds[m - 1] === id) outValues[m - 1]! += v;
      else {
        outIds[m] = id;
        outValues[m++] = v;
      }
    }
    return [outIds.subarray(0, m), outValues.subarray(0, m)];
  }
}

/** The row shown to the observer: one object, refilled for every row. */
class RowView implements ObservedRow {
  labels: Labels = [];
  timeNanos = 0n;
  totalValue = 0;
  stacktraceIds: Uint32Array = new Uint32Array(0);
  values: Float64Array = new Float64Array(0);
  constructor(
    readonly tenant: string,
    readonly dataset: string,
    readonly symbols: StackResolver,
  ) {}
}

function resolver(builder: SymbolTableBuilder): StackResolver {
  return {
    functionNames: (id) => builder.functionNameIds(id).map((i) => builder.stringAt(i)),
    functionNameIds: (id) => builder.functionNameIds(id),
    string: (i) => builder.stringAt(i),
  };
}

export interface MergeDatasetOptions {
  tenant: string;
  name: string;
  /** The dataset in each source that has it, in source order (block id ascending). */
  sources: readonly MergeSource[];
  writer: StreamingBlockWriter;
  /** Set when the tenant is observed; beginDataset is called here. */
  observer?: JobObserver;
  stats: MergeStats;
  signal?: AbortSignal;
}

/** Merges one dataset of the sources into the writer (beginDataset … endDataset). */
export async function mergeDataset(opts: MergeDatasetOptions): Promise<void> {
  const { tenant, name, sources, writer, stats, signal } = opts;
  const [seriesLists, symbolLists] = await Promise.all([
    Promise.all(sources.map((s) => s.reader.readSeries(s.dataset))),
    Promise.all(sources.map((s) => s.reader.readSymbols(s.dataset))),
  ]);
  const { series, maps } = unionSeries(seriesLists);
  const builder = new SymbolTableBuilder();
  writer.beginDataset(tenant, name, series);

  const observer = opts.observer !== undefined && opts.observer.beginDataset(name) ? opts.observer : undefined;
  const view = new RowView(tenant, name, resolver(builder));
  let observeSeries = false;

  const k = sources.length;
  const cursors = sources.map((s, i) => new Cursor(s, maps[i]!, new SourceSymbolMap(symbolLists[i]!, builder), stats));
  // Heap of cursor positions; the current row's key of each cursor is cached in typed arrays.
  const keySeries = new Uint32Array(k);
  const keyTime: bigint[] = new Array<bigint>(k).fill(0n);
  const heap = new Int32Array(k);
  let size = 0;
  const less = (a: number, b: number): boolean =>
    keySeries[a]! < keySeries[b]! || (keySeries[a] === keySeries[b] && (keyTime[a]! < keyTime[b]! || (keyTime[a] === keyTime[b] && a < b)));
  const siftDown = (at: number): void => {
    const c = heap[at]!;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && less(heap[child + 1]!, heap[child]!)) child++;
      if (!less(heap[child]!, c)) break;
      heap[at] = heap[child]!;
      at = child;
    }
    heap[at] = c;
  };
  const setKey = (c: number): void => {
    const row = cursors[c]!.rows[cursors[c]!.pos]!;
    keySeries[c] = cursors[c]!.seriesMap[row.seriesIndex]!;
    keyTime[c] = row.timeNanos;
  };

  const out = allocRowGroup(ROW_GROUP_SIZE);
  const outProfileIds = new Uint8Array(16 * ROW_GROUP_SIZE);
  for (let i = 0; i < ROW_GROUP_SIZE; i++) out.profileIds[i] = outProfileIds.subarray(16 * i, 16 * i + 16);
  let n = 0;
  const blobs = BlobWriter.take();
  const scratch = new SampleScratch();
  let lastSeries = -1;
  let lastTime = 0n;

  try {
    for (let c = 0; c < k; c++) {
      if (await cursors[c]!.next()) {
        setKey(c);
        heap[size++] = c;
      }
    }
    for (let i = (size >> 1) - 1; i >= 0; i--) siftDown(i);

    while (size > 0) {
      const c = heap[0]!;
      const cursor = cursors[c]!;
      const row = cursor.rows[cursor.pos]!;
      const s = keySeries[c]!;
      const t = keyTime[c]!;

      if (s === lastSeries && t === lastTime) {
        stats.duplicateRows++;
      } else {
        const seriesChanged = s !== lastSeries;
        lastSeries = s;
        lastTime = t;
        // Rewrite the stack trace ids into the output symbols.
        const m = row.stacktraceIds.length;
        scratch.ensure(m);
        const srcIds = row.stacktraceIds;
        for (let j = 0; j < m; j++) scratch.ids[j] = cursor.symbols.stacktrace(srcIds[j]!);
        scratch.values.set(row.values);
        const [ids, values] = scratch.canonical(m);

        out.series[n] = s;
        outProfileIds.set(row.profileId, 16 * n);
        out.time[n] = t;
        out.duration[n] = row.durationNanos;
        out.period[n] = row.period;
        out.total[n] = row.totalValue;
        out.stacktraceIds[n] = blobs.ids(ids);
        out.stacktraceValues[n] = blobs.values(values);
        n++;
        stats.outputRows++;

        if (observer !== undefined) {
          if (seriesChanged) observeSeries = observer.beginSeries(series[s]!);
          if (observeSeries) {
            view.labels = series[s]!;
            view.timeNanos = t;
            view.totalValue = row.totalValue;
            view.stacktraceIds = ids;
            view.values = values;
            observer.row(view);
          }
        }
        if (n === ROW_GROUP_SIZE) {
          signal?.throwIfAborted();
          await writer.writeRowGroup(out, n);
          blobs.rewind();
          n = 0;
        }
      }

      // Advance the cursor: the next row of its group, its next group, or out of the heap.
      cursor.pos++;
      let more = cursor.pos < cursor.rows.length;
      if (!more) {
        signal?.throwIfAborted();
        more = await cursor.next();
      }
      if (more) setKey(c);
      else heap[0] = heap[--size]!;
      if (size > 0) siftDown(0);
    }
    if (n > 0) {
      signal?.throwIfAborted();
      await writer.writeRowGroup(out, n);
    }
  } finally {
    await Promise.all(cursors.map((c) => c.close()));
  }
  blobs.release();
  await writer.endDataset(builder.symbols());
}

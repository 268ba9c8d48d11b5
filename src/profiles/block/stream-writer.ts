// Writes a block object front to back, one profiles row group at a time, for
// producers whose rows do not fit in memory (compaction). The layout is the
// one encodeBlock writes (docs/block-format.md) and the bytes are the same for
// the same content: both share the row-group encoder (profiles.ts), the
// section encoders (sections.ts) and the footer assembly (writer.ts).
//
// Only one row group of encoded rows is buffered at a time; each is handed to
// the sink as soon as the Parquet writer has produced it. The caller keeps the
// series list and the symbols of the open dataset (both bounded by distinct
// series and symbols, not by rows).

import type { BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import { ByteWriter } from 'hyparquet-writer';
import { crc32c } from './crc32c.js';
import { encodeFooter } from './footer.js';
import { compareLabels, compareStrings } from './labels.js';
import type { Labels, Symbols } from './model.js';
import { profilesParquetWriter, writeRowGroup, type ProfilesLayout, type RowGroupColumns } from './profiles.js';
import { encodeSeriesIndex, encodeSymbols, symbolsProblem } from './sections.js';
import { INT64_MAX, INT64_MIN } from './rows.js';
import { assembleBlockMeta, checkHeader, floorMs, profileTypesOf, type BlockHeader, type DatasetSummary } from './writer.js';

/** Receives the object's bytes in order. The writer awaits each call before it reuses `bytes`. */
export type ByteSink = (bytes: Uint8Array) => Promise<void>;

interface OpenDataset {
  tenant: string;
  name: string;
  series: readonly Labels[];
  buffer: ByteWriter;
  parquet: ReturnType<typeof profilesParquetWriter>;
  groups: ProfilesLayout['rowGroups'];
  rows: number;
  minTime: bigint;
  maxTime: bigint;
  /** Last (series, time) written, to check the order across row groups. */
  lastSeries: number;
  lastTime: bigint;
}

function fail(msg: string): never {
  throw new Error(`StreamingBlockWriter: ${msg}`);
}

export class StreamingBlockWriter {
  private readonly summaries: DatasetSummary[] = [];
  private open: OpenDataset | undefined;
  private last: { tenant: string; name: string } | undefined;
  private finished = false;
  /** Bytes handed to the sink so far. */
  private written = 0;

  constructor(
    private readonly header: BlockHeader,
    private readonly sink: ByteSink,
  ) {
    checkHeader(header);
  }

  /**
   * Starts a dataset. Datasets must come in (tenant, name) order, and
   * `series` must be sorted by compareLabels with no duplicates (names
   * sorted within each set); rows refer to it by position.
   */
  beginDataset(tenant: string, name: string, series: readonly Labels[]): void {
    if (this.finished) fail('already finished');
    if (this.open !== undefined) fail('the previous dataset is still open');
    if (tenant === '' || name === '') fail('tenant and name must be non-empty');
    const blockTenant = this.header.tenant ?? '';
    if (blockTenant !== '' && tenant !== blockTenant) fail(`tenant ${JSON.stringify(tenant)} in a block of tenant ${JSON.stringify(blockTenant)}`);
    if (this.last !== undefined) {
      const c = compareStrings(this.last.tenant, tenant) || compareStrings(this.last.name, name);
      if (c >= 0) fail(`dataset ${tenant}/${name} is not after ${this.last.tenant}/${this.last.name}`);
    }
    for (let i = 1; i < series.length; i++) {
      if (compareLabels(series[i - 1]!, series[i]!) >= 0) fail(`series ${i} of ${tenant}/${name} is not after series ${i - 1}`);
    }
    const buffer = new ByteWriter();
    this.open = {
      tenant,
      name,
      series,
      buffer,
      parquet: profilesParquetWriter(buffer),
      groups: [],
      rows: 0,
      minTime: INT64_MAX,
      maxTime: INT64_MIN,
      lastSeries: 0,
      lastTime: INT64_MIN,
    };
    this.last = { tenant, name };
  }

  /**
   * Appends the first `n` rows of `cols` (1 ≤ n ≤ ROW_GROUP_SIZE) as one row
   * group. Rows must continue the (series, time) order; their samples must be
   * canonical blobs (samples.ts) whose ids the dataset's symbols will hold.
   */
  async writeRowGroup(cols: RowGroupColumns, n: number): Promise<void> {
    const ds = this.open ?? fail('no open dataset');
    if (!(n >= 1 && n <= cols.series.length)) fail(`row group of ${n} rows`);
    let { lastSeries, lastTime, minTime, maxTime } = ds;
    for (let i = 0; i < n; i++) {
      const s = cols.series[i]!;
      const t = cols.time[i]!;
      if (s >= ds.series.length) fail(`series index ${s} out of range (${ds.series.length} series)`);
      if (s < lastSeries || (s === lastSeries && t < lastTime)) fail(`rows are not in (series, time) order at row ${ds.rows + i}`);
      lastSeries = s;
      lastTime = t;
      if (t < minTime) minTime = t;
      if (t > maxTime) maxTime = t;
    }
    Object.assign(ds, { lastSeries, lastTime, minTime, maxTime });
    const offset = ds.buffer.offset;
    await writeRowGroup(ds.parquet, cols, n);
    const chunk = ds.buffer.getBytes();
    const size = ds.buffer.offset - offset;
    // The first chunk also holds the leading PAR1.
    ds.groups.push({ offset, size, rows: n, crc32c: crc32c(chunk.subarray(chunk.length - size)) });
    ds.rows += n;
    await this.emit(chunk);
    ds.buffer.index = 0;
  }

  /** Closes the open dataset with its symbols. A dataset without rows is left out, as encodeBlock does. */
  async endDataset(symbols: Symbols): Promise<void> {
    const ds = this.open ?? fail('no open dataset');
    this.open = undefined;
    if (ds.rows === 0) return;
    const problem = symbolsProblem(symbols, true);
    if (problem !== undefined) fail(`inconsistent symbols for ${ds.tenant}/${ds.name}: ${problem}`);
    const footerOffset = ds.buffer.offset;
    await ds.parquet.finish();
    const footer = ds.buffer.getBytes();
    const layout: ProfilesLayout = {
      rowGroups: ds.groups,
      footerOffset,
      footerCrc32c: crc32c(footer),
      stacktraceCount: symbols.stacktraceEnd.length,
    };
    const profilesSize = ds.buffer.offset;
    await this.emit(footer);
    const seriesSection = encodeSeriesIndex(ds.series, layout);
    await this.emit(seriesSection);
    const symbolsSection = encodeSymbols(symbols);
    await this.emit(symbolsSection);
    this.summaries.push({
      tenant: ds.tenant,
      name: ds.name,
      profileTypes: profileTypesOf(ds.series),
      minTime: floorMs(ds.minTime),
      maxTime: floorMs(ds.maxTime),
      sectionSizes: [profilesSize, seriesSection.length, symbolsSection.length],
    });
  }

  /** Writes the footer; returns the block's metadata with its size set. */
  async finish(): Promise<BlockMeta> {
    if (this.open !== undefined) fail('a dataset is still open');
    if (this.finished) fail('already finished');
    this.finished = true;
    const meta = assembleBlockMeta(this.header, this.summaries);
    if (Number(meta.metadataOffset) !== this.written) fail(`wrote ${this.written} bytes, metadata expects ${meta.metadataOffset}`);
    await this.emit(encodeFooter(meta));
    meta.size = BigInt(this.written);
    return meta;
  }

  private async emit(bytes: Uint8Array): Promise<void> {
    this.written += bytes.length;
    await this.sink(bytes);
  }
}

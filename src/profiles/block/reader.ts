// Reads a block object through ranged reads only: the footer first (one read
// of the last 256 bytes, a second one if the metadata is larger), then only
// the sections a caller asks for (rows: series index, Parquet footer, then one
// read per row group). Everything read is validated; malformed
// data raises BlockFormatError.

import type { BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import type { Bucket } from '../../objstore/bucket.js';
import { BlockFormatError } from './errors.js';
import { decodeFooter, decodeLabelGroups, FOOTER_TRAILER_SIZE, metadataSize } from './footer.js';
import type { Labels, ProfileRow, Symbols } from './model.js';
import { openProfilesTable, readRowGroup, type ProfilesTableInfo, type RowCursor, type SectionReader } from './profiles.js';
import { decodeSeriesIndex, decodeSymbols } from './sections.js';

export { BlockFormatError } from './errors.js';
export { stacktraceFunctionNames } from './sections.js';

/** Bytes fetched from the end of the object first; most footers fit. */
export const FOOTER_PROBE_SIZE = 256;

/** A [start, end) byte range of the object. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface DatasetInfo {
  /** Position in meta.datasets. */
  index: number;
  tenant: string;
  /** service_name. */
  name: string;
  /** Milliseconds. */
  minTime: number;
  maxTime: number;
  /** Dataset label sets: {service_name, __profile_type__} per profile type. */
  labels: Labels[];
  profiles: ByteRange;
  series: ByteRange;
  symbols: ByteRange;
}

export class BlockReader {
  private readonly infos: DatasetInfo[];
  private readonly tables = new Map<number, Promise<ProfilesTableInfo>>();

  private constructor(
    private readonly bucket: Bucket,
    readonly key: string,
    readonly meta: BlockMeta,
  ) {
    this.infos = meta.datasets.map((ds, index) => {
      const toc = ds.tableOfContents.map(Number);
      const end = toc[0]! + Number(ds.size);
      return {
        index,
        tenant: meta.stringTable[ds.tenant]!,
        name: meta.stringTable[ds.name]!,
        minTime: Number(ds.minTime),
        maxTime: Number(ds.maxTime),
        labels: decodeLabelGroups(meta, ds.labels, `dataset ${index} labels`),
        profiles: { start: toc[0]!, end: toc[1]! },
        series: { start: toc[1]!, end: toc[2]! },
        symbols: { start: toc[2]!, end },
      };
    });
  }

  /**
   * Reads and checks the footer of `key`. `size` is the object size when the
   * caller knows it (BlockMeta.size from the metastore); otherwise one `head`.
   */
  static async open(bucket: Bucket, key: string, size?: number): Promise<BlockReader> {
    const objectSize = size ?? (await bucket.head(key)).size;
    if (!Number.isSafeInteger(objectSize) || objectSize < FOOTER_TRAILER_SIZE) {
      throw new BlockFormatError(`block ${key}: object of ${objectSize} bytes is too small to hold a footer`);
    }
    const probe = Math.min(FOOTER_PROBE_SIZE, objectSize);
    let tail = await readExact(bucket, key, objectSize - probe, probe);
    const need = metadataSize(tail, objectSize) + FOOTER_TRAILER_SIZE;
    if (need > tail.length) tail = await readExact(bucket, key, objectSize - need, need);
    let meta: BlockMeta;
    try {
      meta = decodeFooter(tail, objectSize);
    } catch (err) {
      if (err instanceof BlockFormatError) err.message = `block ${key}: ${err.message}`;
      throw err;
    }
    return new BlockReader(bucket, key, meta);
  }

  /** The datasets in block order (tenant, then name). */
  datasets(): DatasetInfo[] {
    return this.infos.slice();
  }

  /** The dataset of (tenant, service name), if the block has it. */
  dataset(tenant: string, name: string): DatasetInfo | undefined {
    return this.infos.find((d) => d.tenant === tenant && d.name === name);
  }

  private info(ds: DatasetInfo | number): DatasetInfo {
    const info = this.infos[typeof ds === 'number' ? ds : ds.index];
    if (info === undefined) throw new RangeError(`block ${this.key} has no dataset ${typeof ds === 'number' ? ds : ds.index}`);
    return info;
  }

  private async section(r: ByteRange): Promise<Uint8Array> {
    return readExact(this.bucket, this.key, r.start, r.end - r.start);
  }

  /** Label sets of the dataset's series; rows refer to them by position. */
  async readSeries(ds: DatasetInfo | number): Promise<Labels[]> {
    const info = this.info(ds);
    return this.withKey(async () => decodeSeriesIndex(await this.section(info.series)).series);
  }

  /** The dataset's symbols, checked for consistency. */
  async readSymbols(ds: DatasetInfo | number): Promise<Symbols> {
    const info = this.info(ds);
    return this.withKey(() => this.section(info.symbols).then(decodeSymbols));
  }

  private sectionReader(info: DatasetInfo): SectionReader {
    const { start, end } = info.profiles;
    return (offset, length) => {
      if (!(offset >= 0 && length >= 0 && offset + length <= end - start)) {
        return Promise.reject(new BlockFormatError(`profiles table read [${offset}, +${length}) outside its section of ${end - start} bytes`));
      }
      return readExact(this.bucket, this.key, start + offset, length);
    };
  }

  /**
   * Opens the profiles table: reads the series-index section (for the
   * checksummed layout and the series count) and the Parquet footer. Cached
   * per dataset; a failure is not cached, so a transient error can be retried.
   */
  profilesTable(ds: DatasetInfo | number): Promise<ProfilesTableInfo> {
    const info = this.info(ds);
    let p = this.tables.get(info.index);
    if (p === undefined) {
      p = this.withKey(async () => {
        const { series, layout } = decodeSeriesIndex(await this.section(info.series));
        return openProfilesTable(this.sectionReader(info), info.profiles.end - info.profiles.start, layout, series.length);
      });
      this.tables.set(info.index, p);
      p.catch(() => this.tables.delete(info.index));
    }
    return p;
  }

  /** The rows of the dataset one row group at a time, in (series, time) order. */
  async *rowGroups(ds: DatasetInfo | number): AsyncGenerator<ProfileRow[]> {
    const info = this.info(ds);
    const table = await this.profilesTable(info);
    const read = this.sectionReader(info);
    const cursor: RowCursor = { series: 0, time: -(2n ** 63n) };
    let rowStart = 0;
    for (let g = 0; g < table.layout.rowGroups.length; g++) {
      yield await this.withKey(() => readRowGroup(read, table, g, rowStart, cursor));
      rowStart += table.layout.rowGroups[g]!.rows;
    }
  }

  /** The rows of the dataset, streamed by row group. */
  async *rows(ds: DatasetInfo | number): AsyncGenerator<ProfileRow> {
    for await (const group of this.rowGroups(ds)) yield* group;
  }

  private async withKey<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof BlockFormatError && !err.message.startsWith('block ')) err.message = `block ${this.key}: ${err.message}`;
      throw err;
    }
  }
}

/** getRange that insists on getting every byte: a short read means a truncated object. */
async function readExact(bucket: Bucket, key: string, offset: number, length: number): Promise<Uint8Array> {
  if (length === 0) return new Uint8Array(0);
  const b = await bucket.getRange(key, offset, length);
  if (b.length !== length) {
    throw new BlockFormatError(`block ${key}: object truncated: wanted ${length} bytes at offset ${offset}, got ${b.length}`);
  }
  return b;
}

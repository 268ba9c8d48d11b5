// The profiles table of a dataset: one Parquet file (hyparquet-writer), one
// row per profile of one series, sorted by (series_index, time_nanos,
// profile_id). Row groups are capped so readers stream a group at a time.

import { parquetMetadata, parquetRead, type AsyncBuffer, type FileMetaData, type SchemaElement } from 'hyparquet';
import { ByteWriter, ParquetWriter, type ColumnSource } from 'hyparquet-writer';
import { crc32c } from './crc32c.js';
import { BlockFormatError } from './errors.js';
import { type ProfileRow, type RowColumns, allocRowColumns } from './model.js';
import { BlobWriter, countIds, countValues, decodeIds, decodeValues } from './samples.js';

/** Rows per row group (Pyroscope caps compacted row groups at 10,240). */
export const ROW_GROUP_SIZE = 10_240;

/**
 * Byte ranges and CRC-32C of the row groups and of the Parquet footer, kept in
 * the series-index section. The Parquet decoder can loop or allocate without
 * bound on corrupt pages, so the reader checks every range before decoding.
 * Offsets are relative to the start of the profiles section.
 */
export interface ProfilesLayout {
  rowGroups: { offset: number; size: number; rows: number; crc32c: number }[];
  footerOffset: number;
  footerCrc32c: number;
  stacktraceCount: number;
}

const REQ = 'REQUIRED' as const;

export const PROFILES_SCHEMA: SchemaElement[] = [
  { name: 'schema', num_children: 8 },
  { name: 'series_index', type: 'INT32', converted_type: 'UINT_32', repetition_type: REQ },
  { name: 'profile_id', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, logical_type: { type: 'UUID' }, repetition_type: REQ },
  { name: 'time_nanos', type: 'INT64', repetition_type: REQ },
  { name: 'duration_nanos', type: 'INT64', repetition_type: REQ },
  { name: 'period', type: 'INT64', repetition_type: REQ },
  { name: 'total_value', type: 'DOUBLE', repetition_type: REQ },
  // One blob per row (samples.ts): a LIST column goes through hyparquet's
  // per-element Dremel path on both sides.
  { name: 'stacktrace_ids', type: 'BYTE_ARRAY', repetition_type: REQ },
  { name: 'stacktrace_values', type: 'BYTE_ARRAY', repetition_type: REQ },
];

export const PROFILE_COLUMNS = [
  'series_index',
  'profile_id',
  'time_nanos',
  'duration_nanos',
  'period',
  'total_value',
  'stacktrace_ids',
  'stacktrace_values',
] as const;

/**
 * A row's samples as sorted id/value lists, equal ids summed: the canonical
 * form, so sample order in the input never changes the bytes. Input that is
 * already canonical (the segment head's rows are) is returned as is, after
 * one pass.
 */
export function canonicalSamples(ids: Uint32Array, values: Float64Array): [Uint32Array, Float64Array] {
  const n = ids.length;
  let i = 1;
  while (i < n && ids[i - 1]! < ids[i]!) i++;
  if (i >= n) return [ids, values];
  // Stable on ties, so equal ids are summed in input order.
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  order.sort((a, b) => ids[a]! - ids[b]! || a - b);
  const outIds = new Uint32Array(n);
  const outValues = new Float64Array(n);
  let m = 0;
  for (let k = 0; k < n; k++) {
    const j = order[k]!;
    const id = ids[j]!;
    if (m > 0 && outIds[m - 1] === id) outValues[m - 1]! += values[j]!;
    else {
      outIds[m] = id;
      outValues[m++] = values[j]!;
    }
  }
  return [outIds.subarray(0, m), outValues.subarray(0, m)];
}

/** The columns of one row group, as the Parquet writer takes them. Blobs are samples.ts encodings. */
export interface RowGroupColumns {
  series: Uint32Array;
  profileIds: Uint8Array[];
  time: BigInt64Array;
  duration: BigInt64Array;
  period: BigInt64Array;
  total: Float64Array;
  stacktraceIds: Uint8Array[];
  stacktraceValues: Uint8Array[];
}

/** Empty columns with room for `n` rows. */
export function allocRowGroup(n: number): RowGroupColumns {
  return {
    series: new Uint32Array(n),
    profileIds: new Array<Uint8Array>(n),
    time: new BigInt64Array(n),
    duration: new BigInt64Array(n),
    period: new BigInt64Array(n),
    total: new Float64Array(n),
    stacktraceIds: new Array<Uint8Array>(n),
    stacktraceValues: new Array<Uint8Array>(n),
  };
}

/** A Parquet writer for the profiles table, over any hyparquet-writer Writer. */
export function profilesParquetWriter(writer: ByteWriter): ParquetWriter {
  return new ParquetWriter({
    writer,
    schema: PROFILES_SCHEMA,
    codec: 'SNAPPY',
    // A constant: the writer's version string would make bytes depend on the dependency version.
    createdBy: 'kiln block v1',
  });
}

/**
 * Writes the first `n` rows of `cols` as one row group. The one place that
 * decides the column encodings, shared by encodeBlock and the streaming
 * writer, so both give the same bytes for the same rows.
 */
export async function writeRowGroup(pw: ParquetWriter, cols: RowGroupColumns, n: number): Promise<void> {
  const full = cols.series.length === n;
  const typed = <T extends Uint32Array | BigInt64Array | Float64Array>(a: T): T => (full ? a : (a.subarray(0, n) as T));
  const list = (a: Uint8Array[]): Uint8Array[] => (a.length === n ? a : a.slice(0, n));
  const columnData: ColumnSource[] = [
    { name: 'series_index', data: typed(cols.series) },
    // Random UUIDs: a dictionary never pays off and min/max prune nothing.
    { name: 'profile_id', data: list(cols.profileIds), encoding: 'PLAIN', statistics: false },
    { name: 'time_nanos', data: typed(cols.time), encoding: 'DELTA_BINARY_PACKED' },
    { name: 'duration_nanos', data: typed(cols.duration) },
    { name: 'period', data: typed(cols.period) },
    { name: 'total_value', data: typed(cols.total) },
    // PLAIN and no statistics: a dictionary or min/max over whole blobs costs time and says nothing.
    { name: 'stacktrace_ids', data: list(cols.stacktraceIds), encoding: 'PLAIN', statistics: false },
    { name: 'stacktrace_values', data: list(cols.stacktraceValues), encoding: 'PLAIN', statistics: false },
  ];
  await pw.write({ columnData, rowGroupSize: n });
}

/** Row groups encoded apart from their file (by another build worker), to be spliced into it by spliceRowGroups. */
export interface EncodedRowGroups {
  /** The groups' bytes, back to back, as they go into the file. */
  bytes: Uint8Array;
  /** hyparquet-writer's metadata of the groups (RowGroup) and of their pages (PageIndexes), offsets as in a file whose groups start at byte 4. */
  rowGroups: unknown[];
  indexes: unknown[];
  /** Where each group lies in `bytes`, and its rows. */
  groups: GroupPlace[];
}

/** Encodes some of a table's row groups elsewhere: given rows already in block order, with final series indexes. */
export type RowGroupOffload = (rows: RowColumns) => Promise<EncodedRowGroups>;

/** Where a row group lies in its file. */
export interface GroupPlace {
  offset: number;
  size: number;
  rows: number;
}

/**
 * Writes the rows `order[from], ..., order[to - 1]` of `rows` (series indexes
 * mapped through `seriesMap`) as row groups of ROW_GROUP_SIZE into `pw`, which
 * writes to `writer`; returns where the groups went.
 */
async function writeRowGroups(pw: ParquetWriter, writer: ByteWriter, rows: RowColumns, order: Uint32Array, seriesMap: Uint32Array, from: number, to: number): Promise<GroupPlace[]> {
  const places: GroupPlace[] = [];
  const blobs = BlobWriter.take();
  const { rowIds, rowIdStart, rowStacks, rowValues, rowStackStart } = rows;
  for (let start = from; start < to; start += ROW_GROUP_SIZE) {
    const n = Math.min(ROW_GROUP_SIZE, to - start);
    const cols = allocRowGroup(n);
    for (let i = 0; i < n; i++) {
      const r = order[start + i]!;
      cols.series[i] = seriesMap[rows.rowSeries[r]!]!;
      cols.profileIds[i] = rowIds.subarray(rowIdStart[r]!, rowIdStart[r + 1]!);
      cols.time[i] = rows.rowTime[r]!;
      cols.duration[i] = rows.rowDuration[r]!;
      cols.period[i] = rows.rowPeriod[r]!;
      cols.total[i] = rows.rowTotal[r]!;
      const a = rowStackStart[r]!;
      const b = rowStackStart[r + 1]!;
      const [si, sv] = canonicalSamples(rowStacks.subarray(a, b), rowValues.subarray(a, b));
      cols.stacktraceIds[i] = blobs.ids(si);
      cols.stacktraceValues[i] = blobs.values(sv);
    }
    const offset = writer.offset;
    // One write per row group keeps the per-row blobs of only one group alive.
    await writeRowGroup(pw, cols, n);
    blobs.rewind();
    places.push({ offset, size: writer.offset - offset, rows: n });
  }
  blobs.release();
  return places;
}

/** The rows `order[from..to)` of `rows`, copied in that order, series mapped: what an offload is given. */
function orderedRows(rows: RowColumns, order: Uint32Array, seriesMap: Uint32Array, from: number, to: number): RowColumns {
  const n = to - from;
  let samples = 0;
  let idBytes = 0;
  for (let i = from; i < to; i++) {
    const r = order[i]!;
    samples += rows.rowStackStart[r + 1]! - rows.rowStackStart[r]!;
    idBytes += rows.rowIdStart[r + 1]! - rows.rowIdStart[r]!;
  }
  const out = allocRowColumns(n, idBytes, samples);
  let at = 0;
  let idAt = 0;
  for (let i = 0; i < n; i++) {
    const r = order[from + i]!;
    out.rowSeries[i] = seriesMap[rows.rowSeries[r]!]!;
    out.rowIds.set(rows.rowIds.subarray(rows.rowIdStart[r]!, rows.rowIdStart[r + 1]!), idAt);
    idAt += rows.rowIdStart[r + 1]! - rows.rowIdStart[r]!;
    out.rowIdStart[i + 1] = idAt;
    out.rowTime[i] = rows.rowTime[r]!;
    out.rowDuration[i] = rows.rowDuration[r]!;
    out.rowPeriod[i] = rows.rowPeriod[r]!;
    out.rowTotal[i] = rows.rowTotal[r]!;
    const a = rows.rowStackStart[r]!;
    const b = rows.rowStackStart[r + 1]!;
    out.rowStacks.set(rows.rowStacks.subarray(a, b), at);
    out.rowValues.set(rows.rowValues.subarray(a, b), at);
    at += b - a;
    out.rowStackStart[i + 1] = at;
  }
  return out;
}

/** Encodes an offload's rows (in block order) as row groups, for spliceRowGroups on the thread that writes the file. */
export async function encodeRowGroupsApart(rows: RowColumns): Promise<EncodedRowGroups> {
  const writer = new ByteWriter();
  const pw = profilesParquetWriter(writer);
  const n = rows.rowSeries.length;
  const identity = new Uint32Array(Math.max(n, 1));
  for (let i = 0; i < identity.length; i++) identity[i] = i;
  let maxSeries = 0;
  for (let i = 0; i < n; i++) if (rows.rowSeries[i]! > maxSeries) maxSeries = rows.rowSeries[i]!;
  const seriesIdentity = new Uint32Array(maxSeries + 1);
  for (let i = 0; i <= maxSeries; i++) seriesIdentity[i] = i;
  const places = await writeRowGroups(pw, writer, rows, identity, seriesIdentity, 0, n);
  // The writer starts every file with "PAR1": the groups follow it.
  const bytes = writer.getBytes().slice(4);
  const internals = pw as unknown as ParquetWriterInternals;
  const groups = places.map((g) => ({ ...g, offset: g.offset - 4 }));
  return { bytes, rowGroups: internals.row_groups, indexes: internals.pendingIndexes, groups };
}

/**
 * What spliceRowGroups reaches into: hyparquet-writer 0.17 keeps a file's
 * row-group metadata and page indexes in these fields until finish() writes
 * them, with offsets counted from the start of the file.
 */
interface ParquetWriterInternals {
  row_groups: { columns: { file_offset: bigint; meta_data?: { data_page_offset: bigint; dictionary_page_offset?: bigint } }[] }[];
  pendingIndexes: { offsetIndex?: { page_locations: { offset: bigint }[] } }[];
  num_rows: bigint;
}

/**
 * Appends row groups encoded apart to the file being written, moving their
 * offsets to where they land; returns where they went.
 */
function spliceRowGroups(pw: ParquetWriter, writer: ByteWriter, part: EncodedRowGroups): GroupPlace[] {
  const internals = pw as unknown as ParquetWriterInternals;
  const at = writer.offset;
  // Offsets in `part`'s metadata count from the start of a file whose groups began at byte 4.
  const shift = BigInt(at - 4);
  const groups = part.rowGroups as ParquetWriterInternals['row_groups'];
  const indexes = part.indexes as ParquetWriterInternals['pendingIndexes'];
  // An index's chunk is one of the groups' chunks (one structured clone keeps them one object).
  for (const g of groups) {
    for (const c of g.columns) {
      c.file_offset += shift;
      if (c.meta_data) {
        c.meta_data.data_page_offset += shift;
        if (c.meta_data.dictionary_page_offset !== undefined) c.meta_data.dictionary_page_offset += shift;
      }
    }
  }
  for (const ix of indexes) for (const loc of ix.offsetIndex?.page_locations ?? []) loc.offset += shift;
  writer.appendBytes(part.bytes);
  internals.row_groups.push(...groups);
  internals.pendingIndexes.push(...indexes);
  for (const g of part.groups) internals.num_rows += BigInt(g.rows);
  return part.groups.map((g) => ({ ...g, offset: g.offset + at }));
}

/**
 * Writes the rows `order[0], order[1], ...` of `rows` with series indexes
 * mapped through `seriesMap`. Rows must already be validated. With `offload`,
 * the later row groups are encoded there while this thread encodes the first
 * ones (about half the rows, in whole groups), then spliced in: the same bytes
 * either way.
 */
export async function encodeProfilesTable(
  rows: RowColumns,
  order: Uint32Array,
  seriesMap: Uint32Array,
  stacktraceCount: number,
  offload?: RowGroupOffload,
): Promise<{ bytes: Uint8Array; layout: ProfilesLayout }> {
  const writer = new ByteWriter();
  const pw = profilesParquetWriter(writer);
  const total = order.length;
  // Whole groups here, the first half of them; the rest goes to the offload
  // (the larger half when the count is odd: this thread also copies its rows).
  const groupsTotal = Math.ceil(total / ROW_GROUP_SIZE);
  const here = offload && groupsTotal >= 2 ? Math.floor(groupsTotal / 2) * ROW_GROUP_SIZE : total;
  const elsewhere = here < total ? offload!(orderedRows(rows, order, seriesMap, here, total)) : undefined;
  // Handled below; a rejection before then must not count as unhandled.
  elsewhere?.catch(() => undefined);
  const groups = await writeRowGroups(pw, writer, rows, order, seriesMap, 0, here);
  if (elsewhere) groups.push(...spliceRowGroups(pw, writer, await elsewhere));
  const footerOffset = writer.offset;
  await pw.finish();
  const bytes = writer.getBytes().slice();
  return {
    bytes,
    layout: {
      rowGroups: groups.map((g) => ({ ...g, crc32c: crc32c(bytes.subarray(g.offset, g.offset + g.size)) })),
      footerOffset,
      footerCrc32c: crc32c(bytes.subarray(footerOffset)),
      stacktraceCount,
    },
  };
}

// ---- reading ----

/** Reads `length` bytes at `offset` of the profiles section. */
export type SectionReader = (offset: number, length: number) => Promise<Uint8Array>;

/** Row-group layout and the reference limits of an opened profiles table. */
export interface ProfilesTableInfo {
  metadata: FileMetaData;
  layout: ProfilesLayout;
  sectionSize: number;
  numRows: number;
  seriesCount: number;
}

function wrap(err: unknown, what: string): BlockFormatError {
  if (err instanceof BlockFormatError) return err;
  return new BlockFormatError(`${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

function sameElement(got: SchemaElement | undefined, want: SchemaElement): boolean {
  return (
    got !== undefined &&
    got.name === want.name &&
    got.type === want.type &&
    (got.repetition_type ?? REQ) === (want.repetition_type ?? REQ) &&
    got.converted_type === want.converted_type &&
    (got.num_children ?? 0) === (want.num_children ?? 0) &&
    (want.type_length === undefined || got.type_length === want.type_length)
  );
}

/** Checks that the layout tiles the section: PAR1, row groups back to back, then the footer. */
function checkLayout(layout: ProfilesLayout, sectionSize: number): void {
  let at = 4; // after the leading PAR1
  layout.rowGroups.forEach((g, i) => {
    if (g.offset !== at || g.size <= 0 || g.rows <= 0) {
      throw new BlockFormatError(`profiles layout: row group ${i} at ${g.offset} (+${g.size}, ${g.rows} rows) does not follow ${at}`);
    }
    at += g.size;
  });
  if (layout.footerOffset !== at || at + 12 > sectionSize) {
    throw new BlockFormatError(`profiles layout: footer at ${layout.footerOffset} does not fit a section of ${sectionSize} bytes`);
  }
}

/** Reads the Parquet footer, verifies its CRC and checks the schema and row groups against the layout. */
export async function openProfilesTable(
  read: SectionReader,
  sectionSize: number,
  layout: ProfilesLayout,
  seriesCount: number,
): Promise<ProfilesTableInfo> {
  checkLayout(layout, sectionSize);
  const footer = await read(layout.footerOffset, sectionSize - layout.footerOffset);
  if (crc32c(footer) !== layout.footerCrc32c) throw new BlockFormatError('profiles table footer CRC-32C mismatch (corrupt block)');
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(footer);
  } catch (err) {
    throw wrap(err, 'profiles table footer is invalid');
  }
  const schema = metadata.schema;
  if (schema.length !== PROFILES_SCHEMA.length) throw new BlockFormatError(`profiles table has ${schema.length} schema elements, want ${PROFILES_SCHEMA.length}`);
  for (let i = 1; i < PROFILES_SCHEMA.length; i++) {
    if (!sameElement(schema[i], PROFILES_SCHEMA[i]!)) {
      throw new BlockFormatError(`profiles table schema element ${i} (${schema[i]?.name}) differs from ${PROFILES_SCHEMA[i]!.name}`);
    }
  }
  if (metadata.row_groups.length !== layout.rowGroups.length) {
    throw new BlockFormatError(`profiles table has ${metadata.row_groups.length} row groups, layout says ${layout.rowGroups.length}`);
  }
  let numRows = 0;
  metadata.row_groups.forEach((g, i) => {
    const want = layout.rowGroups[i]!;
    if (Number(g.num_rows) !== want.rows) throw new BlockFormatError(`profiles row group ${i} has ${g.num_rows} rows, layout says ${want.rows}`);
    for (const c of g.columns) {
      const md = c.meta_data;
      const start = Number(md?.dictionary_page_offset ?? md?.data_page_offset ?? -1);
      const end = start + Number(md?.total_compressed_size ?? 0);
      if (!(start >= want.offset && end <= want.offset + want.size)) {
        throw new BlockFormatError(`profiles row group ${i}: a column chunk lies outside the row group's bytes`);
      }
    }
    numRows += want.rows;
  });
  return { metadata, layout, sectionSize, numRows, seriesCount };
}

/** Mutable position of the row stream, so order is checked across row groups. */
export interface RowCursor {
  series: number;
  time: bigint;
}

/**
 * Reads row group `group` (rows [rowStart, rowStart + n)) and returns its rows,
 * checking types, references and the (series_index, time_nanos) order.
 */
export async function readRowGroup(
  read: SectionReader,
  info: ProfilesTableInfo,
  group: number,
  rowStart: number,
  cursor: RowCursor,
): Promise<ProfileRow[]> {
  const g = info.layout.rowGroups[group]!;
  const bytes = await read(g.offset, g.size);
  if (crc32c(bytes) !== g.crc32c) throw new BlockFormatError(`profiles row group ${group} CRC-32C mismatch (corrupt block)`);
  // The decoder sees only the verified bytes of this row group.
  const file: AsyncBuffer = {
    byteLength: info.sectionSize,
    slice(from: number, to: number = info.sectionSize): ArrayBuffer {
      if (from < g.offset || to > g.offset + g.size || from > to) {
        throw new BlockFormatError(`profiles row group ${group}: read [${from}, ${to}) outside its bytes`);
      }
      return bytes.buffer.slice(bytes.byteOffset + from - g.offset, bytes.byteOffset + to - g.offset) as ArrayBuffer;
    },
  };
  const n = g.rows;
  const cols = new Map<string, unknown[]>();
  for (const c of PROFILE_COLUMNS) cols.set(c, new Array(n));
  try {
    await parquetRead({
      file,
      metadata: info.metadata,
      columns: [...PROFILE_COLUMNS],
      rowStart,
      rowEnd: rowStart + n,
      // Blobs stay bytes (the default decodes BYTE_ARRAY as UTF-8 strings).
      utf8: false,
      // Keep UUIDs as bytes (the default parser makes strings).
      parsers: { uuidFromBytes: (b: Uint8Array) => b },
      onChunk: (chunk) => {
        const dst = cols.get(chunk.columnName);
        if (dst === undefined) return;
        const data = chunk.columnData as ArrayLike<unknown>;
        for (let i = 0; i < data.length; i++) {
          const at = chunk.rowStart + i - rowStart;
          if (at >= 0 && at < n) dst[at] = data[i];
        }
      },
    });
  } catch (err) {
    throw wrap(err, `profiles table row group ${group} is unreadable`);
  }
  const [series, ids, time, duration, period, total, stIds, stValues] = PROFILE_COLUMNS.map((c) => cols.get(c)!);
  // Pass 1: types, references, order; count the samples.
  let entries = 0;
  const counts = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const row = rowStart + i;
    const s = series![i];
    const id = ids![i];
    const t = time![i];
    const si = stIds![i];
    const sv = stValues![i];
    if (typeof s !== 'number' || !(s < info.seriesCount)) {
      throw new BlockFormatError(`profile row ${row}: series_index ${String(s)} out of range (${info.seriesCount} series)`);
    }
    if (!(id instanceof Uint8Array) || id.length !== 16) throw new BlockFormatError(`profile row ${row}: profile_id is not 16 bytes`);
    if (typeof t !== 'bigint' || typeof duration![i] !== 'bigint' || typeof period![i] !== 'bigint' || typeof total![i] !== 'number') {
      throw new BlockFormatError(`profile row ${row}: missing or mistyped scalar column`);
    }
    if (!(si instanceof Uint8Array) || !(sv instanceof Uint8Array)) throw new BlockFormatError(`profile row ${row}: mistyped sample column`);
    const m = countIds(si);
    if (m < 0) throw new BlockFormatError(`profile row ${row}: stacktrace_ids blob ends inside a varint`);
    const mv = countValues(sv);
    if (mv < 0) throw new BlockFormatError(`profile row ${row}: stacktrace_values blob is malformed`);
    if (m !== mv) throw new BlockFormatError(`profile row ${row}: stacktrace_ids and stacktrace_values differ in length (${m}, ${mv})`);
    counts[i] = m;
    if (s < cursor.series || (s === cursor.series && t < cursor.time)) {
      throw new BlockFormatError(`profile row ${row}: rows are not sorted by (series_index, time_nanos)`);
    }
    cursor.series = s;
    cursor.time = t;
    entries += m;
  }

  // Pass 2: decode the samples and copy the profile ids of the whole group
  // into three fresh buffers; each row gets views of its part. One
  // allocation per group instead of three per row, and nothing points into
  // the decoded pages (which would keep them alive).
  const allIds = new Uint32Array(entries);
  const allValues = new Float64Array(entries);
  const allProfileIds = new Uint8Array(16 * n);
  const limit = info.layout.stacktraceCount;
  const out: ProfileRow[] = new Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const m = counts[i]!;
    const problem = decodeIds(stIds![i] as Uint8Array, allIds, at, limit) ?? decodeValues(stValues![i] as Uint8Array, allValues, at);
    if (problem !== undefined) throw new BlockFormatError(`profile row ${rowStart + i}: ${problem}`);
    allProfileIds.set(ids![i] as Uint8Array, 16 * i);
    out[i] = {
      seriesIndex: series![i] as number,
      profileId: allProfileIds.subarray(16 * i, 16 * i + 16),
      timeNanos: time![i] as bigint,
      durationNanos: duration![i] as bigint,
      period: period![i] as bigint,
      totalValue: total![i] as number,
      stacktraceIds: allIds.subarray(at, at + m),
      values: allValues.subarray(at, at + m),
    };
    at += m;
  }
  return out;
}

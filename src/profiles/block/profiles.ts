// The profiles table of a dataset: one Parquet file (hyparquet-writer), one
// row per profile of one series, sorted by (series_index, time_nanos,
// profile_id). Row groups are capped so readers stream a group at a time.

import { parquetMetadata, parquetRead, type AsyncBuffer, type FileMetaData, type SchemaElement } from 'hyparquet';
import { ByteWriter, ParquetWriter, type ColumnSource } from 'hyparquet-writer';
import { crc32c } from './crc32c.js';
import { BlockFormatError } from './errors.js';
import type { ProfileRow } from './model.js';

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

function listOf(name: string, leaf: Omit<SchemaElement, 'name'>): SchemaElement[] {
  // Standard 3-level LIST: required group (LIST) > repeated group list > required element.
  return [
    { name, repetition_type: REQ, converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: REQ, ...leaf },
  ];
}

export const PROFILES_SCHEMA: SchemaElement[] = [
  { name: 'schema', num_children: 8 },
  { name: 'series_index', type: 'INT32', converted_type: 'UINT_32', repetition_type: REQ },
  { name: 'profile_id', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, logical_type: { type: 'UUID' }, repetition_type: REQ },
  { name: 'time_nanos', type: 'INT64', repetition_type: REQ },
  { name: 'duration_nanos', type: 'INT64', repetition_type: REQ },
  { name: 'period', type: 'INT64', repetition_type: REQ },
  { name: 'total_value', type: 'DOUBLE', repetition_type: REQ },
  ...listOf('stacktrace_ids', { type: 'INT32', converted_type: 'UINT_32' }),
  ...listOf('stacktrace_values', { type: 'DOUBLE' }),
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
 * form, so sample order in the input never changes the bytes (and ascending
 * ids delta-encode well).
 */
export function canonicalSamples(ids: Uint32Array, values: Float64Array): [number[], number[]] {
  const n = ids.length;
  let sorted = true;
  for (let i = 1; i < n; i++) {
    if (ids[i - 1]! >= ids[i]!) {
      sorted = false;
      break;
    }
  }
  if (sorted) return [Array.from(ids), Array.from(values)];
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[a]! - ids[b]! || a - b);
  const outIds: number[] = [];
  const outValues: number[] = [];
  for (const i of order) {
    const id = ids[i]!;
    if (outIds.length > 0 && outIds[outIds.length - 1] === id) outValues[outValues.length - 1]! += values[i]!;
    else {
      outIds.push(id);
      outValues.push(values[i]!);
    }
  }
  return [outIds, outValues];
}

/**
 * Writes the rows `rows[order[0]], rows[order[1]], ...` with series indexes
 * mapped through `seriesMap`. Rows must already be validated.
 */
export async function encodeProfilesTable(
  rows: readonly ProfileRow[],
  order: Uint32Array,
  seriesMap: Uint32Array,
  stacktraceCount: number,
): Promise<{ bytes: Uint8Array; layout: ProfilesLayout }> {
  const writer = new ByteWriter();
  const pw = new ParquetWriter({
    writer,
    schema: PROFILES_SCHEMA,
    codec: 'SNAPPY',
    // A constant: the writer's version string would make bytes depend on the dependency version.
    createdBy: 'kiln block v1',
  });
  const groups: { offset: number; size: number; rows: number }[] = [];
  for (let start = 0; start < order.length; start += ROW_GROUP_SIZE) {
    const n = Math.min(ROW_GROUP_SIZE, order.length - start);
    const series = new Uint32Array(n);
    const ids: Uint8Array[] = new Array(n);
    const time = new BigInt64Array(n);
    const duration = new BigInt64Array(n);
    const period = new BigInt64Array(n);
    const total = new Float64Array(n);
    const stIds: number[][] = new Array(n);
    const stValues: number[][] = new Array(n);
    for (let i = 0; i < n; i++) {
      const r = rows[order[start + i]!]!;
      series[i] = seriesMap[r.seriesIndex]!;
      ids[i] = r.profileId;
      time[i] = r.timeNanos;
      duration[i] = r.durationNanos;
      period[i] = r.period;
      total[i] = r.totalValue;
      [stIds[i], stValues[i]] = canonicalSamples(r.stacktraceIds, r.values);
    }
    const columnData: ColumnSource[] = [
      { name: 'series_index', data: series },
      { name: 'profile_id', data: ids },
      { name: 'time_nanos', data: time, encoding: 'DELTA_BINARY_PACKED' },
      { name: 'duration_nanos', data: duration },
      { name: 'period', data: period },
      { name: 'total_value', data: total },
      { name: 'stacktrace_ids', data: stIds, encoding: 'DELTA_BINARY_PACKED' },
      { name: 'stacktrace_values', data: stValues },
    ];
    const offset = writer.offset;
    // One write per row group keeps the per-row list arrays of only one group alive.
    await pw.write({ columnData, rowGroupSize: n });
    groups.push({ offset, size: writer.offset - offset, rows: n });
  }
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
  const out: ProfileRow[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row = rowStart + i;
    const s = series![i];
    const id = ids![i];
    const t = time![i];
    const d = duration![i];
    const p = period![i];
    const tv = total![i];
    const si = stIds![i];
    const sv = stValues![i];
    if (typeof s !== 'number' || !(s < info.seriesCount)) {
      throw new BlockFormatError(`profile row ${row}: series_index ${String(s)} out of range (${info.seriesCount} series)`);
    }
    if (!(id instanceof Uint8Array) || id.length !== 16) throw new BlockFormatError(`profile row ${row}: profile_id is not 16 bytes`);
    if (typeof t !== 'bigint' || typeof d !== 'bigint' || typeof p !== 'bigint' || typeof tv !== 'number') {
      throw new BlockFormatError(`profile row ${row}: missing or mistyped scalar column`);
    }
    if (!Array.isArray(si) || !Array.isArray(sv) || si.length !== sv.length) {
      throw new BlockFormatError(`profile row ${row}: stacktrace_ids and stacktrace_values differ in length`);
    }
    if (s < cursor.series || (s === cursor.series && t < cursor.time)) {
      throw new BlockFormatError(`profile row ${row}: rows are not sorted by (series_index, time_nanos)`);
    }
    cursor.series = s;
    cursor.time = t;
    const stacktraceIds = new Uint32Array(si.length);
    const values = new Float64Array(sv.length);
    for (let k = 0; k < si.length; k++) {
      const v = si[k] as unknown;
      if (typeof v !== 'number' || !(v < info.layout.stacktraceCount)) {
        throw new BlockFormatError(`profile row ${row}: stack trace id ${String(v)} out of range (${info.layout.stacktraceCount} stack traces)`);
      }
      stacktraceIds[k] = v;
      const x = sv[k] as unknown;
      if (typeof x !== 'number') throw new BlockFormatError(`profile row ${row}: stack trace value is not a number`);
      values[k] = x;
    }
    // Copy the id: a view would keep the whole decoded page alive.
    out[i] = { seriesIndex: s, profileId: id.slice(), timeNanos: t, durationNanos: d, period: p, totalValue: tv, stacktraceIds, values };
  }
  return out;
}

// The profiles table of a dataset: one Parquet file (hyparquet-writer), one
// row per profile of one series, sorted by (series_index, time_nanos,
// profile_id). Row groups are capped so readers stream a group at a time.

import { parquetMetadataAsync, parquetRead, type AsyncBuffer, type FileMetaData, type SchemaElement } from 'hyparquet';
import { ByteWriter, ParquetWriter, type ColumnSource } from 'hyparquet-writer';
import { BlockFormatError } from './errors.js';
import type { ProfileRow } from './model.js';

/** Rows per row group (Pyroscope caps compacted row groups at 10,240). */
export const ROW_GROUP_SIZE = 10_240;
/** Key-value metadata holding counts a reader checks row references against. */
export const KV_SERIES_COUNT = 'kiln.series_count';
export const KV_STACKTRACE_COUNT = 'kiln.stacktrace_count';

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
  counts: { series: number; stacktraces: number },
): Promise<Uint8Array> {
  const writer = new ByteWriter();
  const pw = new ParquetWriter({
    writer,
    schema: PROFILES_SCHEMA,
    codec: 'SNAPPY',
    // A constant: the writer's version string would make bytes depend on the dependency version.
    createdBy: 'kiln block v1',
    kvMetadata: [
      { key: KV_SERIES_COUNT, value: String(counts.series) },
      { key: KV_STACKTRACE_COUNT, value: String(counts.stacktraces) },
    ],
  });
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
    // One write per row group keeps the per-row list arrays of only one group alive.
    await pw.write({ columnData, rowGroupSize: n });
  }
  await pw.finish();
  return writer.getBytes().slice();
}

// ---- reading ----

/** Row-group layout and the reference limits of an opened profiles table. */
export interface ProfilesTableInfo {
  metadata: FileMetaData;
  numRows: number;
  /** Row count of each row group. */
  rowGroups: number[];
  seriesCount: number;
  stacktraceCount: number;
}

function wrap(err: unknown, what: string): BlockFormatError {
  if (err instanceof BlockFormatError) return err;
  return new BlockFormatError(`${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

function kvCount(md: FileMetaData, key: string): number {
  const v = md.key_value_metadata?.find((kv) => kv.key === key)?.value;
  const n = v === undefined || !/^\d{1,10}$/.test(v) ? NaN : Number(v);
  if (!Number.isInteger(n) || n >= 0x1_0000_0000) throw new BlockFormatError(`profiles table metadata lacks a valid ${key}`);
  return n;
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

/** Reads the Parquet footer and checks the schema is exactly the one written. */
export async function openProfilesTable(file: AsyncBuffer): Promise<ProfilesTableInfo> {
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file, { initialFetchSize: 64 * 1024 });
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
  if ((schema[0]!.num_children ?? 0) !== PROFILE_COLUMNS.length) throw new BlockFormatError('profiles table root has the wrong column count');
  const rowGroups = metadata.row_groups.map((g) => Number(g.num_rows));
  let numRows = 0;
  for (const n of rowGroups) {
    if (!Number.isSafeInteger(n) || n < 0) throw new BlockFormatError(`profiles table row group has ${n} rows`);
    numRows += n;
  }
  if (BigInt(numRows) !== metadata.num_rows) throw new BlockFormatError('profiles table row groups do not add up to num_rows');
  return {
    metadata,
    numRows,
    rowGroups,
    seriesCount: kvCount(metadata, KV_SERIES_COUNT),
    stacktraceCount: kvCount(metadata, KV_STACKTRACE_COUNT),
  };
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
  file: AsyncBuffer,
  info: ProfilesTableInfo,
  group: number,
  rowStart: number,
  cursor: RowCursor,
): Promise<ProfileRow[]> {
  const n = info.rowGroups[group]!;
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
      if (typeof v !== 'number' || !(v < info.stacktraceCount)) {
        throw new BlockFormatError(`profile row ${row}: stack trace id ${String(v)} out of range (${info.stacktraceCount} stack traces)`);
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

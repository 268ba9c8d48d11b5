// Encodes datasets into one block object (layout in docs/block-format.md).
// The output depends only on the content: datasets, series and rows are put
// in a canonical order and nothing time- or random-dependent is written, so a
// retried compaction rewrites byte-identical objects.

import { create } from '@bufbuild/protobuf';
import { BlockMetaSchema, DatasetSchema, type BlockMeta, type Dataset } from '../../gen/metastore/v1/types_pb.js';
import { BLOCK_FORMAT_VERSION, encodeFooter } from './footer.js';
import { compareLabels, compareStrings, sortedLabels } from './labels.js';
import type { ColumnarDataset, DatasetContent, Labels } from './model.js';
import { type RowGroupOffload, encodeProfilesTable } from './profiles.js';
import { checkedColumns, INT64_MAX, INT64_MIN, isRowColumns, rowCount, rowOrder } from './rows.js';
import { encodeSeriesIndex, encodeSymbols, StringTable, symbolsProblem } from './sections.js';

export interface BlockHeader {
  /** ULID of the block. */
  id: string;
  shard: number;
  /** 0 for a segment (many tenants), ≥ 1 for a compacted block of one tenant. */
  compactionLevel: number;
  /** Writer instance id, stored as BlockMeta.created_by. */
  createdBy: string;
  /** The tenant of a compacted block; empty or absent for a segment. */
  tenant?: string;
}

export const PROFILE_TYPE_LABEL = '__profile_type__';
export const SERVICE_NAME_LABEL = 'service_name';

const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;
// Series indexes are written as parquet INT32 (UINT_32 annotated); stay in the signed range.
const MAX_SERIES = 0x7fff_ffff;

function fail(where: string, msg: string): never {
  throw new Error(`encodeBlock: ${where}: ${msg}`);
}

export function floorMs(ns: bigint): bigint {
  const q = ns / 1_000_000n;
  return ns < 0n && q * 1_000_000n !== ns ? q - 1n : q;
}

interface EncodedDataset {
  tenant: string;
  name: string;
  profileTypes: string[];
  minTime: bigint;
  maxTime: bigint;
  sections: [Uint8Array, Uint8Array, Uint8Array];
}

async function encodeDataset(ds: DatasetContent | ColumnarDataset, offload: RowGroupOffload | undefined): Promise<EncodedDataset> {
  const where = `dataset ${JSON.stringify(ds.tenant)}/${JSON.stringify(ds.name)}`;
  const problem = symbolsProblem(ds.symbols, true);
  if (problem !== undefined) fail(where, `inconsistent symbols: ${problem}`);
  const stacktraces = ds.symbols.stacktraceEnd.length;

  // Series in label order; seriesMap[old index] = new index.
  if (ds.series.length > MAX_SERIES) fail(where, `too many series (${ds.series.length})`);
  let series: Labels[];
  try {
    series = ds.series.map((s) => sortedLabels(s));
  } catch (err) {
    fail(where, (err as Error).message);
  }
  const perm = Array.from(series.keys()).sort((a, b) => compareLabels(series[a]!, series[b]!));
  const seriesMap = new Uint32Array(series.length);
  const sortedSeries: Labels[] = new Array(series.length);
  const types = new Set<string>();
  perm.forEach((old, idx) => {
    const set = series[old]!;
    if (idx > 0 && compareLabels(sortedSeries[idx - 1]!, set) === 0) fail(where, `duplicate series ${JSON.stringify(set)}`);
    const type = set.find(([k]) => k === PROFILE_TYPE_LABEL);
    if (type === undefined) fail(where, `series ${JSON.stringify(set)} has no ${PROFILE_TYPE_LABEL} label`);
    types.add(type[1]);
    seriesMap[old] = idx;
    sortedSeries[idx] = set;
  });

  const rows = checkedColumns(ds.rows, series.length, stacktraces);
  if (Array.isArray(rows)) fail(`${where} row ${rows[0]}`, rows[1]);
  let minTime = INT64_MAX;
  let maxTime = INT64_MIN;
  for (const t of rows.rowTime) {
    if (t < minTime) minTime = t;
    if (t > maxTime) maxTime = t;
  }
  const order = rowOrder(rows, seriesMap);

  const profiles = await encodeProfilesTable(rows, order, seriesMap, stacktraces, offload);
  return {
    tenant: ds.tenant,
    name: ds.name,
    profileTypes: [...types].sort(compareStrings),
    minTime: floorMs(minTime),
    maxTime: floorMs(maxTime),
    sections: [profiles.bytes, encodeSeriesIndex(sortedSeries, profiles.layout), encodeSymbols(ds.symbols)],
  };
}

/** Checks a block header; returns the block's tenant ("" for a segment). */
export function checkHeader(header: BlockHeader): string {
  if (typeof header.id !== 'string' || !ULID_RE.test(header.id)) fail('header', `id ${JSON.stringify(header.id)} is not a ULID`);
  if (!Number.isInteger(header.shard) || header.shard < 0 || header.shard > 0xffffffff) fail('header', `invalid shard ${header.shard}`);
  if (!Number.isInteger(header.compactionLevel) || header.compactionLevel < 0 || header.compactionLevel > 0xffffffff) {
    fail('header', `invalid compaction level ${header.compactionLevel}`);
  }
  if (typeof header.createdBy !== 'string') fail('header', 'createdBy must be a string');
  const tenant = header.tenant ?? '';
  if (header.compactionLevel === 0 && tenant !== '') fail('header', 'a level-0 segment holds many tenants; tenant must be empty');
  if (header.compactionLevel > 0 && tenant === '') fail('header', 'a compacted block needs its tenant');
  return tenant;
}

/** What the footer records of one written dataset. */
export interface DatasetSummary {
  tenant: string;
  name: string;
  /** Sorted by compareStrings. */
  profileTypes: string[];
  /** Milliseconds. */
  minTime: bigint;
  maxTime: bigint;
  /** Byte sizes of the profiles, series-index and symbols sections, in that order. */
  sectionSizes: [number, number, number];
}

/** Sorted, distinct __profile_type__ values of a dataset's series. */
export function profileTypesOf(series: readonly Labels[]): string[] {
  const types = new Set<string>();
  for (const set of series) {
    const type = set.find(([k]) => k === PROFILE_TYPE_LABEL);
    if (type !== undefined) types.add(type[1]);
  }
  return [...types].sort(compareStrings);
}

/**
 * The block's metadata for datasets written back to back from offset 0 in
 * the given order (size left 0). Shared by encodeBlock and the streaming
 * writer, so both give the same footer.
 */
export function assembleBlockMeta(header: BlockHeader, datasets: readonly DatasetSummary[]): BlockMeta {
  const tenant = checkHeader(header);
  // created_by first, as Pyroscope's segment writer puts it at index 1.
  const st = new StringTable();
  const createdBy = st.intern(header.createdBy);
  const tenantIdx = st.intern(tenant);
  const metas: Dataset[] = [];
  let offset = 0;
  let minTime = 0n;
  let maxTime = 0n;
  for (const e of datasets) {
    const toc: bigint[] = [];
    const start = offset;
    for (const size of e.sectionSizes) {
      toc.push(BigInt(offset));
      offset += size;
    }
    const dsTenant = st.intern(e.tenant);
    const name = st.intern(e.name);
    const svc = st.intern(SERVICE_NAME_LABEL);
    const pt = st.intern(PROFILE_TYPE_LABEL);
    const labels: number[] = [];
    for (const t of e.profileTypes) labels.push(2, svc, name, pt, st.intern(t));
    metas.push(
      create(DatasetSchema, {
        format: 0,
        tenant: dsTenant,
        name,
        minTime: e.minTime,
        maxTime: e.maxTime,
        tableOfContents: toc,
        size: BigInt(offset - start),
        labels,
      }),
    );
    if (metas.length === 1 || e.minTime < minTime) minTime = e.minTime;
    if (metas.length === 1 || e.maxTime > maxTime) maxTime = e.maxTime;
  }
  return create(BlockMetaSchema, {
    formatVersion: BLOCK_FORMAT_VERSION,
    id: header.id,
    tenant: tenantIdx,
    shard: header.shard,
    compactionLevel: header.compactionLevel,
    minTime,
    maxTime,
    createdBy,
    metadataOffset: BigInt(offset),
    size: 0n,
    datasets: metas,
    stringTable: st.strings,
  });
}

/**
 * Encodes a block: datasets sorted by (tenant, name), each = profiles table ‖
 * series index ‖ symbols, then the metadata footer. Datasets without rows are
 * left out. The same content always gives the same bytes, whatever the order
 * of datasets, series, rows or samples in the input.
 */
export async function encodeBlock(
  header: BlockHeader,
  datasets: readonly (DatasetContent | ColumnarDataset)[],
  /** Where a large profiles table may have some of its row groups encoded meanwhile (another build worker). */
  offload?: RowGroupOffload,
): Promise<{ bytes: Uint8Array; meta: BlockMeta }> {
  const tenant = checkHeader(header);

  for (const d of datasets) {
    if (d === null || typeof d !== 'object' || !(Array.isArray(d.rows) || isRowColumns(d.rows)) || !Array.isArray(d.series) || d.symbols === null || typeof d.symbols !== 'object') {
      fail('dataset', 'needs tenant, name, series, rows and symbols');
    }
  }
  const sorted = datasets.filter((d) => rowCount(d.rows) > 0);
  for (const d of sorted) {
    if (typeof d.tenant !== 'string' || d.tenant === '' || typeof d.name !== 'string' || d.name === '') {
      fail('dataset', `tenant and name must be non-empty strings (got ${JSON.stringify(d.tenant)}/${JSON.stringify(d.name)})`);
    }
    if (tenant !== '' && d.tenant !== tenant) fail('dataset', `tenant ${JSON.stringify(d.tenant)} in a block of tenant ${JSON.stringify(tenant)}`);
  }
  sorted.sort((a, b) => compareStrings(a.tenant, b.tenant) || compareStrings(a.name, b.name));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1]!.tenant === sorted[i]!.tenant && sorted[i - 1]!.name === sorted[i]!.name) {
      fail('dataset', `duplicate dataset ${JSON.stringify(sorted[i]!.tenant)}/${JSON.stringify(sorted[i]!.name)}`);
    }
  }

  const encoded: EncodedDataset[] = [];
  for (const d of sorted) encoded.push(await encodeDataset(d, offload));

  const meta = assembleBlockMeta(
    header,
    encoded.map((e) => ({ ...e, sectionSizes: [e.sections[0].length, e.sections[1].length, e.sections[2].length] })),
  );
  const footer = encodeFooter(meta);
  const offset = Number(meta.metadataOffset);
  const bytes = new Uint8Array(offset + footer.length);
  let at = 0;
  for (const e of encoded) {
    for (const s of e.sections) {
      bytes.set(s, at);
      at += s.length;
    }
  }
  bytes.set(footer, at);
  meta.size = BigInt(bytes.length);
  return { bytes, meta };
}

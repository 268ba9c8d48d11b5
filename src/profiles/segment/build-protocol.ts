// The messages between the build pool (main thread) and a build worker.
//
// A batch of request parts travels as one ArrayBuffer holding every profile's
// bytes and id, transferred (not copied) to the worker, plus a small
// structured-clone description of the parts. Copying each profile once into
// that buffer is what makes the transfer safe: a request body may share its
// ArrayBuffer with other data (Node's Buffer pool, a multipart body), which a
// transfer would detach.

import type { ColumnarDataset, Labels, RowColumns } from '../block/model.js';
import type { EncodedRowGroups } from '../block/profiles.js';
import type { HeadPart, SymbolSource } from './head.js';
import type { BuiltSegment, RequestOutcome, RequestPart } from './segment-builder.js';

interface WireProfile {
  /** Index into WireBatch.labelSets. */
  labels: number;
  offset: number;
  length: number;
  idOffset: number;
  idLength: number;
  defaultTimeNanos: bigint;
}

interface WirePart {
  tenant: string;
  receivedAtMs: number;
  profiles: WireProfile[];
}

export interface WireBatch {
  buffer: ArrayBuffer;
  parts: WirePart[];
  /**
   * The batch's label sets, each once: SDKs push the same few series again
   * and again, so this clones a few label sets per batch rather than one per
   * profile, and the worker's profiles of one series share one array.
   */
  labelSets: Labels[];
}

/**
 * One dataset of a partial segment (see build-pool.ts: a segment's parts are
 * spread over several workers), in columns of typed arrays so that it is
 * transferred, not cloned, on its way to the worker that merges and encodes.
 * The column types are DecodedProfile's, so the merge interns them with the
 * same code (and the same compiled code) as a decoded profile.
 */
export interface WireHead extends Omit<SymbolSource, 'sampleCount' | 'sampleLocationStart' | 'sampleLocations'>, RowColumns {
  tenant: string;
  name: string;
  series: Labels[];
  /** Locations of stack trace k: [stacktraceStart[k], stacktraceStart[k+1]). */
  stacktraceStart: Uint32Array;
  stacktraceLocations: Uint32Array;
}

export type ToWorker =
  | { type: 'open'; segment: string; shard: number }
  | { type: 'add'; segment: string; batch: WireBatch }
  /**
   * No more parts. `partial`: answer with the segment's datasets unencoded
   * ('partial'); otherwise merge `merge` (other workers' partials) into it,
   * encode it and answer 'built'.
   */
  | { type: 'close'; segment: string; partial?: boolean; merge?: WireHead[]; helper?: boolean }
  /** Forget the segment: it failed elsewhere. */
  | { type: 'abort'; segment: string }
  /** To a helper: encode these rows of another worker's segment as row groups (see RowGroupOffload). */
  | { type: 'encode-rows'; segment: string; job: number; rows: RowColumns }
  /** To the primary: the row groups of its job, or why there are none. */
  | WireRowsEncoded
  | WireRowsFailed;

/** Row groups a helper encoded for a segment's primary. */
export interface WireRowsEncoded {
  type: 'rows-encoded';
  segment: string;
  job: number;
  result: EncodedRowGroups;
}

export interface WireRowsFailed {
  type: 'rows-failed';
  segment: string;
  job: number;
  message: string;
}

/** A built segment; `rejections` lists only the rejected parts (the others were accepted). */
export interface WireBuilt {
  type: 'built';
  segment: string;
  parts: number;
  rejections: [part: number, outcome: RequestOutcome][];
  /** The block and its BlockMeta in protobuf binary form; null when nothing was accepted. */
  block: { bytes: Uint8Array; meta: Uint8Array } | null;
  acceptedProfiles: BuiltSegment['acceptedProfiles'];
  rejectedRequests: BuiltSegment['rejectedRequests'];
}

/** A partial segment: like WireBuilt, with its datasets instead of a block. */
export interface WirePartial {
  type: 'partial';
  segment: string;
  parts: number;
  rejections: [part: number, outcome: RequestOutcome][];
  heads: WireHead[];
  acceptedProfiles: BuiltSegment['acceptedProfiles'];
  rejectedRequests: BuiltSegment['rejectedRequests'];
}

export type FromWorker =
  /** The worker started; heapSizeLimit is its V8 heap limit (bytes), to check its young generation applied. */
  | { type: 'ready'; heapSizeLimit: number }
  /** A batch of `bytes` bytes (its buffer's size) has been added, or dropped with its segment: the pool's measure of a worker's queue. */
  | { type: 'progress'; bytes: number }
  | WireBuilt
  | WirePartial
  | { type: 'failed'; segment: string; message: string }
  /** From a primary: have another worker encode these rows (answered with rows-encoded or rows-failed). */
  | { type: 'offload'; segment: string; job: number; rows: RowColumns }
  | WireRowsEncoded
  | WireRowsFailed;

/** The buffers of row columns, to transfer (each column in a buffer of its own). */
export function rowBuffers(rows: RowColumns): ArrayBuffer[] {
  return Object.values(rows).map((v: ArrayBufferView) => v.buffer as ArrayBuffer);
}

/** The buffers of a WireHead, to transfer. */
export function headBuffers(h: WireHead): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const v of Object.values(h)) if (ArrayBuffer.isView(v)) out.push(v.buffer as ArrayBuffer);
  return out;
}

/** A dataset of a segment builder, in columns of their own (see WireHead). */
export function packHead(ds: ColumnarDataset): WireHead {
  const s = ds.symbols;
  const starts = (ends: ArrayLike<number>) => {
    const out = new Uint32Array(ends.length + 1);
    for (let i = 0; i < ends.length; i++) out[i + 1] = ends[i]!;
    return out;
  };
  const locationMapping = new Int32Array(s.locationMapping.length);
  for (let j = 0; j < locationMapping.length; j++) locationMapping[j] = s.locationMapping[j]! - 1;
  const r = ds.rows;
  // The head's columns are views into buffers with room to spare (and
  // transferring them would detach the head's): each is copied into its own.
  return {
    tenant: ds.tenant,
    name: ds.name,
    series: ds.series,
    strings: s.strings,
    functionName: Uint32Array.from(s.functionName),
    functionSystemName: Uint32Array.from(s.functionSystemName),
    functionFilename: Uint32Array.from(s.functionFilename),
    functionStartLine: Float64Array.from(s.functionStartLine),
    mappingMemoryStart: Float64Array.from(s.mappingMemoryStart),
    mappingMemoryLimit: Float64Array.from(s.mappingMemoryLimit),
    mappingFileOffset: Float64Array.from(s.mappingFileOffset),
    mappingFilename: Uint32Array.from(s.mappingFilename),
    mappingBuildId: Uint32Array.from(s.mappingBuildId),
    mappingFlags: Uint8Array.from(s.mappingFlags),
    locationMapping,
    locationAddress: Float64Array.from(s.locationAddress),
    locationLineStart: starts(s.locationLineEnd),
    lineFunction: Uint32Array.from(s.lineFunction),
    lineNumber: Float64Array.from(s.lineNumber),
    stacktraceStart: starts(s.stacktraceEnd),
    stacktraceLocations: new Uint32Array(s.stacktraceLocations),
    rowSeries: r.rowSeries.slice(),
    rowIdStart: r.rowIdStart.slice(),
    rowIds: r.rowIds.slice(),
    rowTime: r.rowTime.slice(),
    rowDuration: r.rowDuration.slice(),
    rowPeriod: r.rowPeriod.slice(),
    rowTotal: r.rowTotal.slice(),
    rowStackStart: r.rowStackStart.slice(),
    rowStacks: r.rowStacks.slice(),
    rowValues: r.rowValues.slice(),
  };
}

/** A WireHead as DatasetHead.merge takes it: its symbols as a decoded profile's columns, and its rows. */
export function unpackHead(h: WireHead): HeadPart {
  return {
    tenant: h.tenant,
    name: h.name,
    series: h.series,
    rows: h,
    symbols: {
      strings: h.strings,
      functionName: h.functionName,
      functionSystemName: h.functionSystemName,
      functionFilename: h.functionFilename,
      functionStartLine: h.functionStartLine,
      mappingMemoryStart: h.mappingMemoryStart,
      mappingMemoryLimit: h.mappingMemoryLimit,
      mappingFileOffset: h.mappingFileOffset,
      mappingFilename: h.mappingFilename,
      mappingBuildId: h.mappingBuildId,
      mappingFlags: h.mappingFlags,
      locationMapping: h.locationMapping,
      locationAddress: h.locationAddress,
      locationLineStart: h.locationLineStart,
      lineFunction: h.lineFunction,
      lineNumber: h.lineNumber,
      sampleCount: h.stacktraceStart.length - 1,
      sampleLocationStart: h.stacktraceStart,
      sampleLocations: h.stacktraceLocations,
    },
  };
}

/** Copies the parts' bytes into one new ArrayBuffer (to transfer) and describes them. */
export function packBatch(parts: readonly RequestPart[]): WireBatch {
  let size = 0;
  for (const part of parts) for (const p of part.profiles) size += p.bytes.length + p.profileId.length;
  const buffer = new ArrayBuffer(size);
  const out = new Uint8Array(buffer);
  const labelSets: Labels[] = [];
  const labelSetIndex = new Map<Labels, number>();
  let at = 0;
  const wire: WirePart[] = new Array<WirePart>(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const profiles: WireProfile[] = new Array<WireProfile>(part.profiles.length);
    for (let j = 0; j < part.profiles.length; j++) {
      const p = part.profiles[j]!;
      out.set(p.bytes, at);
      out.set(p.profileId, at + p.bytes.length);
      let labels = labelSetIndex.get(p.labels);
      if (labels === undefined) {
        labelSetIndex.set(p.labels, (labels = labelSets.length));
        labelSets.push(p.labels);
      }
      profiles[j] = { labels, offset: at, length: p.bytes.length, idOffset: at + p.bytes.length, idLength: p.profileId.length, defaultTimeNanos: p.defaultTimeNanos };
      at += p.bytes.length + p.profileId.length;
    }
    wire[i] = { tenant: part.tenant, receivedAtMs: part.receivedAtMs, profiles };
  }
  return { buffer, parts: wire, labelSets };
}

/** The parts of a batch, as views into its buffer. */
export function unpackBatch(batch: WireBatch): RequestPart[] {
  return batch.parts.map((part) => ({
    tenant: part.tenant,
    receivedAtMs: part.receivedAtMs,
    profiles: part.profiles.map((p) => ({
      labels: batch.labelSets[p.labels]!,
      bytes: new Uint8Array(batch.buffer, p.offset, p.length),
      profileId: new Uint8Array(batch.buffer, p.idOffset, p.idLength),
      defaultTimeNanos: p.defaultTimeNanos,
    })),
  }));
}

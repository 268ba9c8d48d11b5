// The metadata footer at the end of a block object (Pyroscope layout):
//   BlockMeta protobuf ‖ BE uint32 size of it ‖ BE uint32 CRC-32C(protobuf ‖ size bytes)
// decodeFooter checks the CRC and every offset and string index in the
// metadata, so later range reads can trust them.

import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { BlockMetaSchema, type BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import { crc32c } from './crc32c.js';
import { BlockFormatError } from './errors.js';
import type { Labels } from './model.js';

/** BlockMeta.format_version this code writes and reads. */
export const BLOCK_FORMAT_VERSION = 1;
/** Bytes after the protobuf: size and CRC. */
export const FOOTER_TRAILER_SIZE = 8;
/** Upper bound on the encoded metadata; a larger size field means corruption, not a real block. */
export const MAX_METADATA_SIZE = 64 * 1024 * 1024;
/** Number of sections of a format-0 dataset: profiles, series index, symbols. */
export const DATASET_SECTIONS = 3;

/** Encodes `meta` (with size forced to 0, as the footer never holds it) followed by size and CRC. */
export function encodeFooter(meta: BlockMeta): Uint8Array {
  const pb = toBinary(BlockMetaSchema, { ...meta, size: 0n });
  const out = new Uint8Array(pb.length + FOOTER_TRAILER_SIZE);
  out.set(pb, 0);
  const view = new DataView(out.buffer);
  view.setUint32(pb.length, pb.length);
  view.setUint32(pb.length + 4, crc32c(out.subarray(0, pb.length + 4)));
  return out;
}

/**
 * Size of the encoded metadata, from the last 8 bytes of `tail` (which ends at
 * the end of the object). The reader fetches that many bytes + 8 from the end.
 */
export function metadataSize(tail: Uint8Array, objectSize: number): number {
  if (!Number.isSafeInteger(objectSize) || objectSize < FOOTER_TRAILER_SIZE) {
    throw new BlockFormatError(`block object of ${objectSize} bytes is too small to hold a footer`);
  }
  if (tail.length < FOOTER_TRAILER_SIZE) throw new BlockFormatError(`footer tail of ${tail.length} bytes is shorter than ${FOOTER_TRAILER_SIZE}`);
  const size = new DataView(tail.buffer, tail.byteOffset, tail.byteLength).getUint32(tail.length - FOOTER_TRAILER_SIZE);
  if (size + FOOTER_TRAILER_SIZE > objectSize) {
    throw new BlockFormatError(`footer metadata size ${size} does not fit in a block object of ${objectSize} bytes`);
  }
  if (size > MAX_METADATA_SIZE) throw new BlockFormatError(`footer metadata size ${size} exceeds the limit of ${MAX_METADATA_SIZE}`);
  return size;
}

/**
 * Decodes and validates the footer. `tail` is the last bytes of an object of
 * `objectSize` bytes and must hold the whole footer (see metadataSize).
 * The returned meta has `size` set to objectSize.
 */
export function decodeFooter(tail: Uint8Array, objectSize: number): BlockMeta {
  const size = metadataSize(tail, objectSize);
  const footerLen = size + FOOTER_TRAILER_SIZE;
  if (tail.length < footerLen) throw new BlockFormatError(`footer needs ${footerLen} bytes, got ${tail.length}`);
  const footer = tail.subarray(tail.length - footerLen);
  const view = new DataView(footer.buffer, footer.byteOffset, footer.byteLength);
  const want = view.getUint32(size + 4);
  const got = crc32c(footer.subarray(0, size + 4));
  if (want !== got) {
    throw new BlockFormatError(`footer CRC-32C mismatch: stored ${hex(want)}, computed ${hex(got)} (corrupt or truncated block)`);
  }
  let meta: BlockMeta;
  try {
    meta = fromBinary(BlockMetaSchema, footer.subarray(0, size));
  } catch (err) {
    throw new BlockFormatError(`footer metadata is not a valid BlockMeta: ${(err as Error).message}`, { cause: err });
  }
  validateMeta(meta, objectSize, objectSize - footerLen);
  meta.size = BigInt(objectSize);
  return meta;
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}

function stringAt(meta: BlockMeta, idx: number, what: string): string {
  const s = meta.stringTable[idx];
  if (!Number.isInteger(idx) || idx < 0 || s === undefined) {
    throw new BlockFormatError(`${what}: string index ${idx} out of range (string table has ${meta.stringTable.length})`);
  }
  return s;
}

/** Parses length-prefixed KV groups of string indexes (Dataset.labels) into label sets. */
export function decodeLabelGroups(meta: BlockMeta, groups: readonly number[], what: string): Labels[] {
  const out: Labels[] = [];
  let i = 0;
  while (i < groups.length) {
    const n = groups[i++]!;
    if (n < 0 || i + 2 * n > groups.length) throw new BlockFormatError(`${what}: label group of ${n} pairs overruns the list`);
    const set: [string, string][] = [];
    for (let k = 0; k < n; k++, i += 2) {
      set.push([stringAt(meta, groups[i]!, what), stringAt(meta, groups[i + 1]!, what)]);
    }
    out.push(set);
  }
  return out;
}

function toSafe(v: bigint, what: string): number {
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BlockFormatError(`${what} ${v} out of range`);
  return Number(v);
}

function validateMeta(meta: BlockMeta, objectSize: number, footerStart: number): void {
  if (meta.formatVersion !== BLOCK_FORMAT_VERSION) {
    throw new BlockFormatError(`unsupported block format version ${meta.formatVersion} (want ${BLOCK_FORMAT_VERSION})`);
  }
  if (meta.stringTable.length === 0 || meta.stringTable[0] !== '') {
    throw new BlockFormatError('block string table must start with ""');
  }
  if (meta.id === '') throw new BlockFormatError('block id is empty');
  stringAt(meta, meta.tenant, 'block tenant');
  stringAt(meta, meta.createdBy, 'block created_by');
  if (toSafe(meta.metadataOffset, 'metadata_offset') !== footerStart) {
    throw new BlockFormatError(`metadata_offset ${meta.metadataOffset} does not match the footer position ${footerStart} in an object of ${objectSize} bytes`);
  }
  let prevEnd = 0;
  meta.datasets.forEach((ds, i) => {
    const what = `dataset ${i}`;
    if (ds.format !== 0) throw new BlockFormatError(`${what}: unsupported dataset format ${ds.format}`);
    stringAt(meta, ds.tenant, `${what} tenant`);
    stringAt(meta, ds.name, `${what} name`);
    if (ds.tenant === 0 || ds.name === 0) throw new BlockFormatError(`${what}: empty tenant or name`);
    if (ds.tableOfContents.length !== DATASET_SECTIONS) {
      throw new BlockFormatError(`${what}: table of contents has ${ds.tableOfContents.length} entries, want ${DATASET_SECTIONS}`);
    }
    const start = toSafe(ds.tableOfContents[0]!, `${what} offset`);
    const end = start + toSafe(ds.size, `${what} size`);
    if (start < prevEnd || end > footerStart) {
      throw new BlockFormatError(`${what}: region [${start}, ${end}) overlaps another dataset or the footer at ${footerStart}`);
    }
    let prev = start;
    for (const off of ds.tableOfContents) {
      const o = toSafe(off, `${what} section offset`);
      if (o < prev || o > end) throw new BlockFormatError(`${what}: section offset ${o} outside [${prev}, ${end}]`);
      prev = o;
    }
    if (ds.minTime > ds.maxTime) throw new BlockFormatError(`${what}: min_time ${ds.minTime} > max_time ${ds.maxTime}`);
    decodeLabelGroups(meta, ds.labels, `${what} labels`);
    prevEnd = end;
  });
}

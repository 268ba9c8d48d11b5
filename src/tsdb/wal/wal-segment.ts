// WAL segment files and the frame every record is wrapped in.
//
// A WAL directory holds numbered segment files `00000000`, `00000001`, … (8 decimal digits,
// as Prometheus names them) and at most one finished checkpoint `checkpoint.NNNNNNNN` (see
// checkpoint.ts). Segments are written append-only; a new one starts when the next write would
// push the current one past the segment size (default 128 MiB, Prometheus's
// DefaultSegmentSize) and on every open. A record never spans two segments (so a single
// oversized record makes its own oversized segment).
//
// Frame (9-byte header, then the payload):
//   [0]     record type (wal-records.ts; never 0, so zero-filled space reads as a torn tail)
//   [1..4]  payload length, uint32 big-endian
//   [5..8]  CRC-32C (Castagnoli) of the type byte followed by the payload, uint32 big-endian
//
// This is Kiln's own layout (no 32 KiB pages, no fragments, no compression): the WAL is never
// read by Prometheus tools, only by Head.open.

import { crc32c } from '../../profiles/block/crc32c.js';

export const FRAME_HEADER_BYTES = 9;
/** A length above this in a header means the header is garbage, not a huge record. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
export const DEFAULT_SEGMENT_BYTES = 128 * 1024 * 1024;

const SEGMENT_NAME = /^\d{8}$/;

export function segmentName(n: number): string {
  return String(n).padStart(8, '0');
}

/** The segment number of a file name, or undefined if it is not a segment. */
export function parseSegmentName(name: string): number | undefined {
  return SEGMENT_NAME.test(name) ? Number(name) : undefined;
}

/** Writes one frame for `payload` at `at` in `out` (which must have room); returns the end. */
export function writeFrame(out: Uint8Array, at: number, type: number, payload: Uint8Array): number {
  const len = payload.length;
  out[at] = type;
  out[at + 1] = len >>> 24;
  out[at + 2] = (len >>> 16) & 0xff;
  out[at + 3] = (len >>> 8) & 0xff;
  out[at + 4] = len & 0xff;
  const crc = crc32c(payload, crc32c(out.subarray(at, at + 1)));
  out[at + 5] = crc >>> 24;
  out[at + 6] = (crc >>> 16) & 0xff;
  out[at + 7] = (crc >>> 8) & 0xff;
  out[at + 8] = crc & 0xff;
  out.set(payload, at + FRAME_HEADER_BYTES);
  return at + FRAME_HEADER_BYTES + len;
}

/**
 * Frames a payload written after FRAME_HEADER_BYTES reserved bytes at the start of `buf`
 * (buf[FRAME_HEADER_BYTES, end)) without copying it: writes the header there and returns the frame.
 */
export function frameInPlace(buf: Uint8Array, end: number, type: number): Uint8Array {
  const len = end - FRAME_HEADER_BYTES;
  buf[0] = type;
  buf[1] = len >>> 24;
  buf[2] = (len >>> 16) & 0xff;
  buf[3] = (len >>> 8) & 0xff;
  buf[4] = len & 0xff;
  const crc = crc32c(buf.subarray(FRAME_HEADER_BYTES, end), crc32c(buf.subarray(0, 1)));
  buf[5] = crc >>> 24;
  buf[6] = (crc >>> 16) & 0xff;
  buf[7] = (crc >>> 8) & 0xff;
  buf[8] = crc & 0xff;
  return buf.subarray(0, end);
}

/** Frames several records into one buffer (one write for a whole append). */
export function frameRecords(records: ReadonlyArray<{ type: number; payload: Uint8Array }>): Uint8Array {
  let total = 0;
  for (const r of records) total += FRAME_HEADER_BYTES + r.payload.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const r of records) at = writeFrame(out, at, r.type, r.payload);
  return out;
}

export interface ScannedRecord {
  type: number;
  payload: Uint8Array;
  /** Byte offset of the frame in the segment. */
  offset: number;
}

export interface SegmentScan {
  records: ScannedRecord[];
  /** Length of the valid prefix. */
  validBytes: number;
  /** Why the scan stopped before the end, if it did. */
  problem?: string;
}

/** Reads frames from the start of a segment image; stops at the first torn or corrupt one. */
export function scanSegment(data: Uint8Array): SegmentScan {
  const records: ScannedRecord[] = [];
  let off = 0;
  while (off < data.length) {
    if (data.length - off < FRAME_HEADER_BYTES) {
      return { records, validBytes: off, problem: `incomplete frame header (${data.length - off} bytes)` };
    }
    const type = data[off]!;
    const len = ((data[off + 1]! << 24) | (data[off + 2]! << 16) | (data[off + 3]! << 8) | data[off + 4]!) >>> 0;
    const crc = ((data[off + 5]! << 24) | (data[off + 6]! << 16) | (data[off + 7]! << 8) | data[off + 8]!) >>> 0;
    if (type === 0) return { records, validBytes: off, problem: 'zero record type (unwritten space)' };
    if (len > MAX_RECORD_BYTES) return { records, validBytes: off, problem: `implausible record length ${len}` };
    const end = off + FRAME_HEADER_BYTES + len;
    if (end > data.length) {
      return { records, validBytes: off, problem: `incomplete record (${len} bytes announced, ${data.length - off - FRAME_HEADER_BYTES} present)` };
    }
    const payload = data.subarray(off + FRAME_HEADER_BYTES, end);
    if (crc32c(payload, crc32c(data.subarray(off, off + 1))) !== crc) {
      return { records, validBytes: off, problem: 'CRC-32C mismatch' };
    }
    records.push({ type, payload, offset: off });
    off = end;
  }
  return { records, validBytes: off };
}

// Bounded gunzip for uploaded profiles: a gzip bomb must fail after about
// maxBytes of output, never after inflating all of it.

import { constants as bufferConstants } from 'node:buffer';
import zlib from 'node:zlib';

export class GzipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GzipError';
  }
}

export class DecompressedTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`decompressed profile exceeds the limit of ${limit} bytes`);
    this.name = 'DecompressedTooLargeError';
    this.limit = limit;
  }
}

/** True when buf starts with the gzip magic bytes 1f 8b. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * The uncompressed size a gzip stream's trailer declares (ISIZE: size mod
 * 2^32, of the last member only), or -1 when buf is too short to hold one.
 * zlib checks it against what it inflated, so an accepted single-member
 * stream below 4 GiB holds exactly this many bytes.
 */
export function gzipDeclaredSize(buf: Uint8Array): number {
  const n = buf.length;
  if (n < 18) return -1;
  return (buf[n - 4]! | (buf[n - 3]! << 8) | (buf[n - 2]! << 16) | (buf[n - 1]! << 24)) >>> 0;
}

function checkMax(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes > bufferConstants.MAX_LENGTH) {
    throw new RangeError(`maxBytes must be an integer between 1 and ${bufferConstants.MAX_LENGTH}, got ${maxBytes}`);
  }
}

/** Inputs up to this size are inflated synchronously (see gunzipBounded). */
export const SYNC_GUNZIP_MAX_INPUT = 64 * 1024;

/** zlib's default output chunk: the least gunzipBounded inflates into at a time… */
const MIN_CHUNK = 16 * 1024;
/** …and the most, whatever a trailer claims. */
const MAX_CHUNK = 64 * 1024 * 1024;

/**
 * The output chunk for gzip stream `buf`: all the bytes its trailer declares
 * at once (one more, so zlib sees room left and stops in that one call),
 * where zlib's default 16 KiB chunks cost a thread-pool round trip, a
 * callback and a buffer each, and a copy to join them: for a 6.9 MB profile,
 * 32–39 ms of CPU against 14 ms in one chunk. A lying trailer changes only
 * the chunk size, which stays within zlib's default and 64 MiB (or the
 * limit, if less).
 */
function outputChunk(buf: Uint8Array, maxBytes: number): number {
  return Math.max(MIN_CHUNK, Math.min(gzipDeclaredSize(buf) + 1, maxBytes + 1, MAX_CHUNK));
}

/**
 * Gunzips buf, failing with DecompressedTooLargeError as soon as the output
 * passes maxBytes, and with GzipError on corrupt data. Concatenated gzip
 * members are joined, as gzip(1) and Go's gzip.Reader do.
 */
export function gunzipBounded(buf: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  checkMax(maxBytes);
  const fail = (err: Error): Error =>
    (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? new DecompressedTooLargeError(maxBytes) : new GzipError(`invalid gzip data: ${err.message}`);
  // zlib checks maxOutputLength after each output chunk, so a bomb stops
  // within one chunk of the limit (at most twice the limit).
  const opts = { maxOutputLength: maxBytes, chunkSize: outputChunk(buf, maxBytes) };
  // Small bodies (most SDK pushes) inflate in well under a millisecond: the
  // asynchronous path's stream and thread-pool hop would cost more than that.
  if (buf.length <= SYNC_GUNZIP_MAX_INPUT) {
    try {
      const out = zlib.gunzipSync(buf, opts);
      return Promise.resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    } catch (err) {
      return Promise.reject(fail(err as Error));
    }
  }
  // Larger ones inflate on libuv's threads, off the thread that asked.
  return new Promise((resolve, reject) => {
    zlib.gunzip(buf, opts, (err, out) => {
      if (err === null) resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      else reject(fail(err));
    });
  });
}

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

function checkMax(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes > bufferConstants.MAX_LENGTH) {
    throw new RangeError(`maxBytes must be an integer between 1 and ${bufferConstants.MAX_LENGTH}, got ${maxBytes}`);
  }
}

/**
 * Gunzips buf, failing with DecompressedTooLargeError as soon as the output
 * passes maxBytes, and with GzipError on corrupt data. Concatenated gzip
 * members are joined, as gzip(1) and Go's gzip.Reader do.
 */
export function gunzipBounded(buf: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  checkMax(maxBytes);
  // zlib's maxOutputLength is checked per output chunk (16 KiB), so a bomb
  // stops within one chunk of the limit; the work runs off the main thread.
  return new Promise((resolve, reject) => {
    zlib.gunzip(buf, { maxOutputLength: maxBytes }, (err, out) => {
      if (err === null) {
        resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
        return;
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') reject(new DecompressedTooLargeError(maxBytes));
      else reject(new GzipError(`invalid gzip data: ${err.message}`));
    });
  });
}

/** Gunzips buf when it is gzip; otherwise returns it as is. Either way the result is at most maxBytes. */
export async function maybeGunzip(buf: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  if (isGzip(buf)) return gunzipBounded(buf, maxBytes);
  checkMax(maxBytes);
  if (buf.length > maxBytes) throw new DecompressedTooLargeError(maxBytes);
  return buf;
}

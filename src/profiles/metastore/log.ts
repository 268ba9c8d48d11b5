// Append-only, checksummed record log with group commit.
//
// Frame: BE uint32 payload length ‖ BE uint32 CRC-32C(payload) ‖ payload.
// The payload is opaque here; the metastore puts a 1-byte record type in front of a protobuf.
//
// Durability contract: append() resolves only after its bytes are on disk (write + fdatasync).
// Appends that arrive while a flush is in progress are written together and fsynced once.
// On open, the whole file is replayed; the first frame that is short or fails its CRC ends the
// log, and it and everything after it are cut off (see docs/metastore.md, "Recovery").
import { open, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { crc32c } from '../block/crc32c.js';
import { StoreUnavailableError } from './store.js';
import { fsyncDir } from '../../objstore/filesystem.js';

export const FRAME_HEADER_BYTES = 8;
/** Upper bound on one payload; a larger length in a header means the header is garbage. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export interface LogLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** A record read back on open, with the byte offset of its frame. */
export interface ReplayedRecord {
  offset: number;
  payload: Uint8Array;
}

export interface LogStats {
  /** append() calls that were accepted. */
  appends: number;
  /** Write batches (one positional write loop + one fdatasync each). */
  batches: number;
  /** fdatasync calls made on the log file. */
  fsyncs: number;
}

/** The log cannot take writes: it was closed, or an earlier write/fsync failed. */
export class LogUnavailableError extends StoreUnavailableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LogUnavailableError';
  }
}

export interface RecordLogOptions {
  logger?: LogLogger;
}

interface Pending {
  frame: Uint8Array;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Encodes one frame; exported for tests that craft files by hand. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  if (payload.length === 0) throw new RangeError('log record payload must not be empty');
  if (payload.length > MAX_RECORD_BYTES) {
    throw new RangeError(`log record of ${payload.length} bytes exceeds the ${MAX_RECORD_BYTES}-byte limit`);
  }
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, payload.length);
  view.setUint32(4, crc32c(payload));
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** Result of scanning a log image: the valid records and where the valid prefix ends. */
export interface ScanResult {
  records: ReplayedRecord[];
  validBytes: number;
  /** Why the scan stopped before the end of the data, if it did. */
  problem?: string;
}

/** Scans frames from the start; stops at the first incomplete or corrupt frame. */
export function scanFrames(data: Uint8Array): ScanResult {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const records: ReplayedRecord[] = [];
  let off = 0;
  while (off < data.length) {
    if (data.length - off < FRAME_HEADER_BYTES) {
      return { records, validBytes: off, problem: `incomplete frame header (${data.length - off} bytes)` };
    }
    const len = view.getUint32(off);
    const crc = view.getUint32(off + 4);
    if (len === 0 || len > MAX_RECORD_BYTES) {
      return { records, validBytes: off, problem: `implausible record length ${len}` };
    }
    const end = off + FRAME_HEADER_BYTES + len;
    if (end > data.length) {
      return { records, validBytes: off, problem: `incomplete record (${len} bytes announced, ${data.length - off - FRAME_HEADER_BYTES} present)` };
    }
    const payload = data.subarray(off + FRAME_HEADER_BYTES, end);
    if (crc32c(payload) !== crc) {
      return { records, validBytes: off, problem: 'CRC-32C mismatch' };
    }
    records.push({ offset: off, payload });
    off = end;
  }
  return { records, validBytes: off };
}

const defaultLogger: LogLogger = {
  // stderr, not stdout: stdout of a process may be a data channel (the crash test uses it).
  warn: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...obj })}\n`),
  info: () => {},
};

export class RecordLog {
  readonly path: string;
  readonly stats: LogStats = { appends: 0, batches: 0, fsyncs: 0 };
  private readonly fh: FileHandle;
  private readonly logger: LogLogger;
  private size: number;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private failure: unknown;
  private closed = false;

  private constructor(filePath: string, fh: FileHandle, size: number, logger: LogLogger) {
    this.path = filePath;
    this.fh = fh;
    this.size = size;
    this.logger = logger;
  }

  /**
   * Opens (creating if needed) the log at `filePath`, cuts off a torn or corrupt tail, and
   * returns the log with every valid record in order.
   */
  static async open(filePath: string, options: RecordLogOptions = {}): Promise<{ log: RecordLog; records: ReplayedRecord[] }> {
    const logger = options.logger ?? defaultLogger;
    let fh: FileHandle;
    try {
      fh = await open(filePath, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      fh = await open(filePath, 'wx+');
      await fh.sync();
      // The new directory entry is only durable once the directory itself is fsynced.
      await fsyncDir(path.dirname(filePath));
      logger.info({ path: filePath }, 'created metastore log');
    }
    try {
      const data = await fh.readFile();
      const scan = scanFrames(data);
      if (scan.validBytes < data.length) {
        const dropped = data.length - scan.validBytes;
        // Keep the dropped bytes for an operator: if storage corrupted an acked record (rather
        // than a crash tearing an unacked write), this copy is the only way to get it back.
        const sidePath = `${filePath}.corrupt-${scan.validBytes}`;
        const side = await open(sidePath, 'w');
        try {
          await side.writeFile(data.subarray(scan.validBytes));
          await side.sync();
        } finally {
          await side.close();
        }
        await fh.truncate(scan.validBytes);
        await fh.sync();
        logger.warn(
          { path: filePath, offset: scan.validBytes, droppedBytes: dropped, reason: scan.problem, savedTo: sidePath },
          'metastore log: truncated an incomplete or corrupt tail',
        );
      }
      return { log: new RecordLog(filePath, fh, scan.validBytes, logger), records: scan.records };
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  /** Bytes of valid log on disk (after the last durable or in-flight batch). */
  get byteLength(): number {
    return this.size;
  }

  /** Appends one record; resolves once it is fsynced, rejects if it may not be. */
  append(payload: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new LogUnavailableError(`metastore log ${this.path} is closed`));
    if (this.failure !== undefined) return Promise.reject(this.unavailable());
    let frame: Uint8Array;
    try {
      frame = encodeFrame(payload);
    } catch (err) {
      return Promise.reject(err);
    }
    this.stats.appends++;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frame, resolve, reject });
      // Start the flush on a microtask so a synchronous burst of appends forms one batch.
      if (this.flushing === undefined) this.flushing = Promise.resolve().then(() => this.flushLoop());
    });
  }

  /** Waits for in-flight appends, then closes the file. Later appends reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing !== undefined) await this.flushing;
    await this.fh.close();
  }

  private unavailable(): LogUnavailableError {
    return new LogUnavailableError(
      `metastore log ${this.path} stopped taking writes after a failed write or fsync; reopen it to recover`,
      { cause: this.failure },
    );
  }

  // Writes whatever is queued, fsyncs once, resolves that batch, and repeats while appends
  // keep arriving. Appends made during a fsync wait in `queue` and become the next batch.
  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        if (this.failure !== undefined) {
          for (const p of batch) p.reject(this.unavailable());
          continue;
        }
        try {
          await this.writeBatch(batch);
          for (const p of batch) p.resolve();
        } catch (err) {
          // After a failed write or fsync the file's contents are unknown (and Linux may have
          // dropped the dirty pages), so retrying could ack data that is not on disk. Stop here;
          // reopening replays the file and cuts any partial frame.
          this.failure = err;
          this.logger.warn({ path: this.path, err: String(err) }, 'metastore log write failed; log is now read-only');
          for (const p of batch) p.reject(this.unavailable());
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    let total = 0;
    for (const p of batch) total += p.frame.length;
    const buf = new Uint8Array(total);
    let at = 0;
    for (const p of batch) {
      buf.set(p.frame, at);
      at += p.frame.length;
    }
    let written = 0;
    while (written < total) {
      const { bytesWritten } = await this.fh.write(buf, written, total - written, this.size + written);
      if (bytesWritten <= 0) throw new Error('write made no progress');
      written += bytesWritten;
    }
    this.stats.batches++;
    // fdatasync also persists the grown file size, which is all the metadata replay needs.
    await this.fh.datasync();
    this.stats.fsyncs++;
    this.size += total;
  }
}

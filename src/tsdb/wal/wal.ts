// The write-ahead log of one tenant's head: numbered segments of framed records
// (wal-segment.ts) plus at most one checkpoint (checkpoint.ts).
//
// Durability (fsync policy): log() resolves only after its bytes are written and the segment
// is fdatasynced. Appends are group-committed: whatever is queued while a write + fdatasync is
// in flight becomes the next batch, written with one positional write and one fdatasync, so
// concurrent appends share an fsync instead of each paying for one. A new segment's directory
// entry is fsynced before anything written into it is acknowledged.
//
// After a failed write or fsync the WAL refuses further writes (the file's contents are
// unknown, and Linux may have dropped the dirty pages, so a retry could acknowledge data that
// is not on disk); reopening replays what is there and cuts any torn tail.
//
// Replay (open): newest checkpoint, then the segments after it, in order. A frame that is
// short or fails its CRC ends the log: the segment is truncated there, later segments (if any)
// are deleted, and a warning is logged with what was dropped. A crash tears at most the tail of
// the newest segment, so in practice this only cuts writes that were never acknowledged.
// Every open starts a fresh segment rather than appending to the last one.

import { open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { fsyncDir } from '../../objstore/filesystem.js';
import { checkpointName, latestCheckpoint, parseCheckpointName, writeCheckpoint } from './checkpoint.js';
import { DEFAULT_SEGMENT_BYTES, parseSegmentName, scanSegment, segmentName } from './wal-segment.js';

/** The logger shape the TSDB needs; a pino Logger fits. */
export interface TsdbLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface WalOptions {
  /** Segment size in bytes (default 128 MiB). */
  segmentBytes?: number;
  logger: TsdbLogger;
}

/** Where a replayed record came from, for error messages. */
export interface RecordOrigin {
  file: string;
  offset: number;
}

export type ReplayHandler = (type: number, payload: Uint8Array, origin: RecordOrigin) => void;

export interface ReplayStats {
  checkpoint?: string;
  segments: number;
  records: number;
  bytes: number;
  /** Bytes cut off as a torn or corrupt tail. */
  truncatedBytes: number;
}

export class WalUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WalUnavailableError';
  }
}

interface PendingWrite {
  kind: 'write';
  frames: Uint8Array;
  resolve: () => void;
  reject: (err: unknown) => void;
}
interface PendingCut {
  kind: 'cut';
  resolve: (closedSegment: number) => void;
  reject: (err: unknown) => void;
}

export interface WalStats {
  /** log() calls accepted. */
  writes: number;
  /** fdatasync calls (one per group-committed batch, plus segment rotations). */
  fsyncs: number;
  bytes: number;
}

export class Wal {
  readonly dir: string;
  readonly stats: WalStats = { writes: 0, fsyncs: 0, bytes: 0 };
  private readonly segmentBytes: number;
  private readonly logger: TsdbLogger;
  private segment: number;
  private fh: FileHandle | undefined;
  private size = 0;
  private queue: Array<PendingWrite | PendingCut> = [];
  private flushing: Promise<void> | undefined;
  private failure: unknown;
  private closed = false;

  private constructor(dir: string, segment: number, options: WalOptions) {
    this.dir = dir;
    this.segment = segment;
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.logger = options.logger;
  }

  /**
   * Opens the WAL in `dir` (created if missing), replays every record through `onRecord` in
   * order and starts a new segment. An error thrown by `onRecord` aborts the open, with the
   * record's file and offset added to the message.
   */
  static async open(dir: string, options: WalOptions, onRecord: ReplayHandler): Promise<{ wal: Wal; stats: ReplayStats }> {
    await mkdir(dir, { recursive: true });
    const stats: ReplayStats = { segments: 0, records: 0, bytes: 0, truncatedBytes: 0 };
    for (const name of await readdir(dir)) {
      if (name.endsWith('.tmp')) await rm(path.join(dir, name), { force: true });
    }
    const checkpoint = await latestCheckpoint(dir);
    const names = await readdir(dir);
    const segments = names
      .map(parseSegmentName)
      .filter((n): n is number => n !== undefined)
      .sort((a, b) => a - b);
    // Leftovers of a checkpoint whose cleanup was interrupted.
    for (const name of names) {
      const upTo = parseCheckpointName(name);
      if (checkpoint !== undefined && upTo !== undefined && upTo < checkpoint.upTo) await rm(path.join(dir, name), { force: true });
    }
    const live: number[] = [];
    for (const n of segments) {
      if (checkpoint !== undefined && n <= checkpoint.upTo) await rm(path.join(dir, segmentName(n)), { force: true });
      else live.push(n);
    }

    const deliver = (file: string, type: number, payload: Uint8Array, offset: number): void => {
      try {
        onRecord(type, payload, { file, offset });
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new Error(`WAL ${file} at byte ${offset}: record of type ${type} (CRC valid) cannot be replayed: ${msg}`, { cause: err });
      }
      stats.records++;
    };

    if (checkpoint !== undefined) {
      const file = path.join(dir, checkpoint.name);
      const data = await readFile(file);
      const scan = scanSegment(data);
      if (scan.problem !== undefined) {
        // Checkpoints are fsynced before they are renamed into place: damage here is not a torn
        // write, and dropping it would silently lose data the segments no longer hold.
        throw new Error(`WAL checkpoint ${file} is corrupt at byte ${scan.validBytes} (${scan.problem}); refusing to replay`);
      }
      for (const r of scan.records) deliver(file, r.type, r.payload, r.offset);
      stats.checkpoint = checkpoint.name;
      stats.bytes += data.length;
    }

    for (let i = 0; i < live.length; i++) {
      const file = path.join(dir, segmentName(live[i]!));
      const data = await readFile(file);
      const scan = scanSegment(data);
      for (const r of scan.records) deliver(file, r.type, r.payload, r.offset);
      stats.segments++;
      stats.bytes += scan.validBytes;
      if (scan.problem !== undefined) {
        const later = live.slice(i + 1);
        let laterBytes = 0;
        for (const n of later) {
          const p = path.join(dir, segmentName(n));
          laterBytes += (await readFile(p)).length;
          await rm(p, { force: true });
        }
        const fh = await open(file, 'r+');
        try {
          await fh.truncate(scan.validBytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
        stats.truncatedBytes = data.length - scan.validBytes + laterBytes;
        options.logger.warn(
          {
            segment: file,
            offset: scan.validBytes,
            droppedBytes: data.length - scan.validBytes,
            reason: scan.problem,
            deletedLaterSegments: later.map(segmentName),
            deletedLaterBytes: laterBytes,
          },
          'WAL: truncated a torn or corrupt tail (writes after it were never acknowledged if the process crashed)',
        );
        live.length = i + 1;
        break;
      }
    }

    const last = Math.max(checkpoint?.upTo ?? -1, live.length > 0 ? live[live.length - 1]! : -1);
    const wal = new Wal(dir, last + 1, options);
    await wal.openSegment(last + 1);
    return { wal, stats };
  }

  /** Number of the segment being written. */
  get currentSegment(): number {
    return this.segment;
  }

  /** Appends framed records; resolves once they are fdatasynced. */
  log(frames: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new WalUnavailableError(`WAL ${this.dir} is closed`));
    if (this.failure !== undefined) return Promise.reject(this.unavailable());
    this.stats.writes++;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'write', frames, resolve, reject });
      this.kick();
    });
  }

  /**
   * Closes the current segment and starts the next one. Every log() called before cut() lands
   * in a segment ≤ the resolved number, every later one above it: state captured synchronously
   * together with cut() therefore matches "everything up to that segment" exactly.
   */
  cut(): Promise<number> {
    if (this.closed) return Promise.reject(new WalUnavailableError(`WAL ${this.dir} is closed`));
    if (this.failure !== undefined) return Promise.reject(this.unavailable());
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ kind: 'cut', resolve, reject });
      this.kick();
    });
  }

  /**
   * Writes checkpoint.<upTo> from `chunks` (framed records) and deletes the segments it
   * replaces and older checkpoints. `upTo` must be a number returned by cut().
   */
  async checkpoint(upTo: number, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
    if (upTo >= this.segment) throw new Error(`checkpoint up to segment ${upTo} would include the open segment ${this.segment}`);
    await writeCheckpoint(this.dir, upTo, chunks);
    const keep = checkpointName(upTo);
    for (const name of await readdir(this.dir)) {
      const seg = parseSegmentName(name);
      const cp = parseCheckpointName(name);
      if ((seg !== undefined && seg <= upTo) || (cp !== undefined && name !== keep)) await rm(path.join(this.dir, name), { force: true });
    }
    this.logger.info({ dir: this.dir, checkpoint: keep }, 'WAL checkpoint written');
  }

  /** Waits for queued writes, then closes the segment. Later calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing !== undefined) await this.flushing;
    await this.fh?.close();
    this.fh = undefined;
  }

  private unavailable(): WalUnavailableError {
    return new WalUnavailableError(`WAL ${this.dir} stopped taking writes after a failed write or fsync; reopen the head to recover`, {
      cause: this.failure,
    });
  }

  private kick(): void {
    // A microtask, so a synchronous burst of log() calls forms one batch.
    if (this.flushing === undefined) this.flushing = Promise.resolve().then(() => this.flushLoop());
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        let writes: PendingWrite[] = [];
        for (const item of batch) {
          if (item.kind === 'write') {
            writes.push(item);
            continue;
          }
          // A cut: everything before it goes to the current segment(s) first.
          await this.commit(writes);
          writes = [];
          if (this.failure !== undefined) {
            item.reject(this.unavailable());
            continue;
          }
          try {
            const closed = this.segment;
            await this.openSegment(this.segment + 1);
            item.resolve(closed);
          } catch (err) {
            this.fail(err);
            item.reject(this.unavailable());
          }
        }
        await this.commit(writes);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Writes a batch (rotating segments by size), fdatasyncs, settles the promises. */
  private async commit(writes: PendingWrite[]): Promise<void> {
    if (writes.length === 0) return;
    if (this.failure !== undefined) {
      for (const w of writes) w.reject(this.unavailable());
      return;
    }
    try {
      let group: Uint8Array[] = [];
      let groupBytes = 0;
      for (const w of writes) {
        if (this.size + groupBytes > 0 && this.size + groupBytes + w.frames.length > this.segmentBytes) {
          await this.writeOut(group, groupBytes);
          group = [];
          groupBytes = 0;
          await this.openSegment(this.segment + 1);
        }
        group.push(w.frames);
        groupBytes += w.frames.length;
      }
      await this.writeOut(group, groupBytes);
      for (const w of writes) w.resolve();
    } catch (err) {
      this.fail(err);
      for (const w of writes) w.reject(this.unavailable());
    }
  }

  private async writeOut(group: Uint8Array[], total: number): Promise<void> {
    if (total === 0) return;
    const fh = this.fh!;
    const buf = group.length === 1 ? group[0]! : concat(group, total);
    let written = 0;
    while (written < total) {
      const { bytesWritten } = await fh.write(buf, written, total - written, this.size + written);
      if (bytesWritten <= 0) throw new Error('WAL write made no progress');
      written += bytesWritten;
    }
    await fh.datasync();
    this.stats.fsyncs++;
    this.stats.bytes += total;
    this.size += total;
  }

  private async openSegment(n: number): Promise<void> {
    const previous = this.fh;
    const fh = await open(path.join(this.dir, segmentName(n)), 'wx');
    try {
      await fsyncDir(this.dir);
    } catch (err) {
      await fh.close();
      throw err;
    }
    // Everything in the previous segment was fdatasynced when it was written.
    await previous?.close();
    this.fh = fh;
    this.segment = n;
    this.size = 0;
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.logger.warn({ dir: this.dir, err: String(err) }, 'WAL write failed; the head no longer accepts appends');
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Embedded MetastoreStore: one record log file in a local directory.
//
// Rewrite (snapshot): the folded state is written as snapshot records to `metastore.log.rewrite`,
// fsynced, renamed over `metastore.log`, and the directory fsynced. A crash before the rename
// leaves the old log (the temp file is removed on the next open); after it, the new one.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { RecordLog, encodeFrame, type LogLogger } from './log.js';
import { StoreUnavailableError, decodeChange, encodeChange, type MetastoreStore, type StateChange } from './store.js';
import { fsyncDir } from '../../objstore/filesystem.js';

export const LOG_FILE = 'metastore.log';
export const LOCK_FILE = 'LOCK';
export const REWRITE_FILE = 'metastore.log.rewrite';

interface HeldAppend {
  payload: Uint8Array;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Another process (or another store in this one) has the directory open. */
export class StoreLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreLockedError';
  }
}

// Directories open in this process; two writers on one log would interleave frames.
const openDirs = new Set<string>();

async function pidAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process that nobody has reaped yet (a zombie) still answers kill(0); on Linux,
  // /proc tells it apart. Field 3 of /proc/<pid>/stat is the state; the name before it is in ().
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return true;
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

// Best-effort cross-process guard. Node has no flock, so this is a pid file: a lock whose
// process is gone (e.g. after kill -9) is taken over. Our own pid counts as gone, because a
// restarted container can reuse the pid of the process that died.
async function takeLock(dir: string): Promise<void> {
  const lockPath = path.join(dir, LOCK_FILE);
  const text = await readFile(lockPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (text !== undefined) {
    const pid = Number.parseInt(text, 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && (await pidAlive(pid))) {
      throw new StoreLockedError(
        `metastore directory ${dir} is in use by process ${pid}; stop it first (or delete ${lockPath} if that pid is not Kiln)`,
      );
    }
  }
  const fh = await open(lockPath, 'w');
  try {
    await fh.writeFile(`${process.pid}\n`);
  } finally {
    await fh.close();
  }
}

export class FileMetastoreStore implements MetastoreStore {
  readonly dir: string;
  private log: RecordLog | undefined;
  private readonly logger: LogLogger | undefined;
  private closed = false;
  /** Set while a rewrite runs; appends made meanwhile wait in `held`. */
  private rewriting = false;
  private held: HeldAppend[] = [];

  private constructor(dir: string, logger: LogLogger | undefined) {
    this.dir = dir;
    this.logger = logger;
  }

  /** Creates the directory if needed and takes its lock; call load() next. */
  static async open(dir: string, logger?: LogLogger): Promise<FileMetastoreStore> {
    const abs = path.resolve(dir);
    if (openDirs.has(abs)) throw new StoreLockedError(`metastore directory ${abs} is already open in this process`);
    openDirs.add(abs);
    try {
      const created = await mkdir(abs, { recursive: true });
      if (created !== undefined) {
        // Make each new directory entry durable, from the deepest new one up to the first.
        for (let p = abs; p !== path.dirname(created); p = path.dirname(p)) await fsyncDir(path.dirname(p));
      }
      await takeLock(abs);
      return new FileMetastoreStore(abs, logger);
    } catch (err) {
      openDirs.delete(abs);
      throw err;
    }
  }

  /** The underlying log (for stats in tests and diagnostics); undefined before load(). */
  get recordLog(): RecordLog | undefined {
    return this.log;
  }

  async load(): Promise<StateChange[]> {
    if (this.closed) throw new Error('metastore store is closed');
    if (this.log !== undefined) throw new Error('metastore store already loaded');
    // A rewrite that crashed before its rename: the log itself is still the complete state.
    await rm(path.join(this.dir, REWRITE_FILE), { force: true });
    const { log, records } = await RecordLog.open(path.join(this.dir, LOG_FILE), { logger: this.logger });
    this.log = log;
    try {
      return records.map((r) => {
        try {
          return decodeChange(r.payload);
        } catch (err) {
          // The frame's CRC matched, so this is not a torn write: stop rather than guess.
          throw new Error(`metastore log ${log.path}: record at offset ${r.offset}: ${(err as Error).message}`, { cause: err });
        }
      });
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  append(change: StateChange): Promise<void> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('metastore store is closed'));
    if (this.log === undefined) return Promise.reject(new Error('metastore store: load() must be called before append()'));
    let payload: Uint8Array;
    try {
      payload = encodeChange(change);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.rewriting) return new Promise((resolve, reject) => this.held.push({ payload, resolve, reject }));
    return this.log.append(payload);
  }

  get storedBytes(): number {
    return this.log?.byteLength ?? 0;
  }

  async rewrite(snapshot: () => StateChange[]): Promise<void> {
    if (this.log === undefined || this.closed) throw new StoreUnavailableError('metastore store is not open');
    if (this.rewriting) throw new Error('metastore store: a rewrite is already running');
    this.rewriting = true;
    const logPath = path.join(this.dir, LOG_FILE);
    const tmpPath = path.join(this.dir, REWRITE_FILE);
    try {
      // Closing waits for every accepted append to be durable and resolved.
      await this.log.close();
      // Let the callers' continuations of those appends run, so `snapshot` sees their effect.
      await new Promise((resolve) => setImmediate(resolve));
      const frames = snapshot().map((c) => encodeFrame(encodeChange(c)));
      const fh = await open(tmpPath, 'w');
      try {
        for (const f of frames) await fh.write(f);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmpPath, logPath);
      await fsyncDir(this.dir);
    } finally {
      // Before the rename the old file is intact, after it the new one is complete: either way
      // reopening the log gives a consistent state to append to.
      try {
        this.log = (await RecordLog.open(logPath, { logger: this.logger })).log;
      } catch (err) {
        this.log = undefined;
        for (const h of this.held) h.reject(new StoreUnavailableError('metastore log could not be reopened after a rewrite', { cause: err }));
        this.held = [];
      }
      this.rewriting = false;
      const held = this.held;
      this.held = [];
      for (const h of held) this.log!.append(h.payload).then(h.resolve, h.reject);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.log?.close();
    } finally {
      await rm(path.join(this.dir, LOCK_FILE), { force: true }).catch(() => {});
      openDirs.delete(this.dir);
    }
  }
}

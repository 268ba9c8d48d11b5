// Embedded MetastoreStore: one record log file in a local directory.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { RecordLog, type LogLogger } from './log.js';
import { decodeChange, encodeChange, type MetastoreStore, type StateChange } from './store.js';
import { fsyncDir } from '../../objstore/filesystem.js';

export const LOG_FILE = 'metastore.log';
export const LOCK_FILE = 'LOCK';

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
    if (this.log === undefined) return Promise.reject(new Error('metastore store: load() must be called before append()'));
    let payload: Uint8Array;
    try {
      payload = encodeChange(change);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.log.append(payload);
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

// A Bucket over a local directory: one file per object, key segments become
// directories. Writes go through a temp file + fsync + rename so a crash at any
// moment leaves either the old object or the new one, never a torn file.
// Conditional writes (putIfMatch) hold a per-key lock file: filesystem-lock.ts.
import { constants as bufferConstants } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ObjectNotFoundError, PreconditionFailedError, type Bucket, type ObjectInfo, type VersionedObject } from './bucket.js';
import { DEFAULT_LOCK_OPTIONS, LOCK_PREFIX, type LockOptions, acquireLock } from './filesystem-lock.js';

const MAX_LENGTH = bufferConstants.MAX_LENGTH;

/** Name prefix of in-flight writes; such files are never objects. */
const TEMP_PREFIX = '.tmp-';

/**
 * Throws unless `key` is a portable object key: `/`-separated, relative, no
 * empty/`.`/`..` segments, no backslash or NUL, no segment starting with
 * `.tmp-` (reserved for in-flight writes). Both backends apply the same rules
 * so a key that works on one works on the other.
 */
export function validateObjectKey(key: string): void {
  const bad = (why: string): never => {
    throw new Error(`invalid object key ${JSON.stringify(key)}: ${why}`);
  };
  if (typeof key !== 'string') bad('not a string');
  if (key.length === 0) bad('empty key');
  if (key.includes('\0')) bad('contains NUL');
  if (key.includes('\\')) bad('contains a backslash');
  if (key.startsWith('/')) bad('absolute keys are not allowed');
  for (const seg of key.split('/')) {
    if (seg === '') bad('empty path segment');
    if (seg === '.' || seg === '..') bad(`"${seg}" segments are not allowed`);
    if (seg.startsWith(TEMP_PREFIX)) bad(`segments starting with "${TEMP_PREFIX}" are reserved`);
  }
}

/** Throws unless offset/length are non-negative safe integers. */
export function validateRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new Error(`invalid range offset ${offset}: must be a non-negative integer`);
  }
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new Error(`invalid range length ${length}: must be a non-negative integer`);
  }
}

/** Sorts keys by their UTF-8 bytes, the order S3 lists in. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** Errors meaning "there is no regular file at this path". */
function isMissing(err: unknown): boolean {
  const c = errCode(err);
  return c === 'ENOENT' || c === 'ENOTDIR' || c === 'EISDIR';
}

/** fsyncs a directory, so entries created or renamed in it survive a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } catch (err) {
    // Some filesystems cannot fsync a directory; the rename is still atomic there.
    if (errCode(err) !== 'EINVAL') throw err;
  } finally {
    await h.close();
  }
}

/** The version token of an object's bytes: a content hash, so equal tokens mean equal bytes. */
function contentVersion(body: Uint8Array): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/** fsyncs the parent entry of every directory mkdir created, from `firstCreated` down to `dir`. */
async function fsyncCreatedDirs(dir: string, firstCreated: string | undefined): Promise<void> {
  if (firstCreated === undefined) return;
  const created: string[] = [];
  for (let d = dir; d.length >= firstCreated.length; d = dirname(d)) {
    created.push(d);
    if (d === firstCreated) break;
  }
  for (const d of created) await fsyncDir(dirname(d));
}

/** Creates the directory of a key; returns the first directory mkdir created (see fsyncCreatedDirs). */
async function makeKeyDir(key: string, dir: string): Promise<string | undefined> {
  try {
    return await mkdir(dir, { recursive: true });
  } catch (err) {
    if (errCode(err) === 'ENOTDIR' || errCode(err) === 'EEXIST') {
      throw new Error(`put ${JSON.stringify(key)}: a parent path of this key is an object (filesystem backend cannot hold both "a" and "a/b")`, { cause: err });
    }
    throw err;
  }
}

export class FilesystemBucket implements Bucket {
  private readonly root: string;
  private readonly lockOptions: LockOptions;

  /** `lock` tunes putIfMatch's lock files (tests shorten the stale age). */
  constructor(dir: string, lock: Partial<LockOptions> = {}) {
    if (typeof dir !== 'string' || dir === '') throw new Error('filesystem bucket: directory must be a non-empty path');
    this.root = resolve(dir);
    this.lockOptions = { ...DEFAULT_LOCK_OPTIONS, ...lock };
  }

  private path(key: string): string {
    validateObjectKey(key);
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    this.path(key);
    if (!(body instanceof Uint8Array)) throw new Error(`put ${JSON.stringify(key)}: body must be a Uint8Array`);
    await this.write(key, async (h) => {
      await h.writeFile(body);
    });
  }

  /** Copies the file into a temp file beside the target (the source may be on another filesystem), then renames it. */
  async putFile(key: string, path: string): Promise<void> {
    this.path(key);
    if (typeof path !== 'string' || path === '') throw new Error(`putFile ${JSON.stringify(key)}: path must be a non-empty string`);
    // Fail before any temp file exists (and outside write's ENOENT retries).
    if (!(await stat(path)).isFile()) throw new Error(`putFile ${JSON.stringify(key)}: ${path} is not a regular file`);
    await this.write(key, async (_h, tmp) => {
      // Kernel-side copy into the temp file's inode (opened with truncation, so
      // the handle `write` syncs afterwards sees the copied bytes).
      await copyFile(path, tmp);
    });
  }

  /** Writes an object through a temp file: `fill` writes it (by handle or path), then fsync + rename. */
  private async write(key: string, fill: (h: FileHandle, tmp: string) => Promise<void>): Promise<void> {
    const target = this.path(key);
    const dir = dirname(target);
    // A concurrent delete may remove the (then empty) parent between mkdir and
    // open; retrying the whole sequence a few times closes that window.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.putOnce(key, target, dir, fill);
        return;
      } catch (err) {
        if (errCode(err) === 'ENOENT' && attempt < 5) continue;
        throw err;
      }
    }
  }

  private async putOnce(key: string, target: string, dir: string, fill: (h: FileHandle, tmp: string) => Promise<void>): Promise<void> {
    const firstCreated = await makeKeyDir(key, dir);
    const tmp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    let h: FileHandle | undefined = await open(tmp, 'wx', 0o644);
    try {
      await fill(h, tmp);
      await h.sync();
      await h.close();
      h = undefined;
      try {
        await rename(tmp, target);
      } catch (err) {
        const c = errCode(err);
        if (c === 'EISDIR' || c === 'ENOTEMPTY' || c === 'EEXIST' || c === 'ENOTDIR') {
          throw new Error(`put ${JSON.stringify(key)}: keys nested under this key exist (filesystem backend cannot hold both "a" and "a/b")`, { cause: err });
        }
        throw err;
      }
    } catch (err) {
      if (h) await h.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err;
    }

    // The rename is only durable once the directory entry is on disk; likewise
    // every directory mkdir created needs its entry in its parent synced.
    await fsyncDir(dir);
    await fsyncCreatedDirs(dir, firstCreated);
  }

  /** Creates the key's directory (durably) and takes its lock; a concurrent delete may remove the empty directory first, so retry. */
  private async lockKey(key: string, dir: string, name: string) {
    for (let attempt = 0; ; attempt++) {
      await fsyncCreatedDirs(dir, await makeKeyDir(key, dir));
      try {
        return await acquireLock(join(dir, LOCK_PREFIX + name), this.lockOptions);
      } catch (err) {
        if (errCode(err) === 'ENOENT' && attempt < 5) continue;
        throw err;
      }
    }
  }

  async getVersioned(key: string): Promise<VersionedObject> {
    const body = await this.get(key);
    return { body, version: contentVersion(body) };
  }

  /**
   * Compare-and-swap under the key's lock file (`.tmp-lock-<name>` beside the
   * object, hidden like temp files). Inside the lock: hash the current bytes,
   * compare with `expected`, then the usual temp + fsync + rename. The lock
   * makes check and rename one step for every putIfMatch caller on this
   * directory; the version is the content hash, so an object rewritten with
   * other bytes never matches an old token (rewriting identical bytes does, and
   * then nothing the caller read has changed).
   */
  async putIfMatch(key: string, body: Uint8Array, expected: string | null): Promise<string> {
    const target = this.path(key);
    if (!(body instanceof Uint8Array)) throw new Error(`putIfMatch ${JSON.stringify(key)}: body must be a Uint8Array`);
    const dir = dirname(target);
    const lock = await this.lockKey(key, dir, basename(target));
    try {
      let current: string | null = null;
      try {
        current = (await this.getVersioned(key)).version;
      } catch (err) {
        if (!(err instanceof ObjectNotFoundError)) throw err;
      }
      if (current !== expected) {
        throw new PreconditionFailedError(key, expected === null ? 'the object exists' : current === null ? 'the object does not exist' : 'the object has changed');
      }
      // A holder that stalled this long may have lost the lock to a taker-over:
      // let the caller re-read and retry instead of committing blind.
      try {
        lock.checkHeld();
      } catch (err) {
        throw new PreconditionFailedError(key, (err as Error).message);
      }
      await this.write(key, async (h) => {
        await h.writeFile(body);
      });
      return contentVersion(body);
    } finally {
      await lock.release();
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const h = await this.openObject(key);
    try {
      const size = (await h.stat()).size;
      if (size > MAX_LENGTH) {
        throw new Error(`get ${JSON.stringify(key)}: object is ${size} bytes, more than one buffer can hold; use getRange`);
      }
      return await readAt(h, 0, size);
    } finally {
      await h.close();
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    validateRange(offset, length);
    const h = await this.openObject(key);
    try {
      const size = (await h.stat()).size;
      const n = Math.max(0, Math.min(length, size - offset));
      return await readAt(h, offset, n);
    } finally {
      await h.close();
    }
  }

  /** Opens a key's file for reading; anything that is not a regular file is "not found". */
  private async openObject(key: string): Promise<FileHandle> {
    const p = this.path(key);
    let h: FileHandle;
    try {
      h = await open(p, 'r');
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFoundError(key);
      throw err;
    }
    try {
      const st = await h.stat();
      if (!st.isFile()) throw new ObjectNotFoundError(key);
    } catch (err) {
      await h.close();
      throw err;
    }
    return h;
  }

  async head(key: string): Promise<ObjectInfo> {
    const p = this.path(key);
    try {
      const st = await stat(p);
      if (!st.isFile()) throw new ObjectNotFoundError(key);
      return { key, size: st.size };
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFoundError(key);
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (typeof prefix !== 'string') throw new Error('list: prefix must be a string');
    // Start at the deepest directory the prefix pins down, so listing one
    // block does not walk the whole bucket. Only do so when that directory
    // part is itself a valid key path (a prefix like "../" must not escape).
    let startKey = '';
    const slash = prefix.lastIndexOf('/');
    if (slash > 0) {
      const dirPart = prefix.slice(0, slash);
      try {
        validateObjectKey(dirPart);
        startKey = dirPart + '/';
      } catch {
        return []; // no valid key can start with this prefix
      }
    }
    const out: ObjectInfo[] = [];
    await this.walk(startKey === '' ? this.root : join(this.root, ...startKey.slice(0, -1).split('/')), startKey, prefix, out);
    out.sort((a, b) => compareKeys(a.key, b.key));
    return out;
  }

  private async walk(dir: string, keyPrefix: string, prefix: string, out: ObjectInfo[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return; // directory vanished (or never existed)
      throw err;
    }
    await Promise.all(
      entries.map(async (e) => {
        if (e.name.startsWith(TEMP_PREFIX)) return;
        const key = keyPrefix + e.name;
        if (e.isDirectory()) {
          // Prune subtrees that cannot contain a match.
          const sub = key + '/';
          if (!(sub.startsWith(prefix) || prefix.startsWith(sub))) return;
          await this.walk(join(dir, e.name), sub, prefix, out);
        } else if (e.isFile()) {
          if (!key.startsWith(prefix)) return;
          try {
            out.push({ key, size: (await stat(join(dir, e.name))).size });
          } catch (err) {
            if (!isMissing(err)) throw err; // deleted while listing
          }
        }
      }),
    );
  }

  async delete(key: string): Promise<void> {
    const p = this.path(key);
    try {
      const st = await stat(p);
      if (!st.isFile()) return; // a directory of nested keys is not an object
      await unlink(p);
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    // Best effort: drop parents that became empty so deleted blocks leave no
    // directory litter; stop at the first one still in use.
    let d = dirname(p);
    while (d !== this.root && d.startsWith(this.root + sep)) {
      try {
        await rmdir(d);
      } catch {
        break;
      }
      d = dirname(d);
    }
    await fsyncDir(d).catch(() => undefined);
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }
}

/** Reads exactly `n` bytes at `pos` (fewer only if the file shrank). */
async function readAt(h: FileHandle, pos: number, n: number): Promise<Uint8Array> {
  const buf = Buffer.allocUnsafe(n);
  let done = 0;
  while (done < n) {
    const { bytesRead } = await h.read(buf, done, n - done, pos + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === n ? buf : buf.subarray(0, done);
}

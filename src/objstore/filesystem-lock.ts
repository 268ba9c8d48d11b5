// An exclusive lock on one object of the filesystem bucket, shared by every
// process that uses the same directory: a lock file created with O_EXCL
// ('wx'). Creating a file that must not exist is atomic on local POSIX
// filesystems, so exactly one process gets it; the others wait and retry.
//
// A holder that dies leaves its lock file behind. It is taken over when it is
// stale: its process is gone (same host, checked with kill(pid, 0)) or the
// file is older than `staleMs`. The holder only keeps the lock for a read, a
// hash and one temp-file write + rename (milliseconds), and it refuses to
// commit once it has held the lock for half of `staleMs`, so a live holder is
// never mistaken for a dead one unless it stalls for that long.
//
// Limits (see docs/object-storage.md): all processes must see the directory
// through a filesystem with atomic O_EXCL create and rename (local disks; NFS
// v3 and some network filesystems do not guarantee it), clocks of hosts that
// share the directory must roughly agree (ages come from file mtimes), and a
// pid is only checked when the lock was taken on this host.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';

/** Prefix every lock-related file name starts with; the bucket hides it like its temp files. */
export const LOCK_PREFIX = '.tmp-lock-';

export interface LockOptions {
  /** A lock older than this is taken over even if its host may still be alive. */
  staleMs: number;
  /** How long acquire waits for a live holder before it gives up. */
  timeoutMs: number;
}

export const DEFAULT_LOCK_OPTIONS: LockOptions = { staleMs: 30_000, timeoutMs: 10_000 };

interface LockContent {
  pid: number;
  host: string;
  nonce: string;
}

export interface HeldLock {
  /** Throws unless the lock is still safely ours (held for less than half of staleMs). */
  checkHeld(): void;
  release(): Promise<void>;
}

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function parse(text: string): LockContent | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockContent>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.nonce === 'string') return v as LockContent;
  } catch {
    // A lock file whose writer has not written it yet (or died before): judged by age only.
  }
  return undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return errCode(err) !== 'ESRCH';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes the lock file at `path` (its directory must exist). */
export async function acquireLock(path: string, opts: LockOptions = DEFAULT_LOCK_OPTIONS): Promise<HeldLock> {
  const me: LockContent = { pid: process.pid, host: hostname(), nonce: randomBytes(12).toString('hex') };
  const deadline = Date.now() + opts.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const h = await open(path, 'wx', 0o644);
      try {
        await h.writeFile(JSON.stringify(me));
      } finally {
        await h.close();
      }
      return heldLock(path, me, Date.now(), opts);
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    if (await breakIfStale(path, opts)) continue;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for lock ${path} (held by a live process; remove the file if it is not)`);
    }
    // Jittered backoff: holders keep the lock for milliseconds.
    await sleep(Math.min(50, 2 + attempt * 2) * (0.5 + Math.random()));
  }
}

function heldLock(path: string, me: LockContent, acquiredAt: number, opts: LockOptions): HeldLock {
  return {
    checkHeld() {
      const held = Date.now() - acquiredAt;
      if (held > opts.staleMs / 2) throw new Error(`held lock ${path} for ${held} ms, too close to the ${opts.staleMs} ms after which others take it over`);
    },
    async release() {
      // Only remove our own lock: after a long stall it may have been taken over.
      const text = await readFile(path, 'utf8').catch(() => '');
      if (parse(text)?.nonce === me.nonce) await unlink(path).catch(() => undefined);
    },
  };
}

/**
 * Removes the lock at `path` if it is stale; returns whether the caller should
 * retry at once. Two processes may judge the same stale lock at once: each
 * moves it aside by rename (atomic, one of them wins) and checks the moved file
 * is the one it judged (same inode and content); a process that moved a fresh
 * lock instead puts it back with link(), which never replaces a newer lock.
 */
async function breakIfStale(path: string, opts: LockOptions): Promise<boolean> {
  let judged: { ino: number; text: string };
  try {
    const st = await stat(path);
    const text = await readFile(path, 'utf8');
    const content = parse(text);
    const old = Date.now() - st.mtimeMs > opts.staleMs;
    const dead = content !== undefined && content.host === hostname() && !pidAlive(content.pid);
    if (!old && !dead) return false;
    judged = { ino: st.ino, text };
  } catch (err) {
    if (errCode(err) === 'ENOENT') return true; // released meanwhile
    throw err;
  }
  const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return true; // someone else moved it
    throw err;
  }
  const st = await stat(aside);
  const text = await readFile(aside, 'utf8');
  if (st.ino !== judged.ino || text !== judged.text) {
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
  return true;
}

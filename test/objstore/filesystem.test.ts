import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, readFile, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ObjectNotFoundError, PreconditionFailedError } from '../../src/objstore/bucket.js';
import { createBucket } from '../../src/objstore/create.js';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { S3Bucket } from '../../src/objstore/s3.js';
import { bucketConformance, pattern } from './conformance.js';
import { readCounter } from './cas-counter.js';
import { generationObject } from './crash-child.js';

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'kiln-fsbucket-'));
  temps.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

/** Every path under dir, relative, sorted (directories end with '/'). */
async function tree(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1) + (e.isDirectory() ? '/' : ''))
    .sort();
}

// A fresh bucket in a not-yet-existing subdirectory, to prove put creates it.
bucketConformance('filesystem', async () => new FilesystemBucket(join(await tempDir(), 'bucket')));

describe('FilesystemBucket', () => {
  it('stores each object as a plain file under its key path', async () => {
    const dir = join(await tempDir(), 'b');
    const b = new FilesystemBucket(dir);
    await b.put('segments/1/anonymous/01ABC/block.bin', pattern(100));
    expect(await tree(dir)).toEqual([
      'segments/',
      'segments/1/',
      'segments/1/anonymous/',
      'segments/1/anonymous/01ABC/',
      'segments/1/anonymous/01ABC/block.bin',
    ]);
    const onDisk = await readFile(join(dir, 'segments/1/anonymous/01ABC/block.bin'));
    expect(onDisk.equals(Buffer.from(pattern(100)))).toBe(true);
  });

  it('rejects invalid keys and writes nothing outside its directory', async () => {
    const parent = await tempDir();
    const dir = join(parent, 'bucket');
    await mkdir(dir);
    await writeFile(join(parent, 'secret'), 'do not read');
    const b = new FilesystemBucket(dir);
    for (const k of ['../x', '/etc/x', 'a//b', 'a/./b', '../secret', 'a/../../x', '..', 'a\\..\\x']) {
      await expect(b.put(k, new Uint8Array([1])), k).rejects.toThrow(`invalid object key ${JSON.stringify(k)}`);
    }
    await expect(b.get('../secret')).rejects.toThrow(/invalid object key "..\/secret": "\.\." segments/);
    await expect(b.put('/etc/x', new Uint8Array(1))).rejects.toThrow(/absolute/);
    await expect(b.put('a//b', new Uint8Array(1))).rejects.toThrow(/empty path segment/);
    expect(await tree(parent)).toEqual(['bucket/', 'secret']);
    expect(existsSync('/etc/x')).toBe(false);
    expect(await readFile(join(parent, 'secret'), 'utf8')).toBe('do not read');
  });

  it('rejects a body that is not bytes', async () => {
    const b = new FilesystemBucket(await tempDir());
    await expect(b.put('k', 'text' as unknown as Uint8Array)).rejects.toThrow(/body must be a Uint8Array/);
  });

  it('gives clear errors when a key and a nested key collide', async () => {
    const b = new FilesystemBucket(await tempDir());
    await b.put('a/b', new Uint8Array([1]));
    await expect(b.put('a', new Uint8Array([2]))).rejects.toThrow(/cannot hold both "a" and "a\/b"/);
    await b.put('x', new Uint8Array([1]));
    await expect(b.put('x/y', new Uint8Array([2]))).rejects.toThrow(/cannot hold both "a" and "a\/b"/);
    expect((await b.list('')).map((o) => o.key)).toEqual(['a/b', 'x']);
  });

  it('leaves no temp file behind after a failed put', async () => {
    const dir = await tempDir();
    const b = new FilesystemBucket(dir);
    await b.put('a/b', new Uint8Array([1]));
    await expect(b.put('a', new Uint8Array([2]))).rejects.toThrow();
    expect(await tree(dir)).toEqual(['a/', 'a/b']);
  });

  it('hides temp files of interrupted writes from list, get and head', async () => {
    const dir = await tempDir();
    const b = new FilesystemBucket(dir);
    await b.put('blk/1', new Uint8Array([1]));
    await writeFile(join(dir, 'blk', '.tmp-deadbeef'), 'partial');
    await writeFile(join(dir, '.tmp-0001'), 'partial');
    expect(await b.list('')).toEqual([{ key: 'blk/1', size: 1 }]);
    expect(await b.list('blk/.tmp')).toEqual([]);
  });

  it('removes directories emptied by delete, but not the bucket root', async () => {
    const dir = join(await tempDir(), 'root');
    const b = new FilesystemBucket(dir);
    await b.put('a/b/c/1', new Uint8Array([1]));
    await b.put('a/x', new Uint8Array([2]));
    await b.delete('a/b/c/1');
    expect(await tree(dir)).toEqual(['a/', 'a/x']);
    await b.delete('a/x');
    expect(await tree(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(true);
  });

  it('lists from the directory the prefix names and handles a missing root', async () => {
    const b = new FilesystemBucket(join(await tempDir(), 'never-created'));
    expect(await b.list('')).toEqual([]);
    expect(await b.list('a/b/')).toEqual([]);
    await expectNotFoundAsync(b.get('x'));
  });

  it('reads a range without reading the whole file', async () => {
    const dir = await tempDir();
    const b = new FilesystemBucket(dir);
    await b.put('huge', pattern(16));
    // Grow the file (sparsely) past what a Buffer can hold: a whole-file read
    // fails, so only a positioned read of the range can succeed.
    const size = 5 * 1024 * 1024 * 1024;
    await truncate(join(dir, 'huge'), size);
    expect(await b.head('huge')).toEqual({ key: 'huge', size });
    await expect(b.get('huge')).rejects.toThrow(/get "huge": object is 5368709120 bytes, more than one buffer can hold; use getRange/);
    expect([...(await b.getRange('huge', 0, 16))]).toEqual([...pattern(16)]);
    expect([...(await b.getRange('huge', size - 4, 100))]).toEqual([0, 0, 0, 0]);
    expect((await b.getRange('huge', size, 100)).length).toBe(0);
  });

  it('never shows a torn object when the writer is killed with SIGKILL', async () => {
    const dir = await tempDir();
    const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
    const base = 8 * 1024 * 1024;
    let maxAcked = 0;
    for (let round = 0; round < 3; round++) {
      const acked = await runAndKill(child, dir, base, round);
      maxAcked = Math.max(maxAcked, acked);
      const b = new FilesystemBucket(dir);
      let got: Uint8Array | undefined;
      try {
        got = await b.get('crash/obj');
      } catch (err) {
        expect(err).toBeInstanceOf(ObjectNotFoundError);
      }
      if (acked > 0) expect(got, 'an acknowledged put must stay visible').toBeDefined();
      if (got) {
        const gen = new DataView(got.buffer, got.byteOffset).getUint32(0);
        expect(gen).toBeGreaterThanOrEqual(acked); // never older than the last ack
        const want = generationObject(gen, base);
        expect(got.length).toBe(want.length);
        expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
      }
      const listed = await b.list('');
      expect(listed.every((o) => !o.key.includes('.tmp-'))).toBe(true);
      expect(listed).toEqual(got ? [{ key: 'crash/obj', size: got.length }] : []);
    }
    expect(maxAcked).toBeGreaterThan(0); // the child really was writing
  });
});

describe('FilesystemBucket.putIfMatch lock', () => {
  /** A pid that certainly belongs to no process: a child that has exited. */
  async function deadPid(): Promise<number> {
    const p = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => p.once('exit', r));
    return p.pid!;
  }

  it('loses no increment when three processes race on one object', async () => {
    const dir = await tempDir();
    const child = fileURLToPath(new URL('./cas-child.ts', import.meta.url));
    const n = 25;
    const outs = await Promise.all([0, 1, 2].map(() => new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', child, dir, String(n)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (c: Buffer) => (out += c.toString()));
      p.stderr.on('data', (c: Buffer) => (err += c.toString()));
      p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`cas child exited ${code}: ${err}`))));
    })));
    expect(outs.every((o) => /^done \d+\n$/.test(o))).toBe(true);
    expect((await readCounter(new FilesystemBucket(dir), 'shared/counter')).n).toBe(3 * n);
    expect(await tree(dir)).toEqual(['shared/', 'shared/counter']); // no lock or temp file left
  }, 60_000);

  it('takes over the lock of a dead process on this host at once', async () => {
    const dir = await tempDir();
    const b = new FilesystemBucket(dir, { timeoutMs: 2000 });
    await mkdir(join(dir, 't'));
    await writeFile(join(dir, 't', '.tmp-lock-k'), JSON.stringify({ pid: await deadPid(), host: hostname(), nonce: 'x' }));
    await b.putIfMatch('t/k', new Uint8Array([1]), null);
    expect(await tree(dir)).toEqual(['t/', 't/k']);
  });

  it('takes over a lock older than the stale age, whoever holds it', async () => {
    const dir = await tempDir();
    const b = new FilesystemBucket(dir, { staleMs: 1000, timeoutMs: 3000 });
    await mkdir(join(dir, 't'));
    const lock = join(dir, 't', '.tmp-lock-k');
    await writeFile(lock, JSON.stringify({ pid: 1, host: 'another-host', nonce: 'x' }));
    const old = new Date(Date.now() - 5000);
    await utimes(lock, old, old);
    await b.putIfMatch('t/k', new Uint8Array([1]), null);
    // A half-written lock file (its writer died before writing) is judged by age too.
    await writeFile(lock, '');
    await utimes(lock, old, old);
    const v = (await b.getVersioned('t/k')).version;
    await b.putIfMatch('t/k', new Uint8Array([2]), v);
    expect([...(await b.get('t/k'))]).toEqual([2]);
  });

  it('waits for a live holder and gives up with a clear error', async () => {
    const dir = await tempDir();
    const b = new FilesystemBucket(dir, { timeoutMs: 300 });
    await mkdir(join(dir, 't'));
    // This very process holds it: alive, on this host, fresh.
    await writeFile(join(dir, 't', '.tmp-lock-k'), JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'x' }));
    await expect(b.putIfMatch('t/k', new Uint8Array([1]), null)).rejects.toThrow(/timed out after 300 ms waiting for lock .*\.tmp-lock-k/);
    await expectNotFoundAsync(b.get('t/k'));
  });

  it('says why a version did not match', async () => {
    const b = new FilesystemBucket(await tempDir());
    await expect(b.putIfMatch('k', new Uint8Array([1]), 'sha256:00')).rejects.toThrow(/precondition failed for k: the object does not exist/);
    await b.putIfMatch('k', new Uint8Array([1]), null);
    await expect(b.putIfMatch('k', new Uint8Array([1]), null)).rejects.toThrow(PreconditionFailedError);
    await expect(b.putIfMatch('k', new Uint8Array([1]), 'sha256:00')).rejects.toThrow(/the object has changed/);
  });
});

async function expectNotFoundAsync(p: Promise<unknown>): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(ObjectNotFoundError);
}

/** Starts the crash child, lets it complete a put or two, SIGKILLs it mid-write; returns the last acked generation. */
function runAndKill(script: string, dir: string, base: number, round: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', script, dir, String(base)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let acked = 0;
    let out = '';
    let err = '';
    let killing = false;
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (s: string) => {
      out += s;
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const l of lines) {
        const m = /^put (\d+)$/.exec(l);
        if (m) acked = Number(m[1]);
      }
      if (acked >= 1 && !killing) {
        killing = true;
        // Vary the moment of the kill between rounds so it lands inside
        // different phases of a put (write, fsync, rename).
        setTimeout(() => p.kill('SIGKILL'), 3 + round * 7 + Math.floor(Math.random() * 10));
      }
    });
    p.stderr.on('data', (s: Buffer) => (err += s.toString()));
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`crash child exited early (code ${code}): ${err}`));
    });
  });
}

describe('createBucket', () => {
  const s3 = {
    endpoint: 'http://127.0.0.1:1',
    bucket: 'b',
    region: 'us-east-1',
    accessKeyId: '',
    secretAccessKey: '',
    forcePathStyle: true,
  };

  it('builds the backend the options name', async () => {
    const dir = await tempDir();
    const fsb = createBucket({ backend: 'filesystem', filesystem: { dir }, s3 });
    expect(fsb).toBeInstanceOf(FilesystemBucket);
    await fsb.put('k', new Uint8Array([5]));
    expect(await readFile(join(dir, 'k'))).toEqual(Buffer.from([5]));
    const s3b = createBucket({ backend: 's3', filesystem: { dir }, s3 });
    expect(s3b).toBeInstanceOf(S3Bucket);
    await s3b.close();
  });

  it('rejects bad options with clear errors', () => {
    expect(() => createBucket({ backend: 'gcs' as 's3', filesystem: { dir: 'x' }, s3 })).toThrow(
      /unknown storage backend "gcs"/,
    );
    expect(() => createBucket({ backend: 'filesystem', filesystem: { dir: '' }, s3 })).toThrow(/non-empty path/);
    expect(() => createBucket({ backend: 's3', filesystem: { dir: 'x' }, s3: { ...s3, bucket: '' } })).toThrow(
      /bucket name is required/,
    );
    expect(() => createBucket({ backend: 's3', filesystem: { dir: 'x' }, s3: { ...s3, endpoint: 'not a url' } })).toThrow(
      /invalid endpoint URL/,
    );
    expect(() =>
      createBucket({ backend: 's3', filesystem: { dir: 'x' }, s3: { ...s3, accessKeyId: 'k', secretAccessKey: '' } }),
    ).toThrow(/both access key id and secret/);
  });
});

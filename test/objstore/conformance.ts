// The behaviour every Bucket backend must share. Each backend's test file calls
// bucketConformance() with a factory that returns a fresh, empty bucket.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ObjectNotFoundError, PreconditionFailedError, type Bucket } from '../../src/objstore/bucket.js';
import { casIncrement, readCounter } from './cas-counter.js';

export type BucketFactory = () => Promise<Bucket>;

/** Known defects of a test server (not of the backend) that a run must skip. */
export interface ServerQuirks {
  /**
   * False when the server cannot answer a Range GET on a 0-byte object.
   * s3rver announces Content-Length 1, sends nothing and the connection is
   * reset; real S3 answers 416, which S3Bucket maps to an empty result.
   */
  rangeOnEmptyObject?: boolean;
  /**
   * False when concurrent PUTs of one key can leave a mix of them. s3rver
   * streams each PUT into the same file, so racing PUTs interleave; S3 and the
   * filesystem bucket (temp file + rename) keep exactly one of them.
   */
  atomicConcurrentPuts?: boolean;
  /**
   * False when the server ignores If-Match / If-None-Match on PutObject
   * (s3rver), so putIfMatch cannot be checked against it. AWS S3 and MinIO
   * honour both; the filesystem bucket implements them with a lock file.
   */
  conditionalWrites?: boolean;
}

/** Deterministic non-trivial bytes: position i holds (i * 31 + 7) mod 256. */
export function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

async function expectNotFound(p: Promise<unknown>, key: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ObjectNotFoundError);
  expect((err as ObjectNotFoundError).key).toBe(key);
}

export function bucketConformance(name: string, factory: BucketFactory, quirks: ServerQuirks = {}): void {
  describe(`Bucket conformance: ${name}`, () => {
    let open: Bucket[] = [];
    const fresh = async (): Promise<Bucket> => {
      const b = await factory();
      open.push(b);
      return b;
    };
    afterEach(async () => {
      await Promise.all(open.map((b) => b.close()));
      open = [];
    });

    it('round-trips empty, binary and 3 MB objects', async () => {
      const b = await fresh();
      const all = new Uint8Array(256).map((_, i) => i); // every byte value, incl. NUL and 0xff
      const big = new Uint8Array(randomBytes(3 * 1024 * 1024));
      await b.put('empty', new Uint8Array(0));
      await b.put('bin/all-bytes', all);
      await b.put('big/object.bin', big);
      const gotEmpty = await b.get('empty');
      expect(gotEmpty).toBeInstanceOf(Uint8Array);
      expect(gotEmpty.length).toBe(0);
      expect(Buffer.from(await b.get('bin/all-bytes')).equals(Buffer.from(all))).toBe(true);
      const gotBig = await b.get('big/object.bin');
      expect(gotBig.length).toBe(big.length);
      expect(Buffer.from(gotBig).equals(Buffer.from(big))).toBe(true);
    });

    it('overwrites an object with a shorter one', async () => {
      const b = await fresh();
      await b.put('k', pattern(5000));
      await b.put('k', new Uint8Array([1, 2, 3]));
      expect([...(await b.get('k'))]).toEqual([1, 2, 3]);
      expect(await b.head('k')).toEqual({ key: 'k', size: 3 });
      expect(await b.list('')).toEqual([{ key: 'k', size: 3 }]);
    });

    if (quirks.atomicConcurrentPuts === false) console.log(`${name}: skipping the concurrent-puts check: this server interleaves racing PUTs of one key`);
    it.skipIf(quirks.atomicConcurrentPuts === false)('keeps one intact version under concurrent puts of one key', async () => {
      const b = await fresh();
      const versions = [1, 2, 3, 4].map((v) => new Uint8Array(200_000 + v).fill(v));
      await Promise.all(versions.map((v) => b.put('race', v)));
      const got = await b.get('race');
      const v = got[0]!;
      expect(got.length).toBe(200_000 + v);
      expect(got.every((x) => x === v)).toBe(true);
    });

    it('reads ranges: start, middle, end, past end, zero length', async () => {
      const b = await fresh();
      const data = pattern(1000);
      await b.put('r', data);
      const range = async (off: number, len: number) => [...(await b.getRange('r', off, len))];
      expect(await range(0, 10)).toEqual([...data.subarray(0, 10)]);
      expect(await range(400, 123)).toEqual([...data.subarray(400, 523)]);
      expect(await range(990, 10)).toEqual([...data.subarray(990, 1000)]);
      expect(await range(995, 10)).toEqual([...data.subarray(995, 1000)]); // clamped
      expect(await range(0, 1000)).toEqual([...data]);
      expect(await range(0, 5000)).toEqual([...data]);
      expect(await range(1000, 10)).toEqual([]); // starts exactly at the end
      expect(await range(5000, 10)).toEqual([]);
      expect(await range(10, 0)).toEqual([]);
      expect(await range(999, 1)).toEqual([data[999]]);
    });

    it('reads ranges of empty and large objects', async () => {
      const b = await fresh();
      await b.put('e', new Uint8Array(0));
      if (quirks.rangeOnEmptyObject !== false) expect((await b.getRange('e', 0, 10)).length).toBe(0);
      expect((await b.getRange('e', 0, 0)).length).toBe(0);
      expect((await b.getRange('e', 5, 10)).length).toBe(0);
      const big = pattern(3 * 1024 * 1024 + 17);
      await b.put('big', big);
      const off = 2 * 1024 * 1024 + 5;
      const got = await b.getRange('big', off, 70_000);
      expect(Buffer.from(got).equals(Buffer.from(big.subarray(off, off + 70_000)))).toBe(true);
    });

    it('rejects invalid ranges with a clear error', async () => {
      const b = await fresh();
      await b.put('r', pattern(10));
      await expect(b.getRange('r', -1, 5)).rejects.toThrow(/invalid range offset/);
      await expect(b.getRange('r', 1.5, 5)).rejects.toThrow(/invalid range offset/);
      await expect(b.getRange('r', 0, -2)).rejects.toThrow(/invalid range length/);
      await expect(b.getRange('r', 0, Number.NaN)).rejects.toThrow(/invalid range length/);
    });

    it('reports sizes with head', async () => {
      const b = await fresh();
      await b.put('s/0', new Uint8Array(0));
      await b.put('s/1', new Uint8Array(1));
      await b.put('s/big', pattern(1_234_567));
      expect(await b.head('s/0')).toEqual({ key: 's/0', size: 0 });
      expect(await b.head('s/1')).toEqual({ key: 's/1', size: 1 });
      expect(await b.head('s/big')).toEqual({ key: 's/big', size: 1_234_567 });
    });

    it('lists by plain string prefix, sorted, with sizes', async () => {
      const b = await fresh();
      const keys = ['a/x/y', 'b', 'a/b/d', 'ab/c', 'a/bc', 'a/b/c', 'a/b/e/f'];
      for (const [i, k] of keys.entries()) await b.put(k, new Uint8Array(i + 1));
      const size = (k: string) => keys.indexOf(k) + 1;
      const list = async (p: string) => (await b.list(p)).map((o) => o.key);
      expect(await list('')).toEqual(['a/b/c', 'a/b/d', 'a/b/e/f', 'a/bc', 'a/x/y', 'ab/c', 'b']);
      expect(await list('a/')).toEqual(['a/b/c', 'a/b/d', 'a/b/e/f', 'a/bc', 'a/x/y']);
      expect(await list('a/b')).toEqual(['a/b/c', 'a/b/d', 'a/b/e/f', 'a/bc']); // mid-segment
      expect(await list('a/b/')).toEqual(['a/b/c', 'a/b/d', 'a/b/e/f']);
      expect(await list('a/b/e/f')).toEqual(['a/b/e/f']); // exact key
      expect(await list('a')).toEqual(['a/b/c', 'a/b/d', 'a/b/e/f', 'a/bc', 'a/x/y', 'ab/c']);
      expect(await list('zzz')).toEqual([]);
      expect(await list('a/q/')).toEqual([]);
      expect(await list('../')).toEqual([]);
      for (const o of await b.list('')) expect(o.size).toBe(size(o.key));
    });

    it('lists in UTF-8 byte order', async () => {
      const b = await fresh();
      // UTF-16 order would put the emoji (surrogate 0xD83D) before U+FF21.
      const keys = ['u/\u{1F600}', 'u/\uFF21', 'u/z', 'u/A', 'u/\u00e9'];
      for (const k of keys) await b.put(k, new Uint8Array([1]));
      expect((await b.list('u/')).map((o) => o.key)).toEqual(['u/A', 'u/z', 'u/\u00e9', 'u/\uFF21', 'u/\u{1F600}']);
    });

    it('lists many keys across pages', async () => {
      const b = await fresh();
      const keys: string[] = [];
      for (let i = 0; i < 40; i++) keys.push(`p/${String(i).padStart(3, '0')}`);
      // Insert out of order; add neighbours that must not match.
      const shuffled = [...keys].reverse();
      await Promise.all(shuffled.map((k) => b.put(k, new Uint8Array([7]))));
      await b.put('o/1', new Uint8Array(1));
      await b.put('q/1', new Uint8Array(1));
      const got = await b.list('p/');
      expect(got.map((o) => o.key)).toEqual(keys);
      expect(got.every((o) => o.size === 1)).toBe(true);
      expect((await b.list('')).length).toBe(42);
    });

    it('deletes objects; deleting a missing key is fine', async () => {
      const b = await fresh();
      await b.put('d/a/1', new Uint8Array([1]));
      await b.put('d/a/2', new Uint8Array([2]));
      await b.put('d/b', new Uint8Array([3]));
      await b.delete('d/a/1');
      await expectNotFound(b.get('d/a/1'), 'd/a/1');
      expect((await b.list('d/')).map((o) => o.key)).toEqual(['d/a/2', 'd/b']);
      await b.delete('d/a/1'); // again
      await b.delete('never/existed');
      await b.delete('d/a'); // a "directory", not an object
      expect([...(await b.get('d/a/2'))]).toEqual([2]);
      await b.delete('d/a/2');
      await b.delete('d/b');
      expect(await b.list('')).toEqual([]);
      // The key is usable again after deletion.
      await b.put('d/a/1', new Uint8Array([9]));
      expect([...(await b.get('d/a/1'))]).toEqual([9]);
    });

    it('throws ObjectNotFoundError for missing keys', async () => {
      const b = await fresh();
      await b.put('present/x', new Uint8Array([1]));
      await expectNotFound(b.get('missing'), 'missing');
      await expectNotFound(b.getRange('missing', 0, 10), 'missing');
      await expectNotFound(b.getRange('missing', 0, 0), 'missing');
      await expectNotFound(b.head('missing'), 'missing');
      // A prefix of existing keys is not an object either.
      await expectNotFound(b.get('present'), 'present');
      await expectNotFound(b.head('present'), 'present');
      await expectNotFound(b.getRange('present', 0, 1), 'present');
    });

    it('putFile stores a local file (empty, small, 3 MB) like put, and overwrites', async () => {
      const b = await fresh();
      if (b.putFile === undefined) return;
      const dir = await mkdtemp(join(tmpdir(), 'kiln-putfile-'));
      try {
        const big = new Uint8Array(randomBytes(3 * 1024 * 1024));
        const cases: [string, Uint8Array][] = [['f/empty', new Uint8Array(0)], ['f/small', pattern(1000)], ['f/big', big]];
        for (const [i, [key, bytes]] of cases.entries()) {
          const path = join(dir, `src-${i}`);
          await writeFile(path, bytes);
          await b.putFile(key, path);
          expect(Buffer.from(await b.get(key)).equals(Buffer.from(bytes)), key).toBe(true);
          expect((await b.head(key)).size).toBe(bytes.length);
        }
        await writeFile(join(dir, 'shorter'), pattern(10));
        await b.putFile('f/big', join(dir, 'shorter'));
        expect([...(await b.get('f/big'))]).toEqual([...pattern(10)]);
        expect((await b.list('f/')).map((o) => o.key)).toEqual(['f/big', 'f/empty', 'f/small']);
        await expect(b.putFile('f/x', join(dir, 'missing'))).rejects.toThrow(/ENOENT|no such file/);
        await expect(b.putFile('../x', join(dir, 'shorter'))).rejects.toThrow(/^invalid object key/);
        await expect(b.head('f/x')).rejects.toBeInstanceOf(ObjectNotFoundError);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('rejects invalid keys with a clear error', async () => {
      const b = await fresh();
      const bad = ['', '/etc/x', '../x', 'a/../../x', 'a//b', 'a/./b', './a', 'a/', 'a\\b', 'a\0b', '.tmp-x', 'd/.tmp-1'];
      for (const k of bad) {
        await expect(b.put(k, new Uint8Array([1])), JSON.stringify(k)).rejects.toThrow(/^invalid object key/);
        await expect(b.get(k), JSON.stringify(k)).rejects.toThrow(/^invalid object key/);
        await expect(b.getRange(k, 0, 1), JSON.stringify(k)).rejects.toThrow(/^invalid object key/);
        await expect(b.head(k), JSON.stringify(k)).rejects.toThrow(/^invalid object key/);
        await expect(b.delete(k), JSON.stringify(k)).rejects.toThrow(/^invalid object key/);
      }
      expect(await b.list('')).toEqual([]);
    });
    if (quirks.conditionalWrites === false) console.log(`${name}: skipping the putIfMatch checks: this server ignores If-Match / If-None-Match`);
    describe.skipIf(quirks.conditionalWrites === false)('conditional writes (getVersioned + putIfMatch)', () => {
      it('creates only when absent and replaces only the version read', async () => {
        const b = await fresh();
        if (!b.getVersioned || !b.putIfMatch) throw new Error(`${name} does not implement conditional writes`);
        await expectNotFound(b.getVersioned('c/k'), 'c/k');
        const v1 = await b.putIfMatch('c/k', new Uint8Array([1]), null);
        const read1 = await b.getVersioned('c/k');
        expect([...read1.body]).toEqual([1]);
        expect(read1.version).toBe(v1);
        // Creating again fails and changes nothing.
        await expect(b.putIfMatch('c/k', new Uint8Array([9]), null)).rejects.toBeInstanceOf(PreconditionFailedError);
        const v2 = await b.putIfMatch('c/k', new Uint8Array([2, 2]), v1);
        expect(v2).not.toBe(v1);
        // The old version no longer matches.
        const err = await b.putIfMatch('c/k', new Uint8Array([3]), v1).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PreconditionFailedError);
        expect((err as PreconditionFailedError).key).toBe('c/k');
        expect([...(await b.get('c/k'))]).toEqual([2, 2]);
        expect((await b.getVersioned('c/k')).version).toBe(v2);
        // A deleted object does not match any version.
        await b.delete('c/k');
        await expect(b.putIfMatch('c/k', new Uint8Array([4]), v2)).rejects.toBeInstanceOf(PreconditionFailedError);
        await expectNotFound(b.get('c/k'), 'c/k');
        // Lock or temp files never show up as objects.
        await b.putIfMatch('c/k', new Uint8Array([5]), null);
        expect(await b.list('')).toEqual([{ key: 'c/k', size: 1 }]);
        await expect(b.putIfMatch('../x', new Uint8Array([1]), null)).rejects.toThrow(/^invalid object key/);
      });

      it('lets exactly one of many writers of the same version win', async () => {
        const b = await fresh();
        const v = await b.putIfMatch!('race/k', Buffer.from('base'), null);
        const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => b.putIfMatch!('race/k', Buffer.from(`writer-${i}`), v)));
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won.length).toBe(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(PreconditionFailedError);
        expect(Buffer.from(await b.get('race/k')).toString()).toMatch(/^writer-\d$/);
      });

      it('loses no increment when writers race with read + putIfMatch + retry', async () => {
        const b = await fresh();
        const writers = 5;
        const each = 8;
        await Promise.all(Array.from({ length: writers }, async () => {
          for (let i = 0; i < each; i++) await casIncrement(b, 'count/k');
        }));
        expect((await readCounter(b, 'count/k')).n).toBe(writers * each);
      });
    });
  });
}

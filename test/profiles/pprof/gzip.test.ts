import { randomBytes } from 'node:crypto';
import { gzipSync, createGzip } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DecompressedTooLargeError,
  gunzipBounded,
  GzipError,
  isGzip,
} from '../../../src/profiles/pprof/gzip.js';

/** Gzips `total` zero bytes by streaming fixed chunks, never holding the plain text. */
async function zeroBomb(total: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  const chunk = Buffer.alloc(1 << 20);
  for (let written = 0; written < total; written += chunk.length) {
    if (!gz.write(chunk)) await new Promise((r) => gz.once('drain', r));
  }
  gz.end();
  await ended;
  return Buffer.concat(out);
}

describe('gzip', () => {
  it('stops a bomb small enough for the synchronous path (under 64 KiB gzipped) at the limit', async () => {
    const bomb = gzipSync(new Uint8Array(40 * 1024 * 1024), { level: 9 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    await expect(gunzipBounded(bomb, 1024 * 1024)).rejects.toThrow(DecompressedTooLargeError);
    await expect(gunzipBounded(bomb.subarray(0, bomb.length - 9), 64 * 1024 * 1024)).rejects.toThrow(GzipError);
    expect((await gunzipBounded(bomb, 64 * 1024 * 1024)).length).toBe(40 * 1024 * 1024);
  });

  const text = Buffer.from('pprof bytes '.repeat(1000));

  it('detects the gzip magic', () => {
    expect(isGzip(gzipSync(text))).toBe(true);
    expect(isGzip(Uint8Array.from([0x1f, 0x8b]))).toBe(true);
    expect(isGzip(Uint8Array.from([0x1f]))).toBe(false);
    expect(isGzip(Uint8Array.from([0x0a, 0x04]))).toBe(false);
    expect(isGzip(new Uint8Array(0))).toBe(false);
  });

  it('round-trips, including concatenated members', async () => {
    expect(Buffer.from(await gunzipBounded(gzipSync(text), 1 << 20))).toEqual(text);
    const two = Buffer.concat([gzipSync(Buffer.from('first;')), gzipSync(Buffer.from('second'))]);
    expect(Buffer.from(await gunzipBounded(two, 100)).toString()).toBe('first;second');
  });

  it('allows output of exactly maxBytes and rejects one byte more', async () => {
    const gz = gzipSync(text);
    expect((await gunzipBounded(gz, text.length)).length).toBe(text.length);
    const err = await gunzipBounded(gz, text.length - 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecompressedTooLargeError);
    expect((err as Error).message).toBe(`decompressed profile exceeds the limit of ${text.length - 1} bytes`);
  });

  it('reports corrupt and truncated data as GzipError', async () => {
    const gz = gzipSync(text);
    const corrupt = Buffer.from(gz);
    corrupt[12] ^= 0xff;
    for (const bad of [corrupt, gz.subarray(0, gz.length - 6), gz.subarray(0, 2), Buffer.concat([gz, Buffer.from('trailing junk')])]) {
      const err = await gunzipBounded(bad, 1 << 20).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GzipError);
      expect((err as Error).message).toMatch(/^invalid gzip data: \S/);
    }
  });

  /** gz with its trailer's ISIZE (the size it declares) replaced. */
  const declaring = (gz: Uint8Array, size: number): Buffer => {
    const copy = Buffer.from(gz);
    copy.writeUInt32LE(size >>> 0, copy.length - 4);
    return copy;
  };

  it('sizes its output by the trailer but trusts it for nothing: a lying trailer is a GzipError, a lying bomb still stops at the limit', async () => {
    // Above the synchronous path's 64 KiB, so both paths are covered.
    const big = randomBytes(300 * 1024);
    const gz = gzipSync(big);
    expect(gz.length).toBeGreaterThan(64 * 1024);
    expect(Buffer.from(await gunzipBounded(gz, 1 << 20)).equals(big)).toBe(true);
    for (const input of [gz, gzipSync(text)]) {
      for (const size of [0, 1, 17, (input === gz ? big : text).length - 1, 1 << 20, 2 ** 32 - 1]) {
        const err = await gunzipBounded(declaring(input, size), 1 << 20).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(GzipError);
        expect((err as Error).message).toMatch(/^invalid gzip data: incorrect length check/);
      }
    }
    const bomb = gzipSync(new Uint8Array(8 * 1024 * 1024), { level: 9 });
    for (const size of [0, 1000, 1 << 20, (1 << 20) + 1, 2 ** 32 - 1]) {
      await expect(gunzipBounded(declaring(bomb, size), 1 << 20)).rejects.toThrow(DecompressedTooLargeError);
    }
  });

  it('rejects a nonsensical limit', async () => {
    expect(() => gunzipBounded(gzipSync(text), 0)).toThrow(RangeError);
    expect(() => gunzipBounded(gzipSync(text), -1)).toThrow(RangeError);
  });

  it('stops a 1 GiB gzip bomb at a 16 MiB cap without inflating it', async () => {
    const bomb = await zeroBomb(1 << 30);
    expect(bomb.length).toBeLessThan(2 << 20);
    const before = process.memoryUsage().rss;
    const err = await gunzipBounded(bomb, 16 << 20).catch((e: unknown) => e);
    const growth = process.memoryUsage().rss - before;
    expect(err).toBeInstanceOf(DecompressedTooLargeError);
    expect((err as Error).message).toBe(`decompressed profile exceeds the limit of ${16 << 20} bytes`);
    expect(growth).toBeLessThan(200 << 20);
  });
});

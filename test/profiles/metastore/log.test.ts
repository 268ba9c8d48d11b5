import { copyFile, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/profiles/block/crc32c.js';
import { encodeFrame, LogUnavailableError, RecordLog, scanFrames } from '../../../src/profiles/metastore/log.js';
import { recordingLogger, tempDir } from './helpers.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const dirs: string[] = [];
async function dir(): Promise<string> {
  const d = await tempDir('kiln-log-');
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function writeRecords(file: string, texts: string[]): Promise<number[]> {
  const { log } = await RecordLog.open(file, { logger: recordingLogger() });
  const offsets: number[] = [];
  for (const t of texts) {
    offsets.push(log.byteLength);
    await log.append(enc.encode(t));
  }
  await log.close();
  return offsets;
}

describe('record framing', () => {
  it('is BE length, BE CRC-32C of the payload, payload', () => {
    const payload = enc.encode('hello');
    const frame = encodeFrame(payload);
    const view = new DataView(frame.buffer);
    expect(frame.length).toBe(8 + 5);
    expect(view.getUint32(0)).toBe(5);
    expect(view.getUint32(4)).toBe(crc32c(payload));
    expect(dec.decode(frame.subarray(8))).toBe('hello');
  });
  it('rejects empty payloads', () => {
    expect(() => encodeFrame(new Uint8Array(0))).toThrow(/must not be empty/);
  });
  it('scan stops at an implausible length', () => {
    const bad = new Uint8Array(16);
    new DataView(bad.buffer).setUint32(0, 0xffffffff);
    const r = scanFrames(bad);
    expect(r.records).toHaveLength(0);
    expect(r.validBytes).toBe(0);
    expect(r.problem).toMatch(/implausible record length/);
  });
});

describe('RecordLog', () => {
  it('replays appended records in order after reopen', async () => {
    const file = path.join(await dir(), 'x.log');
    const texts = Array.from({ length: 50 }, (_, i) => `record-${i}-${'z'.repeat(i)}`);
    await writeRecords(file, texts);
    const { log, records } = await RecordLog.open(file);
    expect(records.map((r) => dec.decode(r.payload))).toEqual(texts);
    expect(log.byteLength).toBe((await stat(file)).size);
    await log.close();
  });

  it('creates the file and returns no records for a new log', async () => {
    const file = path.join(await dir(), 'new.log');
    const { log, records } = await RecordLog.open(file);
    expect(records).toEqual([]);
    expect((await stat(file)).size).toBe(0);
    await log.close();
  });

  it('group-commits concurrent appends into fewer fsyncs', async () => {
    const file = path.join(await dir(), 'g.log');
    const { log } = await RecordLog.open(file);
    // A first append starts a flush; the 99 made while it runs must share later fsyncs.
    const first = log.append(enc.encode('first'));
    await new Promise((r) => setImmediate(r));
    const rest = Array.from({ length: 99 }, (_, i) => log.append(enc.encode(`r${i}`)));
    await Promise.all([first, ...rest]);
    expect(log.stats.appends).toBe(100);
    expect(log.stats.fsyncs).toBeLessThan(10);
    expect(log.stats.fsyncs).toBe(log.stats.batches);
    await log.close();
    const { log: again, records } = await RecordLog.open(file);
    expect(records).toHaveLength(100);
    await again.close();
  });

  it('resolves an append only after its batch is fsynced', async () => {
    const file = path.join(await dir(), 's.log');
    const { log } = await RecordLog.open(file);
    const fsyncsAtResolve: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => log.append(enc.encode(`a${i}`)).then(() => fsyncsAtResolve.push(log.stats.fsyncs))),
    );
    expect(fsyncsAtResolve.every((n) => n >= 1)).toBe(true);
    await log.close();
  });

  it('recovers from a tail torn at every byte of the last record, and appends afterwards', async () => {
    const d = await dir();
    const file = path.join(d, 'torn.log');
    const texts = ['alpha', 'bravo', 'charlie', 'the last record, torn'];
    const offsets = await writeRecords(file, texts);
    const full = (await stat(file)).size;
    const lastStart = offsets[3]!;
    for (let cut = lastStart; cut < full; cut++) {
      const copy = path.join(d, `cut-${cut}.log`);
      await copyFile(file, copy);
      await truncate(copy, cut);
      const logger = recordingLogger();
      const { log, records } = await RecordLog.open(copy, { logger });
      expect(records.map((r) => dec.decode(r.payload))).toEqual(texts.slice(0, 3));
      if (cut > lastStart) {
        expect(logger.warnings).toHaveLength(1);
        expect(logger.warnings[0]!.obj).toMatchObject({ offset: lastStart, droppedBytes: cut - lastStart });
      } else {
        expect(logger.warnings).toHaveLength(0); // a clean cut at a frame boundary is not damage
      }
      expect((await stat(copy)).size).toBe(lastStart);
      await log.append(enc.encode('after recovery'));
      await log.close();
      const { log: again, records: after } = await RecordLog.open(copy);
      expect(after.map((r) => dec.decode(r.payload))).toEqual([...texts.slice(0, 3), 'after recovery']);
      await again.close();
    }
  });

  it('drops a tail record whose CRC fails, keeping the bytes aside', async () => {
    const d = await dir();
    const file = path.join(d, 'crc.log');
    const offsets = await writeRecords(file, ['one', 'two', 'three']);
    const bytes = await readFile(file);
    bytes[offsets[2]! + 8] ^= 0x01; // flip a bit of the last payload
    await writeFile(file, bytes);
    const logger = recordingLogger();
    const { log, records } = await RecordLog.open(file, { logger });
    expect(records.map((r) => dec.decode(r.payload))).toEqual(['one', 'two']);
    expect(logger.warnings[0]!.obj).toMatchObject({ offset: offsets[2], reason: 'CRC-32C mismatch' });
    const saved = await readFile(`${file}.corrupt-${offsets[2]}`);
    expect(Buffer.compare(saved, bytes.subarray(offsets[2]!))).toBe(0);
    await log.close();
  });

  it('treats a corrupt record in the middle as the tail: everything after it is dropped', async () => {
    const d = await dir();
    const file = path.join(d, 'mid.log');
    const offsets = await writeRecords(file, ['r0', 'r1', 'r2', 'r3', 'r4']);
    const bytes = await readFile(file);
    bytes[offsets[2]! + 4] ^= 0xff; // damage the stored CRC of r2
    await writeFile(file, bytes);
    const logger = recordingLogger();
    const { log, records } = await RecordLog.open(file, { logger });
    expect(records.map((r) => dec.decode(r.payload))).toEqual(['r0', 'r1']);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]!.obj).toMatchObject({ offset: offsets[2], droppedBytes: bytes.length - offsets[2]! });
    expect((await readdir(d)).sort()).toEqual(['mid.log', `mid.log.corrupt-${offsets[2]}`]);
    await log.close();
  });

  it('rejects appends after close with a clear error', async () => {
    const file = path.join(await dir(), 'c.log');
    const { log } = await RecordLog.open(file);
    await log.close();
    await expect(log.append(enc.encode('late'))).rejects.toThrow(LogUnavailableError);
    await expect(log.append(enc.encode('late'))).rejects.toThrow(/is closed/);
  });

  it('close waits for in-flight appends', async () => {
    const file = path.join(await dir(), 'w.log');
    const { log } = await RecordLog.open(file);
    const done = Array.from({ length: 10 }, (_, i) => log.append(enc.encode(`w${i}`)));
    await log.close();
    await Promise.all(done);
    const { log: again, records } = await RecordLog.open(file);
    expect(records).toHaveLength(10);
    await again.close();
  });

  it('stops taking writes after a failed fsync, and reopening recovers', async () => {
    const file = path.join(await dir(), 'f.log');
    const { log } = await RecordLog.open(file, { logger: recordingLogger() });
    await log.append(enc.encode('durable'));
    // Fault injection: the next fdatasync fails as it would on an I/O error.
    const fh = (log as unknown as { fh: { datasync: () => Promise<void> } }).fh;
    fh.datasync = () => Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    const failed = await log.append(enc.encode('not acked')).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(LogUnavailableError);
    expect((failed as Error).message).toMatch(/stopped taking writes after a failed write or fsync/);
    expect(String((failed as Error).cause)).toMatch(/EIO/);
    // No retry on the same handle: a later append must not be acked either.
    await expect(log.append(enc.encode('later'))).rejects.toThrow(LogUnavailableError);
    await log.close();
    const { log: again, records } = await RecordLog.open(file);
    // The failed record's bytes did reach the page cache; it was never acked, so either outcome is allowed.
    expect(records.map((r) => dec.decode(r.payload))[0]).toBe('durable');
    expect(records.map((r) => dec.decode(r.payload))).not.toContain('later');
    await again.append(enc.encode('after reopen'));
    await again.close();
  });
});

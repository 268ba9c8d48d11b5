// Shared helpers for the TSDB storage tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { TsdbLogger } from '../../src/tsdb/wal/wal.js';
import type { AppendOptions, Labels, SeriesSamples } from '../../src/tsdb/storage.js';

export function tempDir(prefix = 'kiln-tsdb-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/** A function that makes temp dirs, all removed after the file's tests (call at module level). */
export function tempDirsRemovedAfterAll(): () => Promise<string> {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  return async () => {
    const d = await tempDir();
    dirs.push(d);
    return d;
  };
}

export interface RecordingLogger extends TsdbLogger {
  warnings: Array<{ obj: object; msg: string }>;
}

export function recordingLogger(): RecordingLogger {
  const warnings: Array<{ obj: object; msg: string }> = [];
  return { warnings, warn: (obj, msg) => warnings.push({ obj, msg }), info: () => {} };
}

/** Labels from an object, sorted by name. */
export function labels(o: Record<string, string>): Labels {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function series(o: Record<string, string>, samples: Array<[number, number]>): SeriesSamples {
  return { labels: labels(o), timestamps: samples.map(([t]) => t), values: Float64Array.from(samples.map(([, v]) => v)) };
}

export const NO_OOO: AppendOptions = { outOfOrderWindowMs: 0, maxSeriesPerUser: 0 };

/**
 * Float64Array with exactly these bits (hex per value). Build stale markers this way: a
 * signalling NaN such as 0x7ff0000000000002 passed around as a JS number may come back quieted
 * (0x7ff8…) on x86, so tests must not route it through plain arrays.
 */
export function floatsFromBits(hexes: readonly string[]): Float64Array {
  const out = new Float64Array(hexes.length);
  const view = new DataView(out.buffer);
  hexes.forEach((h, i) => view.setBigUint64(i * 8, BigInt(`0x${h}`), true));
  return out;
}

/** A float from its 64 bits (hex); signalling NaNs may be quieted (see floatsFromBits). */
export function fromBits(hex: string): number {
  const b = new DataView(new ArrayBuffer(8));
  b.setBigUint64(0, BigInt(`0x${hex}`));
  return b.getFloat64(0);
}

/** Bits of values[i] as hex, read from the array's own bytes (exact for NaN payloads). */
export function bitsAt(values: Float64Array, i: number): string {
  return new DataView(values.buffer, values.byteOffset).getBigUint64(i * 8, true).toString(16).padStart(16, '0');
}

// BlobWriter: sample blobs written into reused chunks read back as written,
// before and after a rewind, and a released writer is handed out once.

import { describe, expect, it } from 'vitest';
import { BlobWriter, countIds, countValues, decodeIds, decodeValues } from '../../../src/profiles/block/samples.js';

/** Row r of the test: ascending ids with gaps, and values that are sometimes not integers. */
function row(r: number): { ids: Uint32Array; values: Float64Array } {
  const n = 1 + ((r * 7) % 300);
  const ids = new Uint32Array(n);
  for (let k = 0, id = r; k < n; k++, id += 1 + ((k * 13) % 700)) ids[k] = id;
  const values = Float64Array.from({ length: n }, (_, k) => (r % 4 === 0 ? k + 0.5 : (k * 1000) - r));
  return { ids, values };
}

function readBack(idsBlob: Uint8Array, valuesBlob: Uint8Array): { ids: Uint32Array; values: Float64Array } {
  const ids = new Uint32Array(countIds(idsBlob));
  const values = new Float64Array(countValues(valuesBlob));
  const problem = decodeIds(idsBlob, ids, 0, 2 ** 32 - 1) ?? decodeValues(valuesBlob, values, 0);
  if (problem !== undefined) throw new Error(problem);
  return { ids, values };
}

/** Writes rows from..to-1; checks each reads back. */
function writeRows(w: BlobWriter, from: number, to: number): Uint8Array[] {
  const blobs: [Uint8Array, Uint8Array][] = [];
  for (let r = from; r < to; r++) {
    const { ids, values } = row(r);
    blobs.push([w.ids(ids), w.values(values)]);
  }
  // Read back only after all were written: a later blob must not have overwritten an earlier one.
  const wrong: number[] = [];
  blobs.forEach(([i, v], k) => {
    const got = readBack(i, v);
    const want = row(from + k);
    const same = got.ids.length === want.ids.length && got.ids.every((x, j) => x === want.ids[j]) && got.values.every((x, j) => x === want.values[j]);
    if (!same) wrong.push(from + k);
  });
  expect(wrong).toEqual([]);
  return blobs.map(([i]) => i);
}

describe('BlobWriter', () => {
  it('writes blobs over many chunks, and again over the same chunks after a rewind', () => {
    const w = BlobWriter.take();
    // ~2,000 rows of up to 300 samples: well past one 64 KiB chunk.
    const first = writeRows(w, 0, 2000);
    const chunksUsed = new Set(first.map((b) => b.buffer));
    expect(chunksUsed.size).toBeGreaterThan(3);
    w.rewind();
    const second = writeRows(w, 5000, 7000);
    // The rewound writer filled the chunks it had before allocating any new one.
    const reused = second.filter((b) => chunksUsed.has(b.buffer as ArrayBuffer)).length;
    expect(reused).toBeGreaterThan(second.length / 2);
    w.release();
  });

  it('goes on past the chunks it keeps, before and after a rewind', () => {
    const w = BlobWriter.take();
    const first = writeRows(w, 0, 12_000);
    // More than the 64 chunks a writer keeps.
    expect(new Set(first.map((b) => b.buffer)).size).toBeGreaterThan(64);
    w.rewind();
    writeRows(w, 20_000, 32_000);
    w.release();
  });

  it('hands a released writer out again, and only once', () => {
    const w = BlobWriter.take();
    writeRows(w, 0, 10);
    w.release();
    w.release();
    const a = BlobWriter.take();
    const b = BlobWriter.take();
    expect(a).toBe(w);
    expect(b).not.toBe(w);
    writeRows(a, 100, 200);
    a.release();
    b.release();
  });

  it('gives a blob larger than a chunk a chunk of its own', () => {
    const w = BlobWriter.take();
    writeRows(w, 0, 3);
    const ids = Uint32Array.from({ length: 40_000 }, (_, k) => k * 3);
    const values = Float64Array.from({ length: 40_000 }, (_, k) => k + 0.25);
    const blob = [w.ids(ids), w.values(values)] as const;
    expect(readBack(blob[0], blob[1])).toEqual({ ids, values });
    w.rewind();
    // After a rewind the big chunk is reused (or skipped) without corrupting what follows.
    writeRows(w, 10, 400);
    w.release();
  });
});

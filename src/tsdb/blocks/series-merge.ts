// Merging the chunks one series has in several places (blocks, or blocks and the head) into one
// sorted run of samples without duplicates. Used by vertical compaction and by reads.
//
// Duplicate rule: when two sources hold a sample with the same timestamp, the source listed
// first wins. Callers list sources in a fixed order (blocks by minTime then ULID, the head
// last), so the result is deterministic. In practice duplicates carry the same value: they come
// from a head that was replayed after its data had already been written to a block.
import { decodeXorChunk, encodeXorChunk, SAMPLES_PER_CHUNK } from '../chunkenc/xor-chunk.js';
import { HI, LO, wordsOf } from '../chunkenc/float-bits.js';
import type { BlockChunk } from './block-writer.js';
import { ENCODING_XOR } from './chunk-files.js';

export interface Samples {
  timestamps: Float64Array;
  values: Float64Array;
}

export function decodeChunk(c: { encoding: number; data: Uint8Array }): Samples {
  if (c.encoding !== ENCODING_XOR) throw new Error(`chunk encoding ${c.encoding} is not supported (only XOR float chunks)`);
  return decodeXorChunk(c.data);
}

/**
 * Merges sample runs (each ascending) into one ascending run; on equal timestamps the run with
 * the lower index wins. Values are copied as 32-bit words so NaN payloads (stale markers) stay exact.
 */
export function mergeSamples(runs: readonly Samples[], minT = -Infinity, maxT = Infinity): Samples {
  const live = runs.filter((r) => r.timestamps.length > 0);
  if (live.length === 1 && minT === -Infinity && maxT === Infinity) return live[0]!;
  let total = 0;
  for (const r of live) total += r.timestamps.length;
  const ts = new Float64Array(total);
  const vs = new Float64Array(total);
  const outWords = wordsOf(vs);
  const words = live.map((r) => wordsOf(r.values));
  const pos = new Array<number>(live.length).fill(0);
  for (let i = 0; i < live.length; i++) while (pos[i]! < live[i]!.timestamps.length && live[i]!.timestamps[pos[i]!]! < minT) pos[i]!++;
  let n = 0;
  for (;;) {
    // The smallest next timestamp; ties go to the lowest run index.
    let best = -1;
    let bestT = Infinity;
    for (let i = 0; i < live.length; i++) {
      const p = pos[i]!;
      if (p < live[i]!.timestamps.length) {
        const t = live[i]!.timestamps[p]!;
        if (t < bestT) {
          bestT = t;
          best = i;
        }
      }
    }
    if (best < 0 || bestT > maxT) break;
    const p = pos[best]!;
    ts[n] = bestT;
    outWords[2 * n + HI] = words[best]![2 * p + HI]!;
    outWords[2 * n + LO] = words[best]![2 * p + LO]!;
    n++;
    // Skip this timestamp in every run (the duplicates lose).
    for (let i = 0; i < live.length; i++) {
      while (pos[i]! < live[i]!.timestamps.length && live[i]!.timestamps[pos[i]!]! === bestT) pos[i]!++;
    }
  }
  return { timestamps: ts.subarray(0, n), values: vs.subarray(0, n) };
}

/** Cuts samples into XOR chunks of at most SAMPLES_PER_CHUNK samples. */
export function encodeChunks(s: Samples): BlockChunk[] {
  const out: BlockChunk[] = [];
  for (let from = 0; from < s.timestamps.length; from += SAMPLES_PER_CHUNK) {
    const to = Math.min(from + SAMPLES_PER_CHUNK, s.timestamps.length);
    const ts = s.timestamps.subarray(from, to);
    out.push({ encoding: ENCODING_XOR, data: encodeXorChunk(ts, s.values.subarray(from, to)), minT: ts[0]!, maxT: ts[ts.length - 1]!, samples: to - from });
  }
  return out;
}

/**
 * One series' chunks from several sources (in priority order) as chunks for a new block. When
 * no two chunks overlap in time the chunks are kept as they are (no re-encoding); otherwise
 * all samples are merged and re-encoded.
 */
export function mergeSeriesChunks(sources: ReadonlyArray<readonly BlockChunk[]>): BlockChunk[] {
  if (sources.length === 1) return [...sources[0]!];
  const all = sources.flat().sort((a, b) => a.minT - b.minT);
  let overlap = false;
  for (let i = 1; i < all.length; i++) if (all[i]!.minT <= all[i - 1]!.maxT) overlap = true;
  if (!overlap) return all;
  return encodeChunks(mergeSamples(sources.map((chunks) => concatSamples(chunks.map(decodeChunk)))));
}

/** Joins runs that follow each other in time (the chunks of one series in one source). */
export function concatSamples(runs: readonly Samples[]): Samples {
  if (runs.length === 1) return runs[0]!;
  return mergeSamples(runs);
}

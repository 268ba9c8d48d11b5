// The benchmark's anchor: bare gunzip + decode with Kiln's decoder, on the
// calling thread (the ingest benchmark also runs it in two worker threads).

import { gunzipSync } from 'node:zlib';
import { decodePprof } from '../../../src/profiles/pprof/decode.js';

/**
 * Bare gunzip + decode of `gz` for `seconds`: how many, in how long. The
 * ingest benchmark runs it before and after the server's measurement and sums
 * the two: this machine's speed drifts by tens of percent within a minute,
 * and an anchor taken only before the server's run compared the server with a
 * moment it did not run in.
 */
export function anchor(gz: Uint8Array, seconds: number): { n: number; seconds: number } {
  // Warm up, then run for a fixed time.
  for (let i = 0; i < 5; i++) decodePprof(gunzipSync(gz));
  let n = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  while (performance.now() < until) {
    decodePprof(gunzipSync(gz));
    n++;
  }
  return { n, seconds: (performance.now() - start) / 1000 };
}

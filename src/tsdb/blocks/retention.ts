// Time-based retention: a block is deleted as a whole once all of its data is older than
// now − retention, i.e. when its (exclusive) maxTime ≤ now − retention. Data is never cut out of
// a block, so up to one block range of data older than the retention stays readable — the same
// lag Prometheus documents. Unlike Prometheus, which measures from the newest block's maxTime,
// the cutoff is measured from the wall clock: a tenant that stops writing still loses old data.

import type { BlockMeta } from './meta.js';

/** Retention period meaning "keep forever". */
export const KEEP_FOREVER = 0;

/** The blocks whose data is entirely older than `nowMs − retentionMs`. */
export function blocksBeyondRetention(metas: readonly BlockMeta[], nowMs: number, retentionMs: number): BlockMeta[] {
  if (retentionMs <= KEEP_FOREVER) return [];
  const cutoff = nowMs - retentionMs;
  return metas.filter((m) => m.maxTime <= cutoff);
}

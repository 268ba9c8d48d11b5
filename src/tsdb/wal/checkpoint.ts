// WAL checkpoints: after the head drops old data (Head.truncate), the segments up to a cut are
// replaced by one file holding only what the head still has.
//
// `checkpoint.NNNNNNNN` holds frames (wal-segment.ts) that, replayed, rebuild the head's state
// as of the end of segment NNNNNNNN: a series record for every live series, then samples
// records with every sample that survived truncation. Replay reads the newest checkpoint, then
// the segments numbered above it.
//
// Crash safety: the checkpoint is written to `checkpoint.NNNNNNNN.tmp`, fsynced, renamed and
// the directory fsynced; only then are the segments ≤ NNNNNNNN and older checkpoints deleted.
// A crash before the rename leaves a .tmp that open() deletes (the old segments are still
// there); a crash after it leaves old segments that open() deletes.

import { open, readdir, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { fsyncDir } from '../../objstore/filesystem.js';
import { segmentName } from './wal-segment.js';

const CHECKPOINT_NAME = /^checkpoint\.(\d{8})$/;

export function checkpointName(upToSegment: number): string {
  return `checkpoint.${segmentName(upToSegment)}`;
}

/** The segment number a checkpoint file covers, or undefined if the name is not a checkpoint. */
export function parseCheckpointName(name: string): number | undefined {
  const m = CHECKPOINT_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Newest finished checkpoint in `dir`. */
export async function latestCheckpoint(dir: string): Promise<{ name: string; upTo: number } | undefined> {
  let best: { name: string; upTo: number } | undefined;
  for (const name of await readdir(dir)) {
    const upTo = parseCheckpointName(name);
    if (upTo !== undefined && (best === undefined || upTo > best.upTo)) best = { name, upTo };
  }
  return best;
}

/**
 * Writes `checkpoint.<upTo>` from `chunks` (framed records, in replay order), atomically.
 * Does not delete anything; see Wal.checkpoint.
 */
export async function writeCheckpoint(dir: string, upTo: number, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<string> {
  const finalPath = path.join(dir, checkpointName(upTo));
  const tmpPath = `${finalPath}.tmp`;
  await rm(tmpPath, { force: true });
  const fh = await open(tmpPath, 'wx');
  try {
    let at = 0;
    for await (const chunk of chunks) {
      let written = 0;
      while (written < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, written, chunk.length - written, at + written);
        written += bytesWritten;
      }
      at += chunk.length;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmpPath, finalPath);
  await fsyncDir(dir);
  return finalPath;
}

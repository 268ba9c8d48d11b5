// Where and when a job's samples are recorded: the instance label and the
// sample timestamp (docs/metrics-from-profiles.md, "Labels" and "Timestamp").
//
// Several L0 jobs write samples of the same rule series: jobs of different
// shards, and jobs of one shard whose segments came from different writers.
// They all stamp their samples with the time of their own first segment, so
// two of them can land on the same millisecond. The instance label keeps
// their series apart, so a TSDB never sees two different values for one
// (series, timestamp) and rejects neither.
//
// Value: xxhash64 (seed 0) over
//
//   shard as a big-endian uint32  ‖  UTF-8 bytes of the writer id (created_by)
//
// printed as lowercase hex without leading zeros. Pyroscope hashes the shard
// and the string-table *index* of created_by, which is always 1, so its label
// identifies the shard only (spec/pyroscope.md §1.6); Kiln hashes the writer
// id string itself.

import { decodeTime } from 'ulid';
import xxhash from 'xxhash-wasm';
import type { BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import { compareStrings } from '../block/labels.js';

const hasher = await xxhash();
const encoder = new TextEncoder();

/** Default name of the instance label (-metrics-observer.instance-label-name). */
export const DEFAULT_INSTANCE_LABEL = 'pyroscope_instance';

/** The instance label value of samples recorded from `shard`'s segments written by `createdBy`. */
export function instanceLabelValue(shard: number, createdBy: string): string {
  const id = encoder.encode(createdBy);
  const bytes = new Uint8Array(4 + id.length);
  new DataView(bytes.buffer).setUint32(0, shard >>> 0, false);
  bytes.set(id, 4);
  return hasher.h64Raw(bytes, 0n).toString(16);
}

/**
 * The job's first source: the one with the smallest id. Its ULID time is the
 * sample timestamp and its created_by names the instance. Segments are ULIDs,
 * so the smallest id is the oldest segment. A job's sources normally come from
 * one writer; if not, the first source's writer is used (the label must be one
 * value per job, and this choice is deterministic for a retried job).
 */
export function firstSource(sources: readonly BlockMeta[]): BlockMeta {
  if (sources.length === 0) throw new Error('observer: a job without source blocks');
  let first = sources[0]!;
  for (const m of sources) if (compareStrings(m.id, first.id) < 0) first = m;
  return first;
}

/** Where and when the samples of a job are recorded. */
export interface JobStamp {
  shard: number;
  /** Unix ms of the first source's ULID. */
  timestampMs: number;
  /** created_by of the first source (the writer id string). */
  createdBy: string;
}

export function jobStamp(shard: number, sources: readonly BlockMeta[]): JobStamp {
  const first = firstSource(sources);
  return { shard, timestampMs: decodeTime(first.id), createdBy: first.stringTable[first.createdBy] ?? '' };
}

/**
 * Checks -metrics-observer.instance-label-name: a legacy Prometheus label name
 * that is not one of the labels every recorded series already has.
 */
export function validateInstanceLabelName(name: string): void {
  if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`-metrics-observer.instance-label-name: ${JSON.stringify(name)} is not a valid label name`);
  if (name === '__name__' || name === 'profiles_rule_id') throw new Error(`-metrics-observer.instance-label-name: ${name} is already a label of every recorded series`);
}

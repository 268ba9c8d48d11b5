// Compaction planner: turns planner queues into jobs (spec §4.1). Pure: reads queues, returns
// the jobs to plan; the metastore commits them.
//
// A queue holds the blocks of one (tenant, shard, level) in id (= ULID time) order. Segments
// have tenant "", so a level-0 job spans every tenant of its shard. A job is cut from the head
// of a queue when it has the level's max block count, when the next block is more than
// MAX_JOB_TIME_SPAN_MS (ULID time) after the job's first one, or when the job's oldest block
// has waited longer than the level's max age.
import type { JobState } from './store.js';
import type { Queue } from './state.js';

export interface LevelThresholds {
  maxBlocks: number;
  maxAgeMs: number;
}

export interface PlannerConfig {
  /** Thresholds of levels 0, 1, 2 (index = level of the source blocks). */
  levels: LevelThresholds[];
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Pyroscope's defaults: L0 20 blocks / 36 s, L1 10 / 12 min, L2 10 / 3 h. */
export const DEFAULT_LEVELS: LevelThresholds[] = [
  { maxBlocks: 20, maxAgeMs: 36 * SECOND },
  { maxBlocks: 10, maxAgeMs: 12 * MINUTE },
  { maxBlocks: 10, maxAgeMs: 3 * HOUR },
];

/** Blocks further apart than this (ULID time) never share a job (Pyroscope: the L2 max age). */
export const MAX_JOB_TIME_SPAN_MS = 3 * HOUR;

/** `<xxhash64 hex of the concatenated source ids>-T<tenant>-S<shard>-L<level>`. */
export type JobNamer = (sources: readonly string[]) => string;

export function jobName(hash64Hex: (s: string) => string, sources: readonly string[], tenant: string, shard: number, level: number): string {
  return `${hash64Hex(sources.join(''))}-T${tenant}-S${shard}-L${level}`;
}

function compareQueues(a: Queue, b: Queue): number {
  if (a.level !== b.level) return a.level - b.level;
  if (a.shard !== b.shard) return a.shard - b.shard;
  return a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0;
}

/**
 * Up to `limit` new jobs, lower levels first, each queue's jobs in block order. A queue stops
 * at its first job that is not ready, so a later job never overtakes an earlier one.
 */
export function planJobs(
  queues: Iterable<Queue>,
  config: PlannerConfig,
  now: number,
  limit: number,
  hash64Hex: (s: string) => string,
): JobState[] {
  const out: JobState[] = [];
  for (const q of [...queues].sort(compareQueues)) {
    const t = config.levels[q.level];
    if (t === undefined) continue;
    let start = 0;
    while (start < q.blocks.length && out.length < limit) {
      const first = q.blocks[start]!;
      let end = start;
      let oldest = Infinity;
      let split = false;
      while (end < q.blocks.length && end - start < t.maxBlocks) {
        const b = q.blocks[end]!;
        if (b.ulidTime - first.ulidTime > MAX_JOB_TIME_SPAN_MS) {
          split = true;
          break;
        }
        oldest = Math.min(oldest, b.addedAt);
        end++;
      }
      const full = end - start >= t.maxBlocks;
      const aged = now - oldest > t.maxAgeMs;
      if (!full && !split && !aged) break;
      const sources = q.blocks.slice(start, end).map((b) => b.id);
      out.push({
        name: jobName(hash64Hex, sources, q.tenant, q.shard, q.level),
        shard: q.shard,
        tenant: q.tenant,
        level: q.level,
        sources,
        addedAt: now,
        assigned: false,
        token: 0,
        leaseExpiresAt: 0,
        failures: 0,
        parked: false,
      });
      start = end;
    }
    if (out.length >= limit) break;
  }
  return out;
}

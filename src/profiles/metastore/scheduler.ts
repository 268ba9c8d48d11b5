// Compaction scheduler: who runs which job (spec §4.2). Pure functions over job states; the
// metastore commits what they return.
//
// - A lease lasts leaseMs and is renewed by every poll that reports the job IN_PROGRESS with
//   its current token.
// - Tokens are fencing tokens: one global counter, a new value for every assignment, so a
//   worker whose lease was given to another worker holds an older token and is refused.
// - A lease that expires counts as a failure. When failures reach maxFailures the job is
//   parked: never assigned again (it is reported, and evicted first when the queue is full).
import type { JobLeaseState, JobState } from './store.js';

export interface SchedulerConfig {
  leaseMs: number;
  /** 0 = unlimited. */
  maxFailures: number;
}

export function leaseExpired(job: JobState, now: number): boolean {
  return job.assigned && job.leaseExpiresAt <= now;
}

/** Order of assignment: lower level, unassigned before expired, fewer failures, earlier expiry, name. */
export function comparePriority(a: JobState, b: JobState): number {
  if (a.level !== b.level) return a.level - b.level;
  if (a.assigned !== b.assigned) return a.assigned ? 1 : -1;
  if (a.failures !== b.failures) return a.failures - b.failures;
  if (a.leaseExpiresAt !== b.leaseExpiresAt) return a.leaseExpiresAt - b.leaseExpiresAt;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function leaseOf(job: JobState): JobLeaseState {
  return { name: job.name, assigned: job.assigned, token: job.token, leaseExpiresAt: job.leaseExpiresAt, failures: job.failures, parked: job.parked };
}

/** The job's lease, renewed from now. */
export function renewLease(job: JobState, now: number, config: SchedulerConfig): JobLeaseState {
  return { ...leaseOf(job), leaseExpiresAt: now + config.leaseMs };
}

/** Expired jobs whose next failure reaches the limit: they are parked instead of reassigned. */
export function jobsToPark(jobs: Iterable<JobState>, now: number, config: SchedulerConfig): JobLeaseState[] {
  if (config.maxFailures <= 0) return [];
  const out: JobLeaseState[] = [];
  for (const job of jobs) {
    if (job.parked || !leaseExpired(job, now)) continue;
    if (job.failures + 1 >= config.maxFailures) out.push({ ...leaseOf(job), assigned: false, failures: job.failures + 1, parked: true });
  }
  return out;
}

/**
 * Up to `capacity` jobs to hand out now, by priority, with fresh tokens from `nextToken` on.
 * Call after jobsToPark has been applied. A reassigned (expired) job counts one failure.
 */
export function assignJobs(jobs: Iterable<JobState>, now: number, capacity: number, nextToken: number, config: SchedulerConfig): JobLeaseState[] {
  if (capacity <= 0) return [];
  const candidates: JobState[] = [];
  for (const job of jobs) if (!job.parked && (!job.assigned || leaseExpired(job, now))) candidates.push(job);
  candidates.sort(comparePriority);
  let token = nextToken;
  return candidates.slice(0, capacity).map((job) => ({
    name: job.name,
    assigned: true,
    token: token++,
    leaseExpiresAt: now + config.leaseMs,
    failures: job.assigned ? job.failures + 1 : job.failures,
    parked: false,
  }));
}

/** Parked jobs to evict (oldest first) so that planning has room again. */
export function jobsToEvict(jobs: Iterable<JobState>, count: number, maxQueueSize: number): string[] {
  const room = maxQueueSize - count;
  if (room > 0) return [];
  const parked = [...jobs].filter((j) => j.parked).sort((a, b) => a.addedAt - b.addedAt || (a.name < b.name ? -1 : 1));
  return parked.slice(0, 1 - room).map((j) => j.name);
}

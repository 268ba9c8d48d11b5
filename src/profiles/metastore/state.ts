// The metastore's whole state as the fold of its state changes (store.ts). Nothing here does
// I/O or reads a clock: every input is in the change, so replaying the log rebuilds exactly
// the state the process had (the restart test compares dump()s).
import { decodeTime } from 'ulid';
import type { BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import { BlockIndex, blockTenant } from './block-index.js';
import type { JobState, StateChange } from './store.js';

/** Levels 0..FINAL_LEVEL-1 are compacted; blocks of FINAL_LEVEL (L3) never are. */
export const FINAL_LEVEL = 3;

export interface QueuedBlock {
  id: string;
  /** When the block entered the queue (ms): drives the max-age threshold. */
  addedAt: number;
  /** ULID time of the id (ms): drives the time-span split. */
  ulidTime: number;
}

/** A planner queue: blocks of one (tenant, shard, level) waiting for a job, in id order. */
export interface Queue {
  tenant: string;
  shard: number;
  level: number;
  blocks: QueuedBlock[];
}

export interface Tombstone {
  meta: BlockMeta;
  /** When the block left the index (ms); its object is deleted cleanup-delay later. */
  at: number;
  reason: string;
}

function ulidTimeOf(id: string): number {
  try {
    return decodeTime(id);
  } catch {
    return 0;
  }
}

function queueKey(tenant: string, shard: number, level: number): string {
  return `${level}/${shard}/${tenant}`;
}

export class MetastoreState {
  readonly index = new BlockIndex();
  /** Planner queues by queueKey. Empty queues are removed. */
  readonly queues = new Map<string, Queue>();
  readonly jobs = new Map<string, JobState>();
  readonly tombstones = new Map<string, Tombstone>();
  /** The next fencing token to hand out; only grows. */
  nextToken = 1;
  private readonly queueOf = new Map<string, Queue>();
  private readonly jobOfBlock = new Map<string, string>();

  /** The job that holds a block as a source, if any. */
  jobOf(blockId: string): JobState | undefined {
    const name = this.jobOfBlock.get(blockId);
    return name === undefined ? undefined : this.jobs.get(name);
  }

  isQueued(blockId: string): boolean {
    return this.queueOf.has(blockId);
  }

  apply(change: StateChange): void {
    switch (change.type) {
      case 'blockAdded':
        this.addBlock(change.block, change.addedAt);
        return;
      case 'snapshotBlock':
        if (this.index.add(change.block) && change.queued) this.enqueue(change.block, change.addedAt);
        return;
      case 'jobsPlanned':
        for (const job of change.jobs) {
          this.jobs.set(job.name, { ...job, sources: [...job.sources] });
          for (const id of job.sources) {
            this.dequeue(id);
            this.jobOfBlock.set(id, job.name);
          }
          this.seeToken(job.token);
        }
        return;
      case 'jobsUpdated':
        for (const lease of change.jobs) {
          const job = this.jobs.get(lease.name);
          if (job === undefined) continue;
          job.assigned = lease.assigned;
          job.token = lease.token;
          job.leaseExpiresAt = lease.leaseExpiresAt;
          job.failures = lease.failures;
          job.parked = lease.parked;
          this.seeToken(lease.token);
        }
        return;
      case 'jobCommitted':
        // Sources out (as tombstones), outputs in, job gone: one step, so no reader ever sees
        // both a source and its output, or neither.
        for (const id of change.sources) this.tombstone(id, change.committedAt, `compacted by ${change.name}`);
        this.dropJob(change.name);
        for (const block of change.newBlocks) this.addBlock(block, change.committedAt);
        this.seeToken(change.token);
        return;
      case 'jobsDropped':
        for (const name of change.names) this.dropJob(name);
        return;
      case 'blocksTombstoned':
        for (const name of change.droppedJobs) this.dropJob(name);
        for (const id of change.blocks) this.tombstone(id, change.at, change.reason);
        return;
      case 'snapshotTombstone':
        this.tombstones.set(change.block.id, { meta: change.block, at: change.at, reason: change.reason });
        return;
      case 'objectsDeleted':
        for (const id of change.blocks) this.tombstones.delete(id);
        return;
      case 'snapshotCounters':
        this.seeToken(change.nextToken - 1);
        return;
    }
  }

  /** Changes whose fold rebuilds this state (the start of a rewritten log). */
  snapshot(): StateChange[] {
    const out: StateChange[] = [{ type: 'snapshotCounters', nextToken: this.nextToken }];
    const queuedAt = new Map<string, number>();
    for (const q of this.queues.values()) for (const b of q.blocks) queuedAt.set(b.id, b.addedAt);
    for (const block of this.index.all()) {
      const addedAt = queuedAt.get(block.id);
      out.push({ type: 'snapshotBlock', block, addedAt: addedAt ?? 0, queued: addedAt !== undefined });
    }
    const jobs = [...this.jobs.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // Chunks keep each record far below the log's per-record limit.
    for (let i = 0; i < jobs.length; i += 1000) out.push({ type: 'jobsPlanned', jobs: jobs.slice(i, i + 1000) });
    for (const [, t] of [...this.tombstones].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out.push({ type: 'snapshotTombstone', block: t.meta, at: t.at, reason: t.reason });
    }
    return out;
  }

  /** A plain, deterministic picture of the state (tests compare it across restarts). */
  dump(): StateDump {
    const sortBy = <T>(xs: T[], key: (x: T) => string): T[] => xs.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    return {
      blocks: this.index.all().map((b) => b.id),
      queues: sortBy([...this.queues.entries()], ([k]) => k).map(([key, q]) => ({ key, blocks: q.blocks.map((b) => [b.id, b.addedAt] as [string, number]) })),
      jobs: sortBy([...this.jobs.values()], (j) => j.name).map((j) => ({ ...j, sources: [...j.sources] })),
      tombstones: sortBy([...this.tombstones.entries()], ([id]) => id).map(([id, t]) => ({ id, at: t.at, reason: t.reason })),
      nextToken: this.nextToken,
    };
  }

  private seeToken(token: number): void {
    if (token + 1 > this.nextToken) this.nextToken = token + 1;
  }

  private addBlock(block: BlockMeta, addedAt: number): void {
    // A tombstoned id stays out: a retried registration of a compacted segment changes nothing.
    if (this.tombstones.has(block.id)) return;
    if (this.index.add(block) && block.compactionLevel < FINAL_LEVEL) this.enqueue(block, addedAt);
  }

  private tombstone(id: string, at: number, reason: string): void {
    const meta = this.index.remove(id);
    this.dequeue(id);
    this.jobOfBlock.delete(id);
    if (meta !== undefined) this.tombstones.set(id, { meta, at, reason });
  }

  /** Removes a job; its remaining sources stay in the index but are not queued again. */
  private dropJob(name: string): void {
    const job = this.jobs.get(name);
    if (job === undefined) return;
    for (const id of job.sources) if (this.jobOfBlock.get(id) === name) this.jobOfBlock.delete(id);
    this.jobs.delete(name);
  }

  private enqueue(block: BlockMeta, addedAt: number): void {
    const tenant = blockTenant(block);
    const key = queueKey(tenant, block.shard, block.compactionLevel);
    let q = this.queues.get(key);
    if (q === undefined) {
      q = { tenant, shard: block.shard, level: block.compactionLevel, blocks: [] };
      this.queues.set(key, q);
    }
    const entry = { id: block.id, addedAt, ulidTime: ulidTimeOf(block.id) };
    // Keep id order (blocks of concurrent writers may register out of order).
    let i = q.blocks.length;
    while (i > 0 && q.blocks[i - 1]!.id > block.id) i--;
    q.blocks.splice(i, 0, entry);
    this.queueOf.set(block.id, q);
  }

  private dequeue(id: string): void {
    const q = this.queueOf.get(id);
    if (q === undefined) return;
    this.queueOf.delete(id);
    const i = q.blocks.findIndex((b) => b.id === id);
    if (i >= 0) q.blocks.splice(i, 1);
    if (q.blocks.length === 0) this.queues.delete(queueKey(q.tenant, q.shard, q.level));
  }
}

export interface StateDump {
  blocks: string[];
  queues: Array<{ key: string; blocks: Array<[string, number]> }>;
  jobs: JobState[];
  tombstones: Array<{ id: string; at: number; reason: string }>;
  nextToken: number;
}

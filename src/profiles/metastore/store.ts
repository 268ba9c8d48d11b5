// The metastore's persistence seam. The metastore's state is the fold of an ordered list of
// state changes; a store makes changes durable and hands them back in order on start.
// The embedded store is a local record log (file-store.ts); a Postgres store can implement
// the same interface (one row per change, plus the snapshot rewrite as a transaction).
import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { decodeTime } from 'ulid';
import { BlockMetaSchema, type BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import {
  BlockAddedRecordSchema,
  BlocksTombstonedRecordSchema,
  JobCommittedRecordSchema,
  JobsDroppedRecordSchema,
  JobsPlannedRecordSchema,
  JobsUpdatedRecordSchema,
  ObjectsDeletedRecordSchema,
  SnapshotBlockRecordSchema,
  SnapshotCountersRecordSchema,
  SnapshotTombstoneRecordSchema,
} from '../../gen/metastore/v1/state_pb.js';

/** Record type bytes. Never reuse or renumber one: old logs must keep replaying. */
export const RecordType = {
  /** Body: BlockMeta. Written by the first Kiln versions; still replayed (added_at = ULID time). */
  BlockAddedV1: 1,
  BlockAdded: 2,
  JobsPlanned: 3,
  JobsUpdated: 4,
  JobCommitted: 5,
  JobsDropped: 6,
  BlocksTombstoned: 7,
  ObjectsDeleted: 8,
  SnapshotBlock: 9,
  SnapshotTombstone: 10,
  SnapshotCounters: 11,
} as const;

/** A compaction job's full state (times in Unix ms). */
export interface JobState {
  name: string;
  shard: number;
  /** "" for level-0 jobs (segments hold every tenant of a shard). */
  tenant: string;
  /** Level of the source blocks. */
  level: number;
  sources: string[];
  addedAt: number;
  /** A worker holds or held a lease (Pyroscope: IN_PROGRESS). */
  assigned: boolean;
  /** Fencing token of the current lease; 0 = never assigned. */
  token: number;
  leaseExpiresAt: number;
  /** Leases that expired without a result. */
  failures: number;
  /** failures reached the limit: never assigned again. */
  parked: boolean;
}

export type JobLeaseState = Pick<JobState, 'name' | 'assigned' | 'token' | 'leaseExpiresAt' | 'failures' | 'parked'>;

export type StateChange =
  | { type: 'blockAdded'; block: BlockMeta; addedAt: number }
  | { type: 'jobsPlanned'; jobs: JobState[] }
  | { type: 'jobsUpdated'; jobs: JobLeaseState[] }
  | {
      type: 'jobCommitted';
      name: string;
      token: number;
      committedAt: number;
      sources: string[];
      newBlocks: BlockMeta[];
      observerResult: Uint8Array;
    }
  | { type: 'jobsDropped'; names: string[]; reason: string }
  | { type: 'blocksTombstoned'; blocks: string[]; at: number; reason: string; droppedJobs: string[] }
  | { type: 'objectsDeleted'; blocks: string[] }
  | { type: 'snapshotBlock'; block: BlockMeta; addedAt: number; queued: boolean }
  | { type: 'snapshotTombstone'; block: BlockMeta; at: number; reason: string }
  | { type: 'snapshotCounters'; nextToken: number };

export interface MetastoreStore {
  /** Every committed change, in commit order. Called once, before the first append. */
  load(): Promise<StateChange[]>;
  /**
   * Commits one change. Resolves only when the change is durable (it survives kill -9 and
   * power loss); a rejection means it may or may not have been committed. Changes resolve in
   * the order they were appended.
   */
  append(change: StateChange): Promise<void>;
  /**
   * Replaces everything committed so far by `snapshot()`'s changes, atomically. Appends made
   * while the rewrite runs wait and land after the snapshot. `snapshot` is called once every
   * earlier append has resolved (so it sees their effect) and before any later one is written.
   */
  rewrite(snapshot: () => StateChange[]): Promise<void>;
  /** Bytes (or another size measure) of changes stored since the last rewrite. */
  readonly storedBytes: number;
  close(): Promise<void>;
}

/** The store cannot take writes right now (closed, failed, unreachable); retry later. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** The stored bytes do not form a change this version understands. */
export class CorruptRecordError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CorruptRecordError';
  }
}

const n = (v: bigint): number => Number(v);
const b = (v: number): bigint => BigInt(Math.trunc(v));

function frame<D extends DescMessage>(type: number, schema: D, body: MessageShape<D>): Uint8Array {
  const bytes = toBinary(schema, body);
  const out = new Uint8Array(1 + bytes.length);
  out[0] = type;
  out.set(bytes, 1);
  return out;
}

function jobToRecord(j: JobState) {
  return {
    name: j.name,
    shard: j.shard,
    tenant: j.tenant,
    compactionLevel: j.level,
    sourceBlocks: j.sources,
    addedAt: b(j.addedAt),
    assigned: j.assigned,
    token: b(j.token),
    leaseExpiresAt: b(j.leaseExpiresAt),
    failures: j.failures,
    parked: j.parked,
  };
}

/** 1 byte record type ‖ protobuf body. */
export function encodeChange(change: StateChange): Uint8Array {
  switch (change.type) {
    case 'blockAdded':
      return frame(RecordType.BlockAdded, BlockAddedRecordSchema, create(BlockAddedRecordSchema, { block: change.block, addedAt: b(change.addedAt) }));
    case 'jobsPlanned':
      return frame(RecordType.JobsPlanned, JobsPlannedRecordSchema, create(JobsPlannedRecordSchema, { jobs: change.jobs.map(jobToRecord) }));
    case 'jobsUpdated':
      return frame(
        RecordType.JobsUpdated,
        JobsUpdatedRecordSchema,
        create(JobsUpdatedRecordSchema, {
          jobs: change.jobs.map((j) => ({ name: j.name, assigned: j.assigned, token: b(j.token), leaseExpiresAt: b(j.leaseExpiresAt), failures: j.failures, parked: j.parked })),
        }),
      );
    case 'jobCommitted':
      return frame(
        RecordType.JobCommitted,
        JobCommittedRecordSchema,
        create(JobCommittedRecordSchema, {
          name: change.name,
          token: b(change.token),
          committedAt: b(change.committedAt),
          sourceBlocks: change.sources,
          newBlocks: change.newBlocks,
          observerResult: change.observerResult,
        }),
      );
    case 'jobsDropped':
      return frame(RecordType.JobsDropped, JobsDroppedRecordSchema, create(JobsDroppedRecordSchema, { names: change.names, reason: change.reason }));
    case 'blocksTombstoned':
      return frame(
        RecordType.BlocksTombstoned,
        BlocksTombstonedRecordSchema,
        create(BlocksTombstonedRecordSchema, { blocks: change.blocks, tombstonedAt: b(change.at), reason: change.reason, droppedJobs: change.droppedJobs }),
      );
    case 'objectsDeleted':
      return frame(RecordType.ObjectsDeleted, ObjectsDeletedRecordSchema, create(ObjectsDeletedRecordSchema, { blocks: change.blocks }));
    case 'snapshotBlock':
      return frame(
        RecordType.SnapshotBlock,
        SnapshotBlockRecordSchema,
        create(SnapshotBlockRecordSchema, { block: change.block, addedAt: b(change.addedAt), queued: change.queued }),
      );
    case 'snapshotTombstone':
      return frame(
        RecordType.SnapshotTombstone,
        SnapshotTombstoneRecordSchema,
        create(SnapshotTombstoneRecordSchema, { block: change.block, tombstonedAt: b(change.at), reason: change.reason }),
      );
    case 'snapshotCounters':
      return frame(RecordType.SnapshotCounters, SnapshotCountersRecordSchema, create(SnapshotCountersRecordSchema, { nextToken: b(change.nextToken) }));
  }
}

function requireBlock(what: string, block: BlockMeta | undefined): BlockMeta {
  if (block === undefined) throw new CorruptRecordError(`${what} record has no block`);
  return block;
}

function decodeBody(type: number, body: Uint8Array): StateChange {
  switch (type) {
    case RecordType.BlockAddedV1: {
      const block = fromBinary(BlockMetaSchema, body);
      // These logs predate added_at; the ULID time is when the segment was cut, close enough.
      let addedAt = 0;
      try {
        addedAt = decodeTime(block.id);
      } catch {
        // Not a ULID: validation refused such ids from the start; treat as very old.
      }
      return { type: 'blockAdded', block, addedAt };
    }
    case RecordType.BlockAdded: {
      const r = fromBinary(BlockAddedRecordSchema, body);
      return { type: 'blockAdded', block: requireBlock('block-added', r.block), addedAt: n(r.addedAt) };
    }
    case RecordType.JobsPlanned: {
      const r = fromBinary(JobsPlannedRecordSchema, body);
      return {
        type: 'jobsPlanned',
        jobs: r.jobs.map((j) => ({
          name: j.name,
          shard: j.shard,
          tenant: j.tenant,
          level: j.compactionLevel,
          sources: j.sourceBlocks,
          addedAt: n(j.addedAt),
          assigned: j.assigned,
          token: n(j.token),
          leaseExpiresAt: n(j.leaseExpiresAt),
          failures: j.failures,
          parked: j.parked,
        })),
      };
    }
    case RecordType.JobsUpdated: {
      const r = fromBinary(JobsUpdatedRecordSchema, body);
      return {
        type: 'jobsUpdated',
        jobs: r.jobs.map((j) => ({ name: j.name, assigned: j.assigned, token: n(j.token), leaseExpiresAt: n(j.leaseExpiresAt), failures: j.failures, parked: j.parked })),
      };
    }
    case RecordType.JobCommitted: {
      const r = fromBinary(JobCommittedRecordSchema, body);
      return {
        type: 'jobCommitted',
        name: r.name,
        token: n(r.token),
        committedAt: n(r.committedAt),
        sources: r.sourceBlocks,
        newBlocks: r.newBlocks,
        observerResult: r.observerResult,
      };
    }
    case RecordType.JobsDropped: {
      const r = fromBinary(JobsDroppedRecordSchema, body);
      return { type: 'jobsDropped', names: r.names, reason: r.reason };
    }
    case RecordType.BlocksTombstoned: {
      const r = fromBinary(BlocksTombstonedRecordSchema, body);
      return { type: 'blocksTombstoned', blocks: r.blocks, at: n(r.tombstonedAt), reason: r.reason, droppedJobs: r.droppedJobs };
    }
    case RecordType.ObjectsDeleted:
      return { type: 'objectsDeleted', blocks: fromBinary(ObjectsDeletedRecordSchema, body).blocks };
    case RecordType.SnapshotBlock: {
      const r = fromBinary(SnapshotBlockRecordSchema, body);
      return { type: 'snapshotBlock', block: requireBlock('snapshot-block', r.block), addedAt: n(r.addedAt), queued: r.queued };
    }
    case RecordType.SnapshotTombstone: {
      const r = fromBinary(SnapshotTombstoneRecordSchema, body);
      return { type: 'snapshotTombstone', block: requireBlock('snapshot-tombstone', r.block), at: n(r.tombstonedAt), reason: r.reason };
    }
    case RecordType.SnapshotCounters:
      return { type: 'snapshotCounters', nextToken: n(fromBinary(SnapshotCountersRecordSchema, body).nextToken) };
    default:
      // Checksummed but unknown: written by a newer Kiln. Refusing to start beats silently
      // dropping state that version depends on.
      throw new CorruptRecordError(`unknown record type ${type} (written by a newer version?)`);
  }
}

export function decodeChange(payload: Uint8Array): StateChange {
  if (payload.length === 0) throw new CorruptRecordError('empty record');
  const type = payload[0]!;
  try {
    return decodeBody(type, payload.subarray(1));
  } catch (err) {
    if (err instanceof CorruptRecordError) throw err;
    throw new CorruptRecordError(`record of type ${type} does not decode: ${String(err)}`, { cause: err });
  }
}

// The metastore's persistence seam. The metastore's state is the fold of an ordered list of
// state changes; a store makes changes durable and hands them back in order on start.
// Today there is one change type ("block added"); compaction jobs, leases and tombstones will
// add more. The embedded store is a local record log (file-store.ts); a Postgres store can
// implement the same interface.
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { BlockMetaSchema, type BlockMeta } from '../../gen/metastore/v1/types_pb.js';

/** Record type bytes. Never reuse or renumber one: old logs must keep replaying. */
export const RecordType = {
  BlockAdded: 1,
} as const;

export type StateChange = { type: 'blockAdded'; block: BlockMeta };

export interface MetastoreStore {
  /** Every committed change, in commit order. Called once, before the first append. */
  load(): Promise<StateChange[]>;
  /**
   * Commits one change. Resolves only when the change is durable (it survives kill -9 and
   * power loss); a rejection means it may or may not have been committed.
   */
  append(change: StateChange): Promise<void>;
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

/** 1 byte record type ‖ protobuf body. */
export function encodeChange(change: StateChange): Uint8Array {
  switch (change.type) {
    case 'blockAdded': {
      const body = toBinary(BlockMetaSchema, change.block);
      const out = new Uint8Array(1 + body.length);
      out[0] = RecordType.BlockAdded;
      out.set(body, 1);
      return out;
    }
  }
}

export function decodeChange(payload: Uint8Array): StateChange {
  if (payload.length === 0) throw new CorruptRecordError('empty record');
  const type = payload[0]!;
  switch (type) {
    case RecordType.BlockAdded: {
      try {
        return { type: 'blockAdded', block: fromBinary(BlockMetaSchema, payload.subarray(1)) };
      } catch (err) {
        throw new CorruptRecordError(`block-added record does not decode as BlockMeta: ${String(err)}`, { cause: err });
      }
    }
    default:
      // Checksummed but unknown: written by a newer Kiln. Refusing to start beats silently
      // dropping state that version depends on.
      throw new CorruptRecordError(`unknown record type ${type} (written by a newer version?)`);
  }
}

// metastore.v1.IndexService over Connect: the server side (for the router) and the client the
// segment writer uses to register segments.
import { Code, ConnectError, createClient, type Client, type ServiceImpl } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { create } from '@bufbuild/protobuf';
import {
  AddBlockResponseSchema,
  IndexService,
  QueryBlocksResponseSchema,
} from '../../gen/metastore/v1/index_pb.js';
import { BlockIndex, InvalidBlockMetaError, type BlockQuery } from './block-index.js';
import { StoreUnavailableError } from './store.js';

export function indexServiceImpl(index: BlockIndex): ServiceImpl<typeof IndexService> {
  return {
    async addBlock(req) {
      try {
        // Resolves only after the block is durable, so the caller may ack its push.
        await index.addBlock(req.block!);
      } catch (err) {
        if (err instanceof InvalidBlockMetaError) throw new ConnectError(err.message, Code.InvalidArgument);
        // The store cannot take writes now; the caller should retry (or use its DLQ).
        if (err instanceof StoreUnavailableError) throw new ConnectError(err.message, Code.Unavailable);
        throw err;
      }
      return create(AddBlockResponseSchema);
    },
    queryBlocks(req) {
      // Proto3 zero values mean "any".
      const filter: BlockQuery = {};
      if (req.tenant !== '') filter.tenant = req.tenant;
      if (req.shard !== 0) filter.shard = req.shard;
      if (req.hasLevel) filter.level = req.compactionLevel;
      if (req.startTime !== 0n) filter.startMs = Number(req.startTime);
      if (req.endTime !== 0n) filter.endMs = Number(req.endTime);
      if (filter.startMs !== undefined && filter.endMs !== undefined && filter.endMs < filter.startMs) {
        throw new ConnectError(`end_time ${req.endTime} is before start_time ${req.startTime}`, Code.InvalidArgument);
      }
      return create(QueryBlocksResponseSchema, { blocks: index.query(filter) });
    },
  };
}

/** A Connect (HTTP/1.1) client of a metastore's IndexService at `baseUrl`. */
export function createIndexClient(baseUrl: string): Client<typeof IndexService> {
  return createClient(IndexService, createConnectTransport({ baseUrl, httpVersion: '1.1' }));
}

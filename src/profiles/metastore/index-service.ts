// metastore.v1.IndexService and MetadataQueryService over Connect: the server side (for the
// router) and the client the segment writer uses to register segments.
import { Code, ConnectError, createClient, type Client, type ServiceImpl } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { create } from '@bufbuild/protobuf';
import {
  AddBlockResponseSchema,
  GetBlockMetadataResponseSchema,
  IndexService,
  MetadataQueryService,
  QueryBlocksResponseSchema,
  QueryMetadataResponseSchema,
} from '../../gen/metastore/v1/index_pb.js';
import { InvalidBlockMetaError, type BlockQuery } from './block-index.js';
import { InvalidRequestError, type Metastore } from './metastore.js';
import { SelectorSyntaxError, parseSelector } from './selector.js';
import { StoreUnavailableError } from './store.js';

/** Maps the metastore's errors to Connect codes; anything else stays Internal. */
export function toConnectError(err: unknown): unknown {
  if (err instanceof InvalidBlockMetaError || err instanceof InvalidRequestError || err instanceof SelectorSyntaxError) {
    return new ConnectError(err.message, Code.InvalidArgument);
  }
  // The store cannot take writes now; the caller should retry (or use its DLQ).
  if (err instanceof StoreUnavailableError) return new ConnectError(err.message, Code.Unavailable);
  return err;
}

export function indexServiceImpl(metastore: Metastore): ServiceImpl<typeof IndexService> {
  return {
    async addBlock(req) {
      try {
        // Resolves only after the block is durable, so the caller may ack its push.
        await metastore.addBlock(req.block!);
      } catch (err) {
        throw toConnectError(err);
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
      return create(QueryBlocksResponseSchema, { blocks: metastore.query(filter) });
    },
    getBlockMetadata(req) {
      // Looked up by id only: ids are unique across tenants and shards.
      try {
        return create(GetBlockMetadataResponseSchema, { blocks: metastore.getBlocks(req.blocks?.blocks ?? []) });
      } catch (err) {
        throw toConnectError(err);
      }
    },
  };
}

export function metadataQueryServiceImpl(metastore: Metastore): ServiceImpl<typeof MetadataQueryService> {
  return {
    queryMetadata(req) {
      try {
        if (req.labels.length > 0) throw new InvalidRequestError('labels (label projection) is not supported');
        if (req.endTime !== 0n && req.endTime < req.startTime) {
          throw new InvalidRequestError(`end_time ${req.endTime} is before start_time ${req.startTime}`);
        }
        const blocks = metastore.queryMetadata({
          tenants: req.tenantId,
          startMs: Number(req.startTime),
          ...(req.endTime !== 0n ? { endMs: Number(req.endTime) } : {}),
          matchers: parseSelector(req.query),
        });
        return create(QueryMetadataResponseSchema, { blocks });
      } catch (err) {
        throw toConnectError(err);
      }
    },
  };
}

/** A Connect (HTTP/1.1) client of a metastore's IndexService at `baseUrl`. */
export function createIndexClient(baseUrl: string): Client<typeof IndexService> {
  return createClient(IndexService, createConnectTransport({ baseUrl, httpVersion: '1.1' }));
}

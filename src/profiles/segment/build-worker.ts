// Entry point of a segment build worker thread (started by build-pool.ts).
// It hosts one SegmentBuilder per segment the pool assigned to it, feeds each
// the batches of request parts in the order they arrive, and on 'close'
// posts the encoded block back, transferring its bytes. A segment spread over
// several workers is closed with `partial` on all but one, which answer with
// their datasets unencoded; the last one merges those and encodes.

import { toBinary } from '@bufbuild/protobuf';
import v8 from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { BlockMetaSchema } from '../../gen/metastore/v1/types_pb.js';
import { type EncodedRowGroups, type RowGroupOffload, encodeRowGroupsApart } from '../block/profiles.js';
import { type FromWorker, type ToWorker, type WireBuilt, type WirePartial, headBuffers, packHead, rowBuffers, unpackBatch, unpackHead } from './build-protocol.js';
import { type BuilderOptions, SegmentBuilder, inflateAhead } from './segment-builder.js';

const port = parentPort!;
const opts = workerData as BuilderOptions;

interface Build {
  builder: SegmentBuilder;
  /** Every add and the final encode, in message order. */
  chain: Promise<void>;
}
const builds = new Map<string, Build>();

const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Row groups this worker, as a segment's primary, has another worker encode: by job number. */
const offloads = new Map<number, { segment: string; resolve: (r: EncodedRowGroups) => void; reject: (e: Error) => void }>();
let nextJob = 0;

/** Has the pool pass rows to another worker of the segment (see encodeProfilesTable), their buffers transferred. */
function offloadFor(segment: string): RowGroupOffload {
  return (rows) =>
    new Promise((resolve, reject) => {
      const job = nextJob++;
      offloads.set(job, { segment, resolve, reject });
      post({ type: 'offload', segment, job, rows }, rowBuffers(rows));
    });
}

/** A view's ArrayBuffer, whole: transferable only when nothing else lives in it. */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'open':
      builds.set(m.segment, { builder: new SegmentBuilder(opts, m.segment, m.shard), chain: Promise.resolve() });
      return;
    case 'add': {
      const bytes = m.batch.buffer.byteLength;
      const b = builds.get(m.segment);
      if (!b) return post({ type: 'progress', bytes });
      const parts = unpackBatch(m.batch);
      for (const part of parts) inflateAhead(part, opts.validation);
      // After a turn of the event loop: messages already queued are taken in
      // first, so a row-group job that another segment's primary waits on
      // (encode-rows) starts before this worker's queued batches, not after.
      b.chain = b.chain.then(nextTurn).then(async () => {
        for (const part of parts) await b.builder.add(part);
      });
      // A failed batch is reported when its segment closes; here it only leaves the queue.
      b.chain.finally(() => post({ type: 'progress', bytes })).catch(() => undefined);
      return;
    }
    case 'abort':
      builds.delete(m.segment);
      for (const [job, o] of offloads) {
        if (o.segment !== m.segment) continue;
        offloads.delete(job);
        o.reject(new Error('segment aborted'));
      }
      return;
    case 'encode-rows':
      encodeRowGroupsApart(m.rows)
        .then((result) => post({ type: 'rows-encoded', segment: m.segment, job: m.job, result }, [result.bytes.buffer as ArrayBuffer]))
        .catch((e: unknown) => post({ type: 'rows-failed', segment: m.segment, job: m.job, message: (e as Error).message }));
      return;
    case 'rows-encoded':
    case 'rows-failed': {
      const o = offloads.get(m.job);
      if (!o) return;
      offloads.delete(m.job);
      if (m.type === 'rows-encoded') o.resolve(m.result);
      else o.reject(new Error(`encoding row groups on another worker failed: ${m.message}`));
      return;
    }
    case 'close': {
      const b = builds.get(m.segment);
      if (!b) return;
      builds.delete(m.segment);
      if (m.partial) {
        b.chain
          .then(() => {
            const p = b.builder.partial();
            const heads = p.datasets.map(packHead);
            b.builder.release();
            const reply: WirePartial = {
              type: 'partial',
              segment: m.segment,
              parts: p.outcomes.length,
              rejections: [],
              heads,
              acceptedProfiles: p.acceptedProfiles,
              rejectedRequests: p.rejectedRequests,
            };
            p.outcomes.forEach((o, i) => {
              if (o.status !== 0) reply.rejections.push([i, o]);
            });
            post(reply, heads.flatMap(headBuffers));
          })
          .catch((e: unknown) => post({ type: 'failed', segment: m.segment, message: (e as Error).message }));
        return;
      }
      b.chain
        .then(() => {
          if (m.merge) b.builder.merge(m.merge.map(unpackHead));
          return b.builder.finish(m.helper ? offloadFor(m.segment) : undefined);
        })
        .then((built) => {
          const bytes = built.block ? ownBuffer(built.block.bytes) : undefined;
          const reply: WireBuilt = {
            type: 'built',
            segment: m.segment,
            parts: built.outcomes.length,
            rejections: [],
            block: built.block ? { bytes: bytes!, meta: toBinary(BlockMetaSchema, built.block.meta) } : null,
            acceptedProfiles: built.acceptedProfiles,
            rejectedRequests: built.rejectedRequests,
          };
          built.outcomes.forEach((o, i) => {
            if (o.status !== 0) reply.rejections.push([i, o]);
          });
          post(reply, bytes ? [bytes.buffer as ArrayBuffer] : []);
        })
        .catch((e: unknown) => post({ type: 'failed', segment: m.segment, message: (e as Error).message }));
      return;
    }
  }
});

post({ type: 'ready', heapSizeLimit: v8.getHeapStatistics().heap_size_limit });

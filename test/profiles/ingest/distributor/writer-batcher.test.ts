// The batcher: concurrent pushes share one RPC, each keeps its own result.

import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { type PushRequest, PushRequestSchema, PushResponseSchema } from '../../../../src/gen/segmentwriter/v1/push_pb.js';
import { BatchingWriterClient } from '../../../../src/profiles/ingest/writer-batcher.js';

const req = (service: string, bytes: number, profiles = 1) =>
  create(PushRequestSchema, {
    profiles: Array.from({ length: profiles }, () => ({ tenantId: 't', labels: [{ name: 'service_name', value: service }], profile: new Uint8Array(bytes) })),
  });

describe('BatchingWriterClient', () => {
  it('sends pushes made together as one RPC and hands each its own result', async () => {
    const calls: PushRequest[] = [];
    const rpc = {
      async push(r: PushRequest) {
        calls.push(r);
        // The fake writer rejects request 1 of the batch, accepts the others.
        const n = Math.max(...r.profiles.map((p) => p.request)) + 1;
        return create(PushResponseSchema, {
          results: Array.from({ length: n }, (_, i) => (i === 1 ? { status: 400, message: 'bad', reason: 'malformed_profile' } : { status: 0 })),
        });
      },
    };
    const b = new BatchingWriterClient(rpc, { maxBatchBytes: 1 << 20, windowMs: 5 });
    const [a, bad, c] = await Promise.all([b.push(req('a', 10, 2)), b.push(req('b', 10)), b.push(req('c', 10))]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.profiles.map((p) => [p.labels[0]!.value, p.request])).toEqual([['a', 0], ['a', 0], ['b', 1], ['c', 2]]);
    expect(a.results).toEqual([expect.objectContaining({ status: 0 })]);
    expect(bad.results).toEqual([expect.objectContaining({ status: 400, message: 'bad', reason: 'malformed_profile' })]);
    expect(c.results).toEqual([expect.objectContaining({ status: 0 })]);
  });

  it('sends a batch as soon as it holds maxBatchBytes, without waiting for the window', async () => {
    const calls: PushRequest[] = [];
    const rpc = { push: async (r: PushRequest) => (calls.push(r), create(PushResponseSchema, { results: [{ status: 0 }, { status: 0 }] })) };
    const b = new BatchingWriterClient(rpc, { maxBatchBytes: 100, windowMs: 60_000 });
    await Promise.all([b.push(req('a', 60)), b.push(req('b', 60))]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.profiles).toHaveLength(2);
  });

  it('fails every push of a batch whose RPC failed', async () => {
    const rpc = { push: async () => Promise.reject(new Error('connection refused')) };
    const b = new BatchingWriterClient(rpc, { maxBatchBytes: 1 << 20, windowMs: 1 });
    const outcomes = await Promise.allSettled([b.push(req('a', 1)), b.push(req('b', 1))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });
});

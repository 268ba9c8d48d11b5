// The batcher: concurrent pushes share one RPC, each keeps its own outcome.

import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { type PushRequest, PushResponseSchema } from '../../../../src/gen/segmentwriter/v1/push_pb.js';
import { BatchingWriterClient } from '../../../../src/profiles/ingest/writer-batcher.js';
import type { ProfileInput } from '../../../../src/profiles/segment/writer.js';

const request = (service: string, bytes: number, profiles = 1): ProfileInput[] =>
  Array.from({ length: profiles }, (_, i) => ({
    tenant: 't',
    labels: [['service_name', service]],
    profile: new Uint8Array(bytes).fill(i + 1),
    profileId: new Uint8Array(16).fill(i),
    shard: 3,
    defaultTimeNanos: 1_700_000_000_000_000_000n,
  }));

describe('BatchingWriterClient', () => {
  it('sends pushes made together as one RPC and hands each its own outcome', async () => {
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
    const [a, bad, c] = await Promise.all([b.push(request('a', 10, 2)), b.push(request('b', 10)), b.push(request('c', 10))]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.profiles.map((p) => [p.labels[0]!.value, p.request])).toEqual([['a', 0], ['a', 0], ['b', 1], ['c', 2]]);
    expect(a).toEqual({ status: 0, message: '', reason: '' });
    expect(bad).toEqual({ status: 400, message: 'bad', reason: 'malformed_profile' });
    expect(c).toEqual({ status: 0, message: '', reason: '' });
  });

  it('puts every field of a profile into the RPC', async () => {
    const calls: PushRequest[] = [];
    const rpc = { push: async (r: PushRequest) => (calls.push(r), create(PushResponseSchema, { results: [{ status: 0 }] })) };
    const b = new BatchingWriterClient(rpc, { maxBatchBytes: 1 << 20, windowMs: 1 });
    await b.push(request('a', 4, 2));
    const p = calls[0]!.profiles[1]!;
    expect([p.tenantId, p.labels.map((l) => [l.name, l.value]), Array.from(p.profile), Array.from(p.profileId), p.shard, p.defaultTimeNanos]).toEqual([
      't', [['service_name', 'a']], [2, 2, 2, 2], Array(16).fill(1), 3, 1_700_000_000_000_000_000n,
    ]);
  });

  it('sends a batch as soon as it holds maxBatchBytes, without waiting for the window', async () => {
    const calls: PushRequest[] = [];
    const rpc = { push: async (r: PushRequest) => (calls.push(r), create(PushResponseSchema, { results: [{ status: 0 }, { status: 0 }] })) };
    const b = new BatchingWriterClient(rpc, { maxBatchBytes: 100, windowMs: 60_000 });
    await Promise.all([b.push(request('a', 60)), b.push(request('b', 60))]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.profiles).toHaveLength(2);
  });

  it('fails every push of a batch whose RPC failed, and a push the answer has no result for', async () => {
    const failing = new BatchingWriterClient({ push: async () => Promise.reject(new Error('connection refused')) }, { maxBatchBytes: 1 << 20, windowMs: 1 });
    const outcomes = await Promise.allSettled([failing.push(request('a', 1)), failing.push(request('b', 1))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    const short = new BatchingWriterClient({ push: async () => create(PushResponseSchema, { results: [{ status: 0 }] }) }, { maxBatchBytes: 1 << 20, windowMs: 1 });
    const answered = await Promise.allSettled([short.push(request('a', 1)), short.push(request('b', 1))]);
    expect(answered.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
  });
});

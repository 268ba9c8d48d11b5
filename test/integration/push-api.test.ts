// Pushes real profiles through every protocol Kiln's ingest speaks, then reads
// the stored blocks back and compares every label and stack value with a
// decode of the input by the reference decoder (pprof-format).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PusherService } from '../../src/gen/push/v1/push_pb.js';
import { type KilnProcess, startKiln } from '../helpers/kiln-process.js';
import { expectedSeries } from '../helpers/reference-profile.js';
import { type StoredProfile, dataDirOf, readStoredProfiles } from '../helpers/stored-profiles.js';

const root = path.resolve(import.meta.dirname, '../..');
const profile = (name: string) => readFileSync(path.join(root, 'testdata/profiles', name));

let kiln: KilnProcess;
let stored: StoredProfile[];

/** Every protocol pushes its own service so stored rows can be told apart. */
const pushes: { service: string; file: string; name: string; id: string }[] = [];

beforeAll(async () => {
  kiln = await startKiln();
});
afterAll(async () => {
  await kiln?.stop();
});

function labelsFor(service: string, name: string) {
  return [
    { name: '__name__', value: name },
    { name: 'service_name', value: service },
    { name: 'env', value: 'test' },
  ];
}

describe('push.v1.PusherService/Push', () => {
  it('accepts Connect protobuf over HTTP/1.1', async () => {
    const id = randomUUID();
    const client = createClient(PusherService, createConnectTransport({ baseUrl: kiln.url, httpVersion: '1.1' }));
    await client.push({ series: [{ labels: labelsFor('connect-h1', 'process_cpu'), samples: [{ rawProfile: profile('go-cpu.pb.gz'), ID: id }] }] });
    pushes.push({ service: 'connect-h1', file: 'go-cpu.pb.gz', name: 'process_cpu', id });
  });

  it('accepts Connect protobuf over h2c', async () => {
    const id = randomUUID();
    const client = createClient(PusherService, createConnectTransport({ baseUrl: kiln.url, httpVersion: '2' }));
    await client.push({ series: [{ labels: labelsFor('connect-h2', 'memory'), samples: [{ rawProfile: profile('go-heap.pb.gz'), ID: id }] }] });
    pushes.push({ service: 'connect-h2', file: 'go-heap.pb.gz', name: 'memory', id });
  });

  it('accepts Connect JSON from a plain HTTP client', async () => {
    const id = randomUUID();
    const res = await fetch(`${kiln.url}/push.v1.PusherService/Push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        series: [{ labels: labelsFor('connect-json', 'wall'), samples: [{ rawProfile: profile('node-wall-cpu.pb.gz').toString('base64'), ID: id }] }],
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    pushes.push({ service: 'connect-json', file: 'node-wall-cpu.pb.gz', name: 'wall', id });
  });

  it('accepts gRPC from connect-es', async () => {
    const id = randomUUID();
    const client = createClient(PusherService, createGrpcTransport({ baseUrl: kiln.url }));
    await client.push({ series: [{ labels: labelsFor('grpc-connect-es', 'memory'), samples: [{ rawProfile: profile('node-heap.pb.gz'), ID: id }] }] });
    pushes.push({ service: 'grpc-connect-es', file: 'node-heap.pb.gz', name: 'memory', id });
  });

  it('accepts gRPC-Web', async () => {
    const id = randomUUID();
    const client = createClient(PusherService, createGrpcWebTransport({ baseUrl: kiln.url, httpVersion: '1.1' }));
    await client.push({ series: [{ labels: labelsFor('grpc-web', 'mutex'), samples: [{ rawProfile: profile('go-block.pb.gz'), ID: id }] }] });
    pushes.push({ service: 'grpc-web', file: 'go-block.pb.gz', name: 'mutex', id });
  });

  it('accepts gRPC from a grpc-js client', async () => {
    const def = protoLoader.loadSync('push/v1/push.proto', { includeDirs: [path.join(root, 'proto')], keepCase: true, longs: String });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      push: { v1: { PusherService: new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client & { Push: (req: unknown, cb: (err: grpc.ServiceError | null) => void) => void } } };
    };
    const client = new pkg.push.v1.PusherService(`127.0.0.1:${kiln.port}`, grpc.credentials.createInsecure());
    const id = randomUUID();
    const labels = labelsFor('grpc-js', 'process_cpu');
    await new Promise<void>((resolve, reject) =>
      client.Push({ series: [{ labels, samples: [{ raw_profile: profile('synthetic-large.pb.gz'), ID: id }] }] }, (err) => (err ? reject(err) : resolve())),
    ).catch((e: grpc.ServiceError) => {
      // The synthetic profile is 6.9 MB raw, over the default 4 MiB limit: grpc-js must see the limit error.
      // (grpc-js leaves connect-node's %3D/%2C escapes of grpc-message in place, hence the decode.)
      expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(decodeURIComponent(e.details)).toContain('max_profile_size_byte');
    });
    const id2 = randomUUID();
    await new Promise<void>((resolve, reject) =>
      client.Push({ series: [{ labels, samples: [{ raw_profile: profile('go-cpu.pb.gz'), ID: id2 }] }] }, (err) => (err ? reject(err) : resolve())),
    );
    client.close();
    pushes.push({ service: 'grpc-js', file: 'go-cpu.pb.gz', name: 'process_cpu', id: id2 });
  });
});

describe('malformed protobuf over gRPC', () => {
  it('answers INVALID_ARGUMENT, not INTERNAL, to a body that is not a PushRequest', async () => {
    const client = new grpc.Client(`127.0.0.1:${kiln.port}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest(
        '/push.v1.PusherService/Push',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0xff]),
        (e) => resolve(e),
      ),
    );
    client.close();
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('legacy /ingest', () => {
  it('accepts raw gzipped pprof with format=pprof', async () => {
    const now = Math.floor(Date.now() / 1000);
    const res = await fetch(`${kiln.url}/ingest?name=${encodeURIComponent('ingest-pprof{env=test}')}&format=pprof&from=${now - 10}&until=${now}&spyName=gospy`, {
      method: 'POST',
      body: profile('go-cpu.pb.gz'),
    });
    expect(res.status).toBe(200);
    pushes.push({ service: 'ingest-pprof', file: 'go-cpu.pb.gz', name: 'process_cpu', id: '' });
  });

  it('accepts folded text and scales counts by the sample rate', async () => {
    const res = await fetch(`${kiln.url}/pyroscope/ingest?name=${encodeURIComponent('folded-app.cpu{env=test}')}&sampleRate=100&spyName=pyspy`, {
      method: 'POST',
      body: profile('folded.txt'),
    });
    expect(res.status).toBe(200);
  });
});

describe('operations endpoints', () => {
  it('answers /ready and counts pushes and segments in /metrics', async () => {
    expect((await fetch(`${kiln.url}/ready`)).status).toBe(200);
    const text = await (await fetch(`${kiln.url}/metrics`)).text();
    const value = (re: RegExp) => Number(text.match(re)?.[1] ?? NaN);
    // 7 profiles pushed through push.v1 and /ingest so far, plus the folded one.
    expect(value(/^kiln_distributor_received_profiles_total\{tenant="anonymous"\} (\d+)$/m)).toBe(8);
    expect(value(/^kiln_segment_writer_segments_total\{status="success"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^kiln_discarded_profiles_total\{reason="profile_size_limit",tenant="anonymous"\} (\d+)$/m)).toBe(1);
    expect(text).toContain('process_cpu_seconds_total');
  });
});

describe('what was stored', () => {
  beforeAll(async () => {
    stored = (await readStoredProfiles(dataDirOf(kiln.dir))).profiles;
  });

  it('stored every pushed profile exactly, sample type by sample type', () => {
    expect(pushes.length).toBe(7);
    for (const push of pushes) {
      const rows = stored.filter((r) => r.labels.service_name === push.service);
      const expected = expectedSeries(profile(push.file));
      for (const e of expected) {
        const profileType = `${push.name}:${e.type}:${e.unit}:${e.periodType}:${e.periodUnit}`;
        const ofType = rows.filter((r) => r.labels.__profile_type__ === profileType);
        expect(ofType.length, `${push.service} ${profileType}`).toBeGreaterThan(0);
        // Sample labels may split one profile into several series: sum them back.
        const stacks = new Map<string, number>();
        for (const r of ofType) for (const [k, v] of r.stacks) stacks.set(k, (stacks.get(k) ?? 0) + v);
        expect(ofType.reduce((s, r) => s + r.total, 0), `${push.service} ${profileType} total`).toBe(e.total);
        expect(stacks, `${push.service} ${profileType} stacks`).toEqual(e.stacks);
        for (const r of ofType) {
          expect(r.tenant).toBe('anonymous');
          expect(r.labels).toMatchObject({
            __name__: push.name,
            __type__: e.type,
            __unit__: e.unit,
            __period_type__: e.periodType,
            __period_unit__: e.periodUnit,
            env: 'test',
          });
          if (push.id) expect(r.profileId).toBe(push.id.replaceAll('-', ''));
        }
      }
    }
  });

  it('labels /ingest pushes as Pyroscope does', () => {
    const rows = stored.filter((r) => r.labels.service_name === 'ingest-pprof');
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.labels.pyroscope_spy).toBe('gospy');
    // Go CPU samples under pprof.Do(…, Labels("endpoint", …)) become their own series.
    expect(new Set(rows.map((r) => r.labels.endpoint))).toEqual(new Set([undefined, '/api/a', '/api/b']));
  });

  it('stored folded text as a process_cpu profile in nanoseconds', () => {
    const rows = stored.filter((r) => r.labels.service_name === 'folded-app');
    expect(rows).toHaveLength(1);
    const r = rows[0]!;
    expect(r.labels).toMatchObject({
      __name__: 'process_cpu',
      __profile_type__: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
      pyroscope_spy: 'pyspy',
    });
    // folded.txt holds 3041 samples in all; at 100 Hz each is 10 ms.
    expect(r.total).toBe(3041 * 10_000_000);
    // One stack appears twice in the file (402 + 18): stored once with the sum.
    const text = readFileSync(path.join(root, 'testdata/profiles/folded.txt'), 'utf8');
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const counts = new Map<string, number>();
    for (const l of lines) {
      const at = l.lastIndexOf(' ');
      const key = l.slice(0, at).split(';').reverse().join(';');
      counts.set(key, (counts.get(key) ?? 0) + Number(l.slice(at + 1)) * 10_000_000);
    }
    expect(r.stacks).toEqual(counts);
  });
});

// A distributor in one process and the segment writer + metastore in another:
// the distributor → segment writer hop goes over segmentwriter.v1 Connect
// (h2c), which `-target=all` skips by calling the writer directly.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PusherService } from '../../src/gen/push/v1/push_pb.js';
import { type KilnProcess, startKiln } from '../helpers/kiln-process.js';
import { dataDirOf, readStoredProfiles } from '../helpers/stored-profiles.js';

const root = path.resolve(import.meta.dirname, '../..');
const goCpu = readFileSync(path.join(root, 'testdata/profiles/go-cpu.pb.gz'));

let writer: KilnProcess;
let distributor: KilnProcess;

beforeAll(async () => {
  writer = await startKiln(['-target=segment-writer,metastore']);
  distributor = await startKiln(['-target=distributor', `-distributor.segment-writer-address=${writer.url}`]);
});
afterAll(async () => {
  await distributor?.stop();
  await writer?.stop();
});

describe('split targets', () => {
  it('stores what the distributor accepts, answers rejections, and keeps a request spanning shards whole', async () => {
    const client = createClient(PusherService, createConnectTransport({ baseUrl: distributor.url, httpVersion: '1.1' }));
    const ingest = await fetch(`${distributor.url}/ingest?name=split-ingest&format=pprof`, { method: 'POST', body: goCpu });
    expect(ingest.status).toBe(200);

    // split-a and split-b (like split-c and split-d) map to different shards of the default 4.
    const ids = [randomUUID(), randomUUID()];
    await client.push({
      series: [
        { labels: [{ name: 'service_name', value: 'split-a' }], samples: [{ rawProfile: goCpu, ID: ids[0]! }] },
        { labels: [{ name: 'service_name', value: 'split-b' }], samples: [{ rawProfile: goCpu, ID: ids[1]! }] },
      ],
    });

    // One bad profile among services of several shards: nothing of the request is stored.
    const bad = client.push({
      series: [
        { labels: [{ name: 'service_name', value: 'split-c' }], samples: [{ rawProfile: goCpu }] },
        { labels: [{ name: 'service_name', value: 'split-d' }], samples: [{ rawProfile: Uint8Array.from([0xff, 0xff, 0xff]) }] },
      ],
    });
    await expect(bad).rejects.toThrow(/malformed profile/);

    const { profiles } = await readStoredProfiles(dataDirOf(writer.dir));
    const services = new Set(profiles.map((p) => p.labels.service_name));
    expect([...services].sort()).toEqual(['split-a', 'split-b', 'split-ingest']);
    const idsOf = (service: string) => [...new Set(profiles.filter((p) => p.labels.service_name === service).map((p) => p.profileId))];
    expect([idsOf('split-a'), idsOf('split-b')]).toEqual(ids.map((id) => [id.replaceAll('-', '')]));
    // The distributor's process stores nothing itself.
    expect((await readStoredProfiles(dataDirOf(distributor.dir))).profiles).toEqual([]);
  });
});

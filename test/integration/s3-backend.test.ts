// kiln serve with -storage.backend=s3 against a real S3 server (s3rver) on
// loopback: pushes are acknowledged only once their segment is in the bucket,
// and what is there reads back exactly.

import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Bucket } from '../../src/objstore/s3.js';
import { BlockReader } from '../../src/profiles/block/reader.js';
import { type KilnProcess, startKiln } from '../helpers/kiln-process.js';
import { expectedSeries } from '../helpers/reference-profile.js';
import { startS3rver } from '../helpers/s3rver.js';

const KEY = 'S3RVER';
const goCpu = readFileSync(path.resolve(import.meta.dirname, '../../testdata/profiles/go-cpu.pb.gz'));
let s3rver: ChildProcess;
let endpoint: string;
let kiln: KilnProcess;

beforeAll(async () => {
  const started = await startS3rver(mkdtempSync(path.join(os.tmpdir(), 'kiln-s3-e2e-')));
  s3rver = started.proc;
  endpoint = `http://127.0.0.1:${started.port}`;
  const admin = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: KEY } });
  await admin.send(new CreateBucketCommand({ Bucket: 'profiles' }));
  admin.destroy();
  kiln = await startKiln([
    '-storage.backend=s3',
    `-storage.s3.endpoint=${endpoint}`,
    '-storage.s3.bucket-name=profiles',
    `-storage.s3.access-key-id=${KEY}`,
    `-storage.s3.secret-access-key=${KEY}`,
    '-storage.s3.force-path-style',
  ]);
});

afterAll(async () => {
  await kiln?.stop();
  s3rver?.kill();
});

describe('S3 backend', () => {
  it('stores acknowledged pushes as segment objects in the bucket', async () => {
    const res = await fetch(`${kiln.url}/ingest?name=${encodeURIComponent('s3-app{env=test}')}&format=pprof`, { method: 'POST', body: goCpu });
    expect(res.status).toBe(200);

    const bucket = new S3Bucket({ endpoint, bucket: 'profiles', region: 'us-east-1', accessKeyId: KEY, secretAccessKey: KEY, forcePathStyle: true });
    const objects = await bucket.list('segments/');
    expect(objects).toHaveLength(1);
    expect(objects[0]!.key).toMatch(/^segments\/\d+\/anonymous\/[0-9A-Z]{26}\/block\.bin$/);
    const reader = await BlockReader.open(bucket, objects[0]!.key);
    const [ds] = reader.datasets();
    expect(ds).toMatchObject({ tenant: 'anonymous', name: 's3-app' });
    const series = await reader.readSeries(ds!);
    let cpuTotal = 0;
    for await (const row of reader.rows(ds!)) {
      if (Object.fromEntries(series[row.seriesIndex]!).__type__ === 'cpu') cpuTotal += row.totalValue;
    }
    expect(cpuTotal).toBe(expectedSeries(goCpu).find((s) => s.type === 'cpu')!.total);
    await bucket.close();
  });
});

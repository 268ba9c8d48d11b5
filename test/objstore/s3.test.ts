// S3Bucket against a real s3rver on a loopback port. s3rver runs in a child
// process started with --openssl-legacy-provider (see s3rver-child.mjs).
import type { ChildProcess } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectNotFoundError, PreconditionFailedError } from '../../src/objstore/bucket.js';
import { S3Bucket, type S3Options } from '../../src/objstore/s3.js';
import { startS3rver } from '../helpers/s3rver.js';
import { bucketConformance, pattern } from './conformance.js';

// s3rver's fixed credentials.
const KEY = 'S3RVER';

let child: ChildProcess | undefined;
let dataDir = '';
let endpoint = '';
let admin: S3Client | undefined;
let bucketSeq = 0;

function options(bucket: string): S3Options {
  return { endpoint, bucket, region: 'us-east-1', accessKeyId: KEY, secretAccessKey: KEY, forcePathStyle: true };
}

/** Creates a new, empty bucket on the server and returns its name. */
async function newBucket(): Promise<string> {
  const name = `kiln-test-${++bucketSeq}`;
  await admin!.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'kiln-s3rver-'));
  const started = await startS3rver(dataDir);
  child = started.proc;
  endpoint = `http://127.0.0.1:${started.port}`;
  admin = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: KEY, secretAccessKey: KEY },
  });
});

afterAll(async () => {
  admin?.destroy();
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

// A small page size makes the 40-key listing span 6 ListObjectsV2 pages.
bucketConformance('s3 (s3rver)', async () => new S3Bucket(options(await newBucket()), { pageSize: 7 }), {
  rangeOnEmptyObject: false,
  atomicConcurrentPuts: false,
  conditionalWrites: false,
});

describe('S3Bucket', () => {
  it('pages through more than 1000 keys with the default page size', async () => {
    const b = new S3Bucket(options(await newBucket()));
    try {
      const keys = Array.from({ length: 1003 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((k) => b.put(k, new Uint8Array([1, 2]))));
      }
      const got = await b.list('many/');
      expect(got.length).toBe(1003);
      expect(got.map((o) => o.key)).toEqual(keys);
    } finally {
      await b.close();
    }
  });

  it('uses the default credential chain when no keys are given', async () => {
    const name = await newBucket();
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = KEY;
    process.env.AWS_SECRET_ACCESS_KEY = KEY;
    const b = new S3Bucket({ ...options(name), accessKeyId: '', secretAccessKey: '' });
    try {
      await b.put('cred', pattern(10));
      expect([...(await b.get('cred'))]).toEqual([...pattern(10)]);
    } finally {
      await b.close();
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });

  it('sends the configured keys (wrong keys are refused)', async () => {
    const b = new S3Bucket({ ...options(await newBucket()), accessKeyId: 'WRONG', secretAccessKey: 'WRONG' });
    try {
      await expect(b.put('k', new Uint8Array(1))).rejects.toThrow(/s3 put "k" in bucket "kiln-test-\d+" failed: /);
    } finally {
      await b.close();
    }
  });

  it('names the operation, key and bucket in errors', async () => {
    const b = new S3Bucket(options('no-such-bucket'));
    try {
      await expect(b.put('x/y', new Uint8Array(1))).rejects.toThrow(
        /^s3 put "x\/y" in bucket "no-such-bucket" failed: NoSuchBucket \(HTTP 404\)/,
      );
      await expect(b.list('x/')).rejects.toThrow(/^s3 list "x\/" in bucket "no-such-bucket" failed: NoSuchBucket/);
      // A missing bucket is not a missing object.
      const err = await b.get('x/y').catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(ObjectNotFoundError);
    } finally {
      await b.close();
    }
  });

  it('only computes checksums when the API requires them', async () => {
    // The SDK default wraps bodies in aws-chunked framing with trailing
    // checksums, which s3rver stores verbatim (ecosystem spec §8).
    const b = new S3Bucket(options(await newBucket()));
    try {
      const config = b['client'].config;
      expect(await config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
      expect(await config.responseChecksumValidation()).toBe('WHEN_REQUIRED');
    } finally {
      await b.close();
    }
  });

  // s3rver ignores conditional headers, so check what putIfMatch sends and how
  // it reads S3's answers against a scripted loopback server instead.
  it('sends If-Match / If-None-Match and maps 412 and 409 to PreconditionFailedError', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const answers: [number, string][] = [
      [200, ''],
      [412, '<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>'],
      [409, '<Error><Code>ConditionalRequestConflict</Code><Message>conflict</Message></Error>'],
      [404, '<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>'],
    ];
    const server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => {
        const [status, body] = answers.shift()!;
        res.writeHead(status, { etag: '"etag-2"', 'content-type': 'application/xml' }).end(body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const b = new S3Bucket({ ...options('cas'), endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    try {
      expect(await b.putIfMatch('k', new Uint8Array([1]), null)).toBe('"etag-2"');
      expect(seen[0]!['if-none-match']).toBe('*');
      expect(seen[0]!['if-match']).toBeUndefined();
      await expect(b.putIfMatch('k', new Uint8Array([1]), '"etag-1"')).rejects.toThrow(/precondition failed for k: the object has changed/);
      expect(seen[1]!['if-match']).toBe('"etag-1"');
      await expect(b.putIfMatch('k', new Uint8Array([1]), '"etag-1"')).rejects.toBeInstanceOf(PreconditionFailedError);
      await expect(b.putIfMatch('k', new Uint8Array([1]), '"etag-1"')).rejects.toThrow(/the object does not exist/);
    } finally {
      await b.close();
      server.close();
    }
  });

  it('rejects a bad page size', () => {
    expect(() => new S3Bucket(options('x'), { pageSize: 0 })).toThrow(/pageSize must be an integer in 1..1000/);
  });

  it('fails with a clear error after close', async () => {
    const b = new S3Bucket(options(await newBucket()));
    await b.close();
    await expect(b.put('k', new Uint8Array(1))).rejects.toThrow(/^s3 bucket "kiln-test-\d+" is closed$/);
    await expect(b.list('')).rejects.toThrow(/is closed/);
  });
});

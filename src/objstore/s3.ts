// A Bucket over any S3-compatible service (AWS S3, MinIO, Ceph RGW, s3rver in
// tests) through @aws-sdk/client-s3. S3 PUTs are atomic by themselves, so no
// temp-object dance is needed here. Conditional writes (putIfMatch) use S3's
// own If-Match / If-None-Match on PutObject (AWS S3 since 2024, MinIO, Ceph).
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ObjectNotFoundError, PreconditionFailedError, type Bucket, type ObjectInfo, type VersionedObject } from './bucket.js';
import { compareKeys, validateObjectKey, validateRange } from './filesystem.js';

export interface S3Options {
  /** Service URL, e.g. http://127.0.0.1:9000; empty means AWS's own endpoint for the region. */
  endpoint: string;
  bucket: string;
  region: string;
  /** Empty key id and secret mean: use the SDK's default credential chain (env, profile, IMDS…). */
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style URLs (http://host/bucket/key); needed by most self-hosted S3-compatibles. */
  forcePathStyle: boolean;
}

/** Knobs that are not configuration but are useful in tests. */
export interface S3BucketTuning {
  /** MaxKeys per ListObjectsV2 page (default: server default, 1000 on S3). */
  pageSize?: number;
}

interface AwsErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function awsError(err: unknown): AwsErrorShape {
  return typeof err === 'object' && err !== null ? (err as AwsErrorShape) : {};
}

function isNotFound(err: unknown): boolean {
  const e = awsError(err);
  // A missing bucket is a configuration error, not a missing object.
  if (e.name === 'NoSuchBucket' || e.Code === 'NoSuchBucket') return false;
  // HeadObject has no body, so a missing key arrives as a bare 404 ("NotFound").
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.Code === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

/**
 * 412: the ETag did not match (or the object exists, for If-None-Match: *).
 * 409 ConditionalRequestConflict: AWS saw a concurrent conditional write of the
 * same key; the caller re-reads and retries just the same.
 */
function isPreconditionFailed(err: unknown): boolean {
  const e = awsError(err);
  const status = e.$metadata?.httpStatusCode;
  return e.name === 'PreconditionFailed' || e.Code === 'PreconditionFailed' || status === 412 || e.name === 'ConditionalRequestConflict' || status === 409;
}

function isInvalidRange(err: unknown): boolean {
  const e = awsError(err);
  return e.name === 'InvalidRange' || e.Code === 'InvalidRange' || e.$metadata?.httpStatusCode === 416;
}

export class S3Bucket implements Bucket {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly pageSize: number | undefined;
  private closed = false;

  constructor(opts: S3Options, tuning: S3BucketTuning = {}) {
    if (!opts.bucket) throw new Error('s3 bucket: bucket name is required (-storage.s3.bucket)');
    if (opts.endpoint) {
      try {
        new URL(opts.endpoint);
      } catch {
        throw new Error(`s3 bucket: invalid endpoint URL ${JSON.stringify(opts.endpoint)} (-storage.s3.endpoint)`);
      }
    }
    if (Boolean(opts.accessKeyId) !== Boolean(opts.secretAccessKey)) {
      throw new Error('s3 bucket: give both access key id and secret access key, or neither to use the default credential chain');
    }
    if (tuning.pageSize !== undefined && (!Number.isSafeInteger(tuning.pageSize) || tuning.pageSize < 1 || tuning.pageSize > 1000)) {
      throw new Error(`s3 bucket: pageSize must be an integer in 1..1000, got ${tuning.pageSize}`);
    }
    this.bucket = opts.bucket;
    this.pageSize = tuning.pageSize;
    const config: S3ClientConfig = {
      region: opts.region || 'us-east-1',
      forcePathStyle: opts.forcePathStyle,
      // The SDK's default (WHEN_SUPPORTED) sends aws-chunked bodies with
      // trailing checksums, which s3rver and other S3-compatibles store
      // verbatim, corrupting the object. Only checksum when the API requires it.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    if (opts.endpoint) config.endpoint = opts.endpoint;
    if (opts.accessKeyId) config.credentials = { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey };
    this.client = new S3Client(config);
  }

  /** The SDK would quietly open new sockets after destroy(); make use-after-close loud. */
  private checkOpen(): void {
    if (this.closed) throw new Error(`s3 bucket ${JSON.stringify(this.bucket)} is closed`);
  }

  /** Adds the operation and key to SDK errors so a log line says what failed. */
  private wrap(op: string, key: string, err: unknown): Error {
    const e = awsError(err);
    const msg = err instanceof Error ? err.message : String(err);
    const status = e.$metadata?.httpStatusCode;
    return new Error(
      `s3 ${op} ${JSON.stringify(key)} in bucket ${JSON.stringify(this.bucket)} failed: ${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${msg}`,
      { cause: err },
    );
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    this.checkOpen();
    validateObjectKey(key);
    if (!(body instanceof Uint8Array)) throw new Error(`put ${JSON.stringify(key)}: body must be a Uint8Array`);
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.byteLength }),
      );
    } catch (err) {
      throw this.wrap('put', key, err);
    }
  }

  /** Streams the file as one PutObject with its length (no aws-chunked encoding, which s3rver stores verbatim). */
  async putFile(key: string, path: string): Promise<void> {
    this.checkOpen();
    validateObjectKey(key);
    if (typeof path !== 'string' || path === '') throw new Error(`putFile ${JSON.stringify(key)}: path must be a non-empty string`);
    const info = await stat(path);
    if (!info.isFile()) throw new Error(`putFile ${JSON.stringify(key)}: ${path} is not a regular file`);
    const body = createReadStream(path);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: info.size }));
    } catch (err) {
      throw this.wrap('put', key, err);
    } finally {
      body.destroy();
    }
  }

  async get(key: string): Promise<Uint8Array> {
    this.checkOpen();
    validateObjectKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      throw this.wrap('get', key, err);
    }
  }

  async getVersioned(key: string): Promise<VersionedObject> {
    this.checkOpen();
    validateObjectKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!res.ETag) throw new Error('the server sent no ETag, so conditional writes cannot work');
      return { body: res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0), version: res.ETag };
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      throw this.wrap('get', key, err);
    }
  }

  /**
   * One conditional PutObject: If-Match with the ETag read, or If-None-Match: *
   * to create. S3 evaluates the condition and the write as one step. Servers
   * that ignore these headers (s3rver) silently lose the guarantee.
   */
  async putIfMatch(key: string, body: Uint8Array, expected: string | null): Promise<string> {
    this.checkOpen();
    validateObjectKey(key);
    if (!(body instanceof Uint8Array)) throw new Error(`putIfMatch ${JSON.stringify(key)}: body must be a Uint8Array`);
    try {
      const res = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.byteLength,
          ...(expected === null ? { IfNoneMatch: '*' } : { IfMatch: expected }),
        }),
      );
      if (!res.ETag) throw new Error('the server sent no ETag, so conditional writes cannot work');
      return res.ETag;
    } catch (err) {
      if (isPreconditionFailed(err)) {
        throw new PreconditionFailedError(key, expected === null ? 'the object exists' : 'the object has changed');
      }
      // If-Match on a deleted object answers 404 NoSuchKey: a changed object too.
      if (expected !== null && isNotFound(err)) throw new PreconditionFailedError(key, 'the object does not exist');
      throw this.wrap('put', key, err);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    this.checkOpen();
    validateObjectKey(key);
    validateRange(offset, length);
    // An HTTP range cannot express zero bytes; still report a missing key.
    if (length === 0) {
      await this.head(key);
      return new Uint8Array(0);
    }
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }),
      );
      const bytes = res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
      // A server that ignores Range answers 200 with the whole object: cut it here.
      if (res.ContentRange === undefined && res.$metadata.httpStatusCode === 200) {
        return bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length));
      }
      return bytes.length > length ? bytes.subarray(0, length) : bytes;
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      // 416 only happens for an existing object when offset >= its size.
      if (isInvalidRange(err)) return new Uint8Array(0);
      throw this.wrap('getRange', key, err);
    }
  }

  async head(key: string): Promise<ObjectInfo> {
    this.checkOpen();
    validateObjectKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: res.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      throw this.wrap('head', key, err);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    this.checkOpen();
    if (typeof prefix !== 'string') throw new Error('list: prefix must be a string');
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    for (;;) {
      let res;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix === '' ? undefined : prefix,
            ContinuationToken: token,
            MaxKeys: this.pageSize,
          }),
        );
      } catch (err) {
        throw this.wrap('list', prefix, err);
      }
      for (const o of res.Contents ?? []) {
        if (o.Key !== undefined) out.push({ key: o.Key, size: o.Size ?? 0 });
      }
      if (!res.IsTruncated) break;
      if (!res.NextContinuationToken || res.NextContinuationToken === token) {
        // Without a new token the next request would repeat this page forever.
        throw new Error(`s3 list ${JSON.stringify(prefix)}: server said the listing is truncated but gave no new continuation token`);
      }
      token = res.NextContinuationToken;
    }
    // S3 already lists in UTF-8 byte order; sorting again keeps the contract
    // for S3-compatibles that do not.
    out.sort((a, b) => compareKeys(a.key, b.key));
    return out;
  }

  async delete(key: string): Promise<void> {
    this.checkOpen();
    validateObjectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw this.wrap('delete', key, err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.destroy();
  }
}

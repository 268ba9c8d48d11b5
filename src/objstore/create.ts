// Picks the Bucket implementation named by the -storage.* flags.
import type { Bucket } from './bucket.js';
import { FilesystemBucket } from './filesystem.js';
import { S3Bucket, type S3Options } from './s3.js';

export interface StorageOptions {
  backend: 'filesystem' | 's3';
  filesystem: { dir: string };
  s3: S3Options;
}

export function createBucket(opts: StorageOptions): Bucket {
  switch (opts.backend) {
    case 'filesystem':
      return new FilesystemBucket(opts.filesystem.dir);
    case 's3':
      return new S3Bucket(opts.s3);
    default:
      throw new Error(`unknown storage backend ${JSON.stringify(opts.backend as string)} (-storage.backend must be "filesystem" or "s3")`);
  }
}

// A counter object (decimal text) incremented with getVersioned + putIfMatch +
// retry: the smallest client of a conditional write, shared by the conformance
// suite and the cross-process child. No vitest import, so a child can load it.
import { ObjectNotFoundError, PreconditionFailedError, type Bucket } from '../../src/objstore/bucket.js';

/** Reads the counter with its version; a missing object is 0. */
export async function readCounter(b: Bucket, key: string): Promise<{ n: number; version: string | null }> {
  try {
    const { body, version } = await b.getVersioned!(key);
    return { n: Number(Buffer.from(body).toString('utf8')), version };
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return { n: 0, version: null };
    throw err;
  }
}

/** Adds one, re-reading and retrying on conflicts; returns how many retries it took. */
export async function casIncrement(b: Bucket, key: string): Promise<number> {
  for (let retries = 0; ; retries++) {
    const { n, version } = await readCounter(b, key);
    try {
      await b.putIfMatch!(key, Buffer.from(String(n + 1)), version);
      return retries;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }
}

// Object storage as the rest of Kiln sees it: a flat key space of immutable
// objects. Implementations: filesystem.ts (local directory) and s3.ts.

/** Thrown by get/getRange/head when the key does not exist. */
export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}

/**
 * Thrown by putIfMatch when the object is not at the version the caller
 * expected: someone else wrote (or created, or deleted) it since it was read.
 */
export class PreconditionFailedError extends Error {
  constructor(readonly key: string, detail: string) {
    super(`precondition failed for ${key}: ${detail}`);
    this.name = 'PreconditionFailedError';
  }
}

/** An object's bytes and the version token a conditional write compares with. */
export interface VersionedObject {
  body: Uint8Array;
  /** Opaque; equal tokens mean equal objects (filesystem: content hash, S3: ETag). */
  version: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface Bucket {
  /** Writes the whole object atomically: readers see the old object or the new one, never a part. */
  put(key: string, body: Uint8Array): Promise<void>;
  /**
   * Writes the whole object from a local file, with put's atomicity, without
   * holding it in memory (large compacted blocks). Optional: callers fall back
   * to put(readFile(path)). The file must not change during the call.
   */
  putFile?(key: string, path: string): Promise<void>;
  /** Reads a whole object. */
  get(key: string): Promise<Uint8Array>;
  /** Reads `length` bytes from `offset`. Reading past the end returns the bytes that exist. */
  getRange(key: string, offset: number, length: number): Promise<Uint8Array>;
  /** Size of an object. */
  head(key: string): Promise<ObjectInfo>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes an object; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Reads a whole object with its version token, for a later putIfMatch.
   * Throws ObjectNotFoundError. Optional, like putIfMatch (both or neither).
   */
  getVersioned?(key: string): Promise<VersionedObject>;
  /**
   * Compare-and-swap: writes the whole object (atomically, like put) only if
   * it is still at version `expected` (null: only if it does not exist), and
   * returns the new version. Otherwise throws PreconditionFailedError and
   * changes nothing. Writers that use plain put() on the same key are not
   * coordinated with it. Optional: only backends that can do it atomically
   * implement it.
   */
  putIfMatch?(key: string, body: Uint8Array, expected: string | null): Promise<string>;
  /** Releases connections or handles. */
  close(): Promise<void>;
}

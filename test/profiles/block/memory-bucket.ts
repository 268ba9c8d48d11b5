// In-memory Bucket for block tests; records every call so tests can prove
// the reader only does ranged reads of the sections it needs.
import { ObjectNotFoundError, type Bucket, type ObjectInfo } from '../../../src/objstore/bucket.js';

export interface RangeCall {
  key: string;
  offset: number;
  length: number;
}

export class MemoryBucket implements Bucket {
  readonly objects = new Map<string, Uint8Array>();
  readonly ranges: RangeCall[] = [];
  gets = 0;
  heads = 0;

  async put(key: string, body: Uint8Array): Promise<void> {
    this.objects.set(key, body.slice());
  }
  async get(key: string): Promise<Uint8Array> {
    this.gets++;
    const o = this.objects.get(key);
    if (o === undefined) throw new ObjectNotFoundError(key);
    return o.slice();
  }
  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    this.ranges.push({ key, offset, length });
    const o = this.objects.get(key);
    if (o === undefined) throw new ObjectNotFoundError(key);
    return o.slice(offset, offset + length);
  }
  async head(key: string): Promise<ObjectInfo> {
    this.heads++;
    const o = this.objects.get(key);
    if (o === undefined) throw new ObjectNotFoundError(key);
    return { key, size: o.length };
  }
  async list(prefix: string): Promise<ObjectInfo[]> {
    return [...this.objects.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort()
      .map((key) => ({ key, size: this.objects.get(key)!.length }));
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
  async close(): Promise<void> {}
  /** Bytes returned by getRange calls so far. */
  rangeBytes(): number {
    return this.ranges.reduce((n, r) => n + r.length, 0);
  }
}

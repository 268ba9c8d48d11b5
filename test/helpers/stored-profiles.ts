// Reads back every profile Kiln stored in a data directory, with the block
// reader, into plain objects that tests compare against their inputs.

import path from 'node:path';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { BlockReader, stacktraceFunctionNames } from '../../src/profiles/block/reader.js';
import type { BlockMeta } from '../../src/gen/metastore/v1/types_pb.js';

export interface StoredProfile {
  block: string;
  shard: number;
  tenant: string;
  labels: Record<string, string>;
  timeNanos: bigint;
  profileId: string;
  total: number;
  /** "leaf;...;root" function names → summed value. */
  stacks: Map<string, number>;
}

/** Every profile in the segments (level-0 blocks) of a filesystem bucket. */
export async function readStoredProfiles(dataDir: string): Promise<{ blocks: BlockMeta[]; profiles: StoredProfile[] }> {
  const bucket = new FilesystemBucket(dataDir);
  const keys = (await bucket.list('segments/')).map((o) => o.key);
  await bucket.close();
  return readProfilesOf(dataDir, keys);
}

/** Every profile in the block objects `keys` of a filesystem bucket. */
export async function readProfilesOf(dataDir: string, keys: readonly string[]): Promise<{ blocks: BlockMeta[]; profiles: StoredProfile[] }> {
  const bucket = new FilesystemBucket(dataDir);
  const profiles: StoredProfile[] = [];
  const blocks: BlockMeta[] = [];
  for (const key of keys) {
    const reader = await BlockReader.open(bucket, key);
    blocks.push(reader.meta);
    for (const ds of reader.datasets()) {
      const series = await reader.readSeries(ds);
      const symbols = await reader.readSymbols(ds);
      for await (const row of reader.rows(ds)) {
        const stacks = new Map<string, number>();
        row.stacktraceIds.forEach((id, i) => {
          const key = stacktraceFunctionNames(symbols, id).join(';');
          stacks.set(key, (stacks.get(key) ?? 0) + row.values[i]!);
        });
        profiles.push({
          block: reader.meta.id,
          shard: reader.meta.shard,
          tenant: ds.tenant,
          labels: Object.fromEntries(series[row.seriesIndex]!),
          timeNanos: row.timeNanos,
          profileId: Buffer.from(row.profileId).toString('hex'),
          total: row.totalValue,
          stacks,
        });
      }
    }
  }
  await bucket.close();
  return { blocks, profiles };
}

export const dataDirOf = (dir: string) => path.join(dir, 'data');

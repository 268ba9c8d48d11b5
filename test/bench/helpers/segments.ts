// The level-0 job the compaction benchmarks run: 20 realistic segments built
// as the segment writer builds them, from the Go and Node testdata profiles:
// 3 tenants × 4 services × 4 pods, one push per pod and service every segment
// (500 ms), so every series recurs in all 20.

import type { BlockMeta } from '../../../src/gen/metastore/v1/types_pb.js';
import type { Bucket } from '../../../src/objstore/bucket.js';
import { ulidAt, writeSegment, type Push } from '../../profiles/compaction/helpers.js';

export const SEGMENTS = 20;
export const SHARD = 1;
export const T0 = 1_763_700_000_000;

export const SERVICES: [string, string[]][] = [
  ['checkout', ['go-cpu.pb.gz', 'go-heap.pb.gz']],
  ['payments', ['go-cpu.pb.gz', 'go-goroutine.pb.gz', 'go-mutex.pb.gz', 'go-block.pb.gz']],
  ['frontend', ['node-wall-cpu.pb.gz', 'node-heap.pb.gz']],
  ['search', ['go-cpu.pb.gz', 'go-heap.pb.gz', 'node-wall-cpu.pb.gz']],
];
export const TENANTS = ['acme', 'globex', 'initech'];
export const PODS = 4;

/** Writes the job's segments into `bucket`; returns their metas (sizes set). */
export async function buildSegments(bucket: Bucket): Promise<BlockMeta[]> {
  const metas: BlockMeta[] = [];
  let pid = 0;
  for (let s = 0; s < SEGMENTS; s++) {
    const pushes: Push[] = [];
    const ms = T0 + s * 500;
    for (const tenant of TENANTS) {
      for (const [service, files] of SERVICES) {
        for (let pod = 0; pod < PODS; pod++) {
          for (const [f, file] of files.entries()) {
            pushes.push({
              tenant,
              labels: [['service_name', service], ['pod', `${service}-${pod}`], ['region', pod % 2 === 0 ? 'eu' : 'us']],
              file,
              timeNanos: BigInt(ms) * 1_000_000n + BigInt(pod * 10 + f),
              profileId: pid++ & 0xff,
            });
          }
        }
      }
    }
    metas.push(await writeSegment(bucket, SHARD, ulidAt(ms, `S${s}`), pushes));
  }
  return metas;
}

export function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

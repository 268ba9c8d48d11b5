// npm run bench:compaction — an L0 → L1 compaction job (compactBlocks) of 20
// realistic segments on a filesystem bucket, printed beside an anchor measured
// in the same run on the same sources: a plain Parquet round trip with the
// same libraries, i.e. read every source dataset's profiles table with
// hyparquet and write its rows out again with hyparquet-writer (same schema,
// codec and column encodings) into the bucket. The anchor does no merge, no
// dedupe, no symbols and no checks; the ratio says what those cost.
//
// The segments: helpers/segments.ts.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata, parquetRead, type AsyncBuffer } from 'hyparquet';
import { ByteWriter } from 'hyparquet-writer';
import type { BlockMeta } from '../../src/gen/metastore/v1/types_pb.js';
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { segmentPath } from '../../src/profiles/block/paths.js';
import { allocRowGroup, PROFILE_COLUMNS, profilesParquetWriter, ROW_GROUP_SIZE, writeRowGroup } from '../../src/profiles/block/profiles.js';
import { BlockReader } from '../../src/profiles/block/reader.js';
import { compactBlocks } from '../../src/profiles/compaction/compact.js';
import { buildSegments, median, PODS, SEGMENTS, SERVICES, SHARD, TENANTS } from './helpers/segments.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);

/** The anchor: read each source dataset's profiles table with hyparquet and write it again with hyparquet-writer. */
async function parquetRoundTrip(bucket: FilesystemBucket, metas: BlockMeta[]): Promise<number> {
  let rows = 0;
  for (const m of metas) {
    const key = segmentPath(m.shard, m.id);
    const reader = await BlockReader.open(bucket, key, Number(m.size));
    const out = new ByteWriter();
    const pw = profilesParquetWriter(out);
    for (const ds of reader.datasets()) {
      const bytes = await bucket.getRange(key, ds.profiles.start, ds.profiles.end - ds.profiles.start);
      const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const file: AsyncBuffer = { byteLength: buf.byteLength, slice: (a, b) => buf.slice(a, b) };
      const metadata = parquetMetadata(buf);
      const n = Number(metadata.num_rows);
      const cols = new Map<string, unknown[]>(PROFILE_COLUMNS.map((c) => [c, new Array(n)]));
      await parquetRead({
        file,
        metadata,
        columns: [...PROFILE_COLUMNS],
        utf8: false,
        parsers: { uuidFromBytes: (b: Uint8Array) => b },
        onChunk: (chunk) => {
          const dst = cols.get(chunk.columnName)!;
          const data = chunk.columnData as ArrayLike<unknown>;
          for (let i = 0; i < data.length; i++) dst[chunk.rowStart + i] = data[i];
        },
      });
      for (let start = 0; start < n; start += ROW_GROUP_SIZE) {
        const g = Math.min(ROW_GROUP_SIZE, n - start);
        const rg = allocRowGroup(g);
        const [series, ids, time, duration, period, total, stIds, stValues] = PROFILE_COLUMNS.map((c) => cols.get(c)!);
        for (let i = 0; i < g; i++) {
          rg.series[i] = series![start + i] as number;
          rg.profileIds[i] = ids![start + i] as Uint8Array;
          rg.time[i] = time![start + i] as bigint;
          rg.duration[i] = duration![start + i] as bigint;
          rg.period[i] = period![start + i] as bigint;
          rg.total[i] = total![start + i] as number;
          rg.stacktraceIds[i] = stIds![start + i] as Uint8Array;
          rg.stacktraceValues[i] = stValues![start + i] as Uint8Array;
        }
        await writeRowGroup(pw, rg, g);
      }
      rows += n;
    }
    await pw.finish();
    await bucket.put(`anchor/${m.id}.parquet`, out.getBytes());
  }
  return rows;
}

const dir = await mkdtemp(join(tmpdir(), 'kiln-bench-compaction-'));
try {
  const bucket = new FilesystemBucket(join(dir, 'bucket'));
  const metas = await buildSegments(bucket);
  const sourceBytes = metas.reduce((n, m) => n + Number(m.size), 0);
  let sourceRows = 0;
  for (const m of metas) {
    const r = await BlockReader.open(bucket, segmentPath(m.shard, m.id), Number(m.size));
    for (const ds of r.datasets()) sourceRows += (await r.profilesTable(ds)).numRows;
  }
  console.log(`kiln compaction benchmark: ${SEGMENTS} segments, ${sourceRows} rows, ${(sourceBytes / 1e6).toFixed(2)} MB; ${TENANTS.length} tenants × ${SERVICES.length} services × ${PODS} pods; median of ${RUNS} runs after 2 warm-ups; node ${process.version}`);

  const anchorTimes: number[] = [];
  const compactTimes: number[] = [];
  let outBytes = 0;
  let outRows = 0;
  // Interleaved, so drift on a shared machine hits both alike.
  for (let i = 0; i < RUNS + 2; i++) {
    let t = performance.now();
    const rows = await parquetRoundTrip(bucket, metas);
    if (rows !== sourceRows) throw new Error(`anchor read ${rows} rows, want ${sourceRows}`);
    if (i >= 2) anchorTimes.push(performance.now() - t);
    t = performance.now();
    const res = await compactBlocks({ bucket, sources: metas, shard: SHARD, tmpDir: dir });
    if (i >= 2) compactTimes.push(performance.now() - t);
    outBytes = res.newBlocks.reduce((n, m) => n + Number(m.size), 0);
    outRows = res.stats.outputRows;
  }
  const anchorS = median(anchorTimes) / 1000;
  const compactS = median(compactTimes) / 1000;
  const line = (name: string, s: number) =>
    `  ${name.padEnd(44)} ${(sourceRows / s).toFixed(0).padStart(9)} rows/s  ${(sourceBytes / 1e6 / s).toFixed(2).padStart(7)} MB/s  (${(s * 1000).toFixed(1)} ms)`;
  console.log(line('anchor  hyparquet read + hyparquet-writer write', anchorS));
  console.log(line('kiln    compactBlocks L0 → L1 (merge, dedupe)', compactS));
  console.log(`  output: ${outRows} rows in ${TENANTS.length} blocks, ${(outBytes / 1e6).toFixed(2)} MB`);
  console.log(`  ratio   kiln / anchor  ${(anchorS / compactS).toFixed(2)}×  (target ≥ 0.5×)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

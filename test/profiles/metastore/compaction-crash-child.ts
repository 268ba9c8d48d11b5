// Child process for compaction-crash.test.ts: registers segments from several loops while a
// fake worker polls for jobs and reports each one SUCCESS at once, and the log is rewritten
// now and then. Prints a line only after the metastore acknowledged it:
//   A <id>                       segment registered
//   C <job> <src,src,...> <out,...>   job result committed
// Usage: node --import tsx compaction-crash-child.ts <dir>
import { create } from '@bufbuild/protobuf';
import { CompactionJobStatus, CompactionJobStatusUpdateSchema } from '../../../src/gen/metastore/v1/compactor_pb.js';
import { Metastore } from '../../../src/profiles/metastore/metastore.js';
import { makeMeta } from './helpers.js';

const [dir] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: compaction-crash-child.ts <dir>\n');
  process.exit(2);
}
const levels = [
  { maxBlocks: 4, maxAgeMs: 60_000 },
  { maxBlocks: 3, maxAgeMs: 60_000 },
  { maxBlocks: 3, maxAgeMs: 60_000 },
];
const ms = await Metastore.open(dir, {
  compaction: { levels },
  logger: { warn: (obj, msg) => process.stderr.write(`WARN ${msg} ${JSON.stringify(obj)}\n`), info: () => {} },
});
const out = (line: string): void => void process.stdout.write(`${line}\n`);

async function register(w: number): Promise<void> {
  for (let i = 0; ; i++) {
    const meta = makeMeta({ shard: 1 + (w % 2), datasets: [[`tenant-${i % 2}`, 'api']] });
    await ms.addBlock(meta);
    out(`A ${meta.id}`);
  }
}

async function worker(): Promise<void> {
  let updates: ReturnType<typeof create<typeof CompactionJobStatusUpdateSchema>>[] = [];
  let reported: Array<[string, string[], string[]]> = [];
  for (;;) {
    const res = await ms.pollCompactionJobs(updates, 4);
    for (const [name, sources, outputs] of reported) out(`C ${name} ${sources.join(',')} ${outputs.join(',')}`);
    updates = [];
    reported = [];
    for (const job of res.newJobs) {
      const tenants = job.tenant === '' ? ['tenant-0', 'tenant-1'] : [job.tenant];
      const outputs = tenants.map((t) => makeMeta({ shard: job.shard, level: job.level + 1, tenant: t, datasets: [[t, 'api']] }));
      updates.push(
        create(CompactionJobStatusUpdateSchema, {
          name: job.name,
          token: BigInt(job.token),
          status: CompactionJobStatus.COMPACTION_STATUS_SUCCESS,
          compactedBlocks: { sourceBlocks: { shard: job.shard, tenant: job.tenant, blocks: job.sources }, newBlocks: outputs },
        }),
      );
      reported.push([job.name, job.sources, outputs.map((o) => o.id)]);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function rewriter(): Promise<void> {
  for (;;) {
    await new Promise((r) => setTimeout(r, 40));
    await ms.rewriteLog();
  }
}

await Promise.all([register(0), register(1), register(2), worker(), rewriter()]);

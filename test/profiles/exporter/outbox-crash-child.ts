// Child process for outbox-crash.test.ts: a real metastore with the outbox as its hook commits
// L0 jobs forever, rewriting both logs often, while a fake exporter completes tenants.
// stdout lines (each printed only after the step is durable):
//   committed <job>   the job's commit resolved (pollCompactionJobs)
//   completing <job>  about to mark the job's tenants done
//   done <job>        every tenant of the job is marked done
// Usage: node --import tsx outbox-crash-child.ts <dir>
import { create } from '@bufbuild/protobuf';
import { CompactionJobStatus, CompactionJobStatusUpdateSchema } from '../../../src/gen/metastore/v1/compactor_pb.js';
import { Outbox } from '../../../src/profiles/exporter/outbox.js';
import { Metastore } from '../../../src/profiles/metastore/metastore.js';
import { makeMeta, nextUlid } from '../metastore/helpers.js';
import { simpleResult } from './helpers.js';

const [dir] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: outbox-crash-child.ts <dir>\n');
  process.exit(2);
}
const logger = { warn: (obj: object, msg: string) => process.stderr.write(`WARN ${msg} ${JSON.stringify(obj)}\n`), info: () => {} };
const outbox = await Outbox.open(dir, { logger, rewriteMinBytes: 8 * 1024 });
const ms = await Metastore.open(dir, {
  logger,
  rewriteMinBytes: 16 * 1024,
  compaction: { levels: [{ maxBlocks: 2, maxAgeMs: 3_600_000 }, { maxBlocks: 1000, maxAgeMs: 3_600_000 }, { maxBlocks: 1000, maxAgeMs: 3_600_000 }] },
  onJobCommitted: (e) => outbox.onJobCommitted(e),
  onLogRewritten: () => outbox.onMetastoreLogRewritten(),
});
outbox.markReplayDone();
const out = (line: string) => process.stdout.write(`${line}\n`);

async function committer(): Promise<void> {
  for (;;) {
    for (let i = 0; i < 2; i++) await ms.addBlock(makeMeta({ id: nextUlid(), shard: 1 }));
    const { newJobs } = await ms.pollCompactionJobs([], 1);
    for (const job of newJobs) {
      const update = create(CompactionJobStatusUpdateSchema, {
        name: job.name,
        token: BigInt(job.token),
        status: CompactionJobStatus.COMPACTION_STATUS_SUCCESS,
        compactedBlocks: {
          sourceBlocks: { shard: job.shard, tenant: job.tenant, blocks: job.sources },
          newBlocks: [makeMeta({ shard: 1, level: 1, tenant: 'acme', datasets: [['acme', 'api']] })],
        },
        observerResult: simpleResult(Date.now(), 1, job.name, ['acme', 'globex']),
      });
      await ms.pollCompactionJobs([update], 0);
      out(`committed ${job.name}`);
    }
    await ms.maybeRewriteLog();
  }
}

async function fakeExporter(): Promise<void> {
  for (;;) {
    const head = outbox.pending().find((e) => e.durable);
    if (head === undefined) {
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    out(`completing ${head.job}`);
    for (const tenant of [...head.tenants.keys()]) await outbox.completeTenant(head.job, tenant, 'sent');
    out(`done ${head.job}`);
  }
}

process.stderr.write(`opened: ${outbox.size} pending\n`);
await Promise.all([committer(), fakeExporter()]);

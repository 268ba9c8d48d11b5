// kiln jobs list   compaction jobs in a running metastore: planned, leased, parked

import { CompactionJobStatus } from '../gen/metastore/v1/compactor_pb.js';
import { createCompactionClient } from '../profiles/metastore/compaction-service.js';
import { parseCommandArgs, printTable } from './output.js';

const JOBS_HELP = `Usage:
  kiln jobs list [-address=http://localhost:4040]
`;

function statusText(status: CompactionJobStatus, parked: boolean, leaseExpiresAt: bigint, now: number): string {
  if (parked) return 'parked';
  if (status === CompactionJobStatus.COMPACTION_STATUS_UNSPECIFIED) return 'unassigned';
  if (status === CompactionJobStatus.COMPACTION_STATUS_IN_PROGRESS) return Number(leaseExpiresAt / 1_000_000n) < now ? 'lease expired' : 'in progress';
  return 'success';
}

async function list(args: string[]): Promise<number> {
  const address = parseCommandArgs(args, { values: ['address'] }).flags.get('address') ?? 'http://localhost:4040';
  const res = await createCompactionClient(address).listCompactionJobs({});
  const now = Date.now();
  const rows = res.jobs.map((j) => [
    j.name,
    String(j.compactionLevel),
    String(j.shard),
    j.tenant || '-',
    statusText(j.status, j.parked, j.leaseExpiresAt, now),
    String(j.failures),
    j.leaseExpiresAt > 0n ? new Date(Number(j.leaseExpiresAt / 1_000_000n)).toISOString() : '-',
    String(j.sourceBlocks.length),
  ]);
  printTable(['NAME', 'LEVEL', 'SHARD', 'TENANT', 'STATUS', 'FAILURES', 'LEASE EXPIRES', 'SOURCES'], rows);
  process.stdout.write(`${rows.length} job(s)\n`);
  return 0;
}

export async function jobsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'list') return list(rest);
  process.stderr.write(JOBS_HELP);
  return 2;
}

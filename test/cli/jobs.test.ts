// `kiln jobs list` and `kiln blocks list -level` against a running metastore.
// A Connect client stands in for a worker that takes a job and holds its lease,
// so the job stays visible in progress.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompactionService } from '../../src/gen/metastore/v1/compactor_pb.js';
import { FoldedPushGenerator, pushFolded } from '../helpers/folded-pushes.js';
import { KILN_MAIN, type KilnProcess, startKiln } from '../helpers/kiln-process.js';

const run = promisify(execFile);
let kiln: KilnProcess;
let jobName = '';

beforeAll(async () => {
  kiln = await startKiln([
    '-target=distributor,segment-writer,metastore',
    '-distributor.num-shards=1',
    '-segment-writer.segment-duration=50ms',
    '-metastore.compaction.l0-max-blocks=3',
    '-metastore.compaction-job-lease-duration=1m',
  ]);
  const gen = new FoldedPushGenerator(3, ['anonymous'], ['api'], ['eu']);
  for (let i = 0; i < 3; i++) expect(await pushFolded(kiln.url, gen.next())).toBe(200);
  const worker = createClient(CompactionService, createConnectTransport({ baseUrl: kiln.url, httpVersion: '1.1' }));
  const res = await worker.pollCompactionJobs({ jobCapacity: 1 });
  expect(res.compactionJobs).toHaveLength(1);
  jobName = res.compactionJobs[0]!.name;
});
afterAll(async () => {
  await kiln?.stop();
});

describe('kiln jobs list', () => {
  it('shows the leased job with its level, shard, status and sources', async () => {
    const { stdout } = await run(process.execPath, [KILN_MAIN, 'jobs', 'list', `-address=${kiln.url}`]);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+LEVEL\s+SHARD\s+TENANT\s+STATUS\s+FAILURES\s+LEASE EXPIRES\s+SOURCES$/);
    expect(lines[1]).toMatch(new RegExp(`^${jobName}\\s+0\\s+1\\s+-\\s+in progress\\s+0\\s+\\S+Z\\s+3$`));
    expect(lines.at(-1)).toBe('1 job(s)');
  });

  it('matches the admin JSON', async () => {
    const res = await fetch(`${kiln.url}/metastore/jobs`);
    expect(res.status).toBe(200);
    const body = JSON.stringify(await res.json());
    expect(body).toContain(jobName);
  });

  it('prints usage for an unknown subcommand', async () => {
    const err = await run(process.execPath, [KILN_MAIN, 'jobs', 'frobnicate']).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toContain('kiln jobs list');
  });
});

describe('kiln blocks list -level', () => {
  it('filters by level', async () => {
    const l0 = await run(process.execPath, [KILN_MAIN, 'blocks', 'list', `-address=${kiln.url}`, '-level=0']);
    expect(l0.stdout.trim().split('\n').at(-1)).toBe('3 block(s)');
    const l1 = await run(process.execPath, [KILN_MAIN, 'blocks', 'list', `-address=${kiln.url}`, '-level=1']);
    expect(l1.stdout.trim().split('\n').at(-1)).toBe('0 block(s)');
  });
});

// The README walkthrough: push folded text, then `kiln blocks list` and
// `kiln blocks inspect` show the segment and its series.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KILN_MAIN, type KilnProcess, startKiln } from '../helpers/kiln-process.js';

const run = promisify(execFile);
const folded = readFileSync(path.resolve(import.meta.dirname, '../../testdata/profiles/folded.txt'));
let kiln: KilnProcess;

beforeAll(async () => {
  kiln = await startKiln();
  const res = await fetch(`${kiln.url}/ingest?name=${encodeURIComponent('demo.cpu{env=dev}')}&sampleRate=100`, { method: 'POST', body: folded });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  await kiln?.stop();
});

describe('kiln blocks', () => {
  it('list shows the registered segment', async () => {
    const { stdout } = await run(process.execPath, [KILN_MAIN, 'blocks', 'list', `-address=${kiln.url}`]);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+SHARD\s+LEVEL\s+CREATED\s+BYTES\s+DATASETS\s+TENANTS\s+CREATED BY$/);
    expect(lines[1]).toMatch(/^[0-9A-Z]{26}\s+\d\s+0\s+\S+Z\s+\d+\s+1\s+anonymous\s+\S+$/);
    expect(lines.at(-1)).toBe('1 block(s)');
  });

  it('inspect shows the dataset and its series', async () => {
    const { stdout: list } = await run(process.execPath, [KILN_MAIN, 'blocks', 'list', `-address=${kiln.url}`]);
    const [id, shard] = list.trim().split('\n')[1]!.split(/\s+/);
    const file = path.join(kiln.dir, 'data', 'segments', shard!, 'anonymous', id!, 'block.bin');
    const { stdout } = await run(process.execPath, [KILN_MAIN, 'blocks', 'inspect', file]);
    expect(stdout).toContain(`block ${id}: shard ${shard}, level 0`);
    expect(stdout).toContain('dataset tenant=anonymous service_name=demo: 1 series, 1 profile rows');
    expect(stdout).toContain('__profile_type__="process_cpu:cpu:nanoseconds:cpu:nanoseconds"');
    expect(stdout).toContain('env="dev"');
  });

  it('inspect of a file that is not a block fails with a clear error', async () => {
    const err = await run(process.execPath, [KILN_MAIN, 'blocks', 'inspect', path.resolve(import.meta.dirname, '../../README.md')]).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).not.toBe(0);
    expect((err as { stderr: string }).stderr).toMatch(/^error: .*(block|footer|metadata)/im);
    expect((err as { stderr: string }).stderr).not.toContain('    at ');
  });
});

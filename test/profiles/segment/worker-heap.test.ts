// A build worker gets the young generation its resourceLimits ask for even
// when the process runs with Kiln's --max-semi-space-size flag (which V8 would
// otherwise apply to every isolate). Runs in a child process with that flag.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KILN_NODE_FLAGS } from '../../helpers/kiln-process.js';

const root = path.resolve(import.meta.dirname, '../../..');

const script = `
import v8 from 'node:v8';
import pino from 'pino';
import { BuildWorkerPool } from './src/profiles/segment/build-pool.ts';
import { validation } from './test/profiles/segment/helpers.ts';
const pool = new BuildWorkerPool(1, { validation, instanceId: 'heap-test' }, pino({ level: 'silent' }));
const [worker] = pool.workersForTest();
worker.on('message', async (m) => {
  if (m.type !== 'ready') return;
  console.log(JSON.stringify({ main: v8.getHeapStatistics().heap_size_limit, worker: m.heapSizeLimit }));
  await pool.close();
});
`;

describe('build worker heap', () => {
  it('has its own large young generation under the process-wide semi-space flag', () => {
    expect(KILN_NODE_FLAGS).toContain('--max-semi-space-size=8');
    const out = execFileSync(process.execPath, [...KILN_NODE_FLAGS, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    const { main, worker } = JSON.parse(out.trim().split('\n').pop()!) as { main: number; worker: number };
    // The main thread's young generation is 3 × 8 MiB; the worker's 192 MiB
    // (old generations are sized alike), so its limit is ~168 MiB higher.
    // Without the fix both are the same.
    expect((worker - main) / 2 ** 20).toBeGreaterThan(150);
  }, 30_000);
});

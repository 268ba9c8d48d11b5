// The observer is wired into the compaction worker of a real `kiln serve`:
// a provisioned rule records series during L0 compaction (seen through the
// worker's metrics), and nothing fails.

import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { compactionFlags, listJobs, waitFor } from '../helpers/compaction.js';
import { FoldedPushGenerator, pushFolded } from '../helpers/folded-pushes.js';
import { startKiln, tempDir, type KilnProcess } from '../helpers/kiln-process.js';

let kiln: KilnProcess | undefined;
afterAll(async () => void (await kiln?.stop()));

const metric = (text: string, name: string): number =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

it('records series during level-0 compaction with the provisioned rules', async () => {
  const dir = tempDir('kiln-observer-');
  mkdirSync(path.join(dir, 'rules'));
  writeFileSync(
    path.join(dir, 'rules', 'cpu.yaml'),
    ['tenants:', '  "*":', '    - metric_name: profiles_recorded_cpu_by_region', '      matchers:', `        - '{__profile_type__="process_cpu:cpu:nanoseconds:cpu:nanoseconds", service_name=~"api|worker"}'`, '      group_by: [region]', ''].join('\n'),
  );
  kiln = await startKiln(['-auth.multitenancy-enabled=true', `-recording-rules.dir=${path.join(dir, 'rules')}`, '-compaction-worker.job-poll-interval=200ms', ...compactionFlags], dir);
  const gen = new FoldedPushGenerator(11, ['acme', 'globex'], ['api', 'worker', 'db'], ['eu', 'us']);
  for (let i = 0; i < 40; i++) expect(await pushFolded(kiln.url, gen.next())).toBe(200);

  const metrics = async () => (await fetch(`${kiln!.url}/metrics`)).text();
  await waitFor(async () => metric(await metrics(), 'kiln_observer_series_recorded_total') > 0, 30_000, 'the observer recorded series');
  await waitFor(async () => (await listJobs(kiln!.url)).every((j) => j.compactionLevel > 0), 30_000, 'every level-0 job is done');
  const text = await metrics();
  expect(metric(text, 'kiln_observer_rows_total')).toBeGreaterThan(0);
  expect(metric(text, 'kiln_observer_series_dropped_total')).toBe(0);
  expect(text).toMatch(/kiln_observer_series_recorded_total\{tenant="acme"\} [1-9]/);
  expect(kiln.logs.filter((l) => l.includes('"level":50'))).toEqual([]);
}, 90_000);

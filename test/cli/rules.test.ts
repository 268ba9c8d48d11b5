// `kiln rules …` run as the real binary against a real server: create, list, get, update,
// apply (dry run, then for real, then idempotent), delete, and the errors a user sees.

import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KILN_MAIN, type KilnProcess, startKiln, tempDir } from '../helpers/kiln-process.js';

const run = promisify(execFile);
const CPU = '{__profile_type__="process_cpu:cpu:nanoseconds:cpu:nanoseconds"}';
const dir = tempDir('kiln-rules-cli-');
const files = path.join(dir, 'files');
let kiln: KilnProcess;
let base: string[];

function write(name: string, text: string): string {
  const file = path.join(files, name);
  writeFileSync(file, text);
  return file;
}

async function kilnRules(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [KILN_MAIN, 'rules', ...args, ...base]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(async () => {
  mkdirSync(path.join(dir, 'rules'), { recursive: true });
  mkdirSync(files, { recursive: true });
  writeFileSync(
    path.join(dir, 'rules', 'ops.yaml'),
    `tenants:\n  "*":\n    - id: opsCpu\n      metric_name: profiles_recorded_ops_cpu_nanoseconds\n      matchers: ['${CPU}']\n`,
  );
  kiln = await startKiln(['-auth.multitenancy-enabled=true', `-recording-rules.dir=${path.join(dir, 'rules')}`], dir);
  base = [`-address=${kiln.url}`, '-tenant=acme'];
});
afterAll(async () => {
  await kiln?.stop();
});

describe('kiln rules', () => {
  let id = '';

  it('create sends the rule and prints its generated id', async () => {
    const file = write('one.yaml', `metric_name: profiles_recorded_cpu_by_service\nmatchers: ['${CPU}', '{service_name="api"}']\ngroup_by: [region]\n`);
    const res = await kilnRules('create', '-f', file);
    expect(res.stderr).toBe('');
    id = res.stdout.match(/^created rule ([a-zA-Z]{10})$/m)![1]!;
  });

  it('list shows the API rule and the provisioned one', async () => {
    const { stdout } = await kilnRules('list');
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+METRIC\s+PROFILE TYPE\s+MATCHERS\s+GROUP BY\s+FUNCTION\s+GENERATION\s+SOURCE$/);
    expect(lines.find((l) => l.startsWith('opsCpu'))).toMatch(/profiles_recorded_ops_cpu_nanoseconds\s+process_cpu:cpu:nanoseconds:cpu:nanoseconds.*provisioned \(read-only\)$/);
    expect(lines.find((l) => l.startsWith(id))).toMatch(/profiles_recorded_cpu_by_service.*\sregion\s+-\s+1\s+api$/);
  });

  it('get -o yaml prints a file that update takes back', async () => {
    const { stdout } = await kilnRules('get', id, '-o=yaml');
    const [entry] = parseYaml(stdout) as Array<Record<string, unknown>>;
    expect(entry).toEqual({ id, metric_name: 'profiles_recorded_cpu_by_service', matchers: [CPU, '{service_name="api"}'], group_by: ['region'] });
    const file = write('update.yaml', `id: ${id}\nmetric_name: profiles_recorded_cpu_by_service\nmatchers: ['${CPU}']\ngroup_by: [region, pod]\n`);
    const res = await kilnRules('update', '-f', file);
    expect(res.stdout).toBe(`updated rule ${id} (generation 2)\n`);
    const json = JSON.parse((await kilnRules('get', id, '-o', 'json')).stdout) as Array<{ groupBy: string[]; generation: string }>;
    expect(json[0]).toMatchObject({ groupBy: ['region', 'pod'], generation: '2' });
  });

  it('apply shows the diff, changes nothing on -dry-run, then makes the rules match, then is a no-op', async () => {
    const applyDir = path.join(files, 'apply');
    mkdirSync(applyDir);
    writeFileSync(path.join(applyDir, 'a.yaml'), `- metric_name: profiles_recorded_heap_bytes\n  matchers: ['{__profile_type__="memory:inuse_space:bytes:space:bytes"}']\n- id: gcTime\n  metric_name: profiles_recorded_gc_nanoseconds\n  matchers: ['${CPU}']\n  stacktrace_filter: {function_name: {function_name: runtime.gcBgMarkWorker}}\n`);
    const dry = await kilnRules('apply', '-f', applyDir, '-dry-run');
    expect(dry.stdout).toMatch(/^\+ create [a-zA-Z]{10} profiles_recorded_heap_bytes$/m);
    expect(dry.stdout).toContain('+ create gcTime profiles_recorded_gc_nanoseconds');
    expect(dry.stdout).toContain(`- delete ${id} profiles_recorded_cpu_by_service`);
    expect(dry.stdout).toContain('2 to create, 0 to update, 1 to delete (dry run: nothing changed)');
    expect((await kilnRules('list')).stdout).toContain(id);

    expect((await kilnRules('apply', '-f', applyDir)).code).toBe(0);
    const after = (await kilnRules('list', '-o=yaml')).stdout;
    const entries = parseYaml(after) as Array<{ id: string; metric_name: string }>;
    expect(entries.map((e) => e.metric_name).sort()).toEqual(['profiles_recorded_gc_nanoseconds', 'profiles_recorded_heap_bytes', 'profiles_recorded_ops_cpu_nanoseconds']);

    writeFileSync(path.join(applyDir, 'a.yaml'), `- metric_name: profiles_recorded_heap_bytes\n  matchers: ['{__profile_type__="memory:inuse_space:bytes:space:bytes"}']\n- id: gcTime\n  metric_name: profiles_recorded_gc_nanoseconds\n  matchers: ['${CPU}']\n  group_by: [service_name]\n  stacktrace_filter: {function_name: {function_name: runtime.gcBgMarkWorker}}\n`);
    const update = await kilnRules('apply', '-f', applyDir);
    expect(update.stdout).toContain('~ update gcTime profiles_recorded_gc_nanoseconds');
    expect(update.stdout).toContain('+ group_by: ["service_name"]');
    expect(update.stdout).toContain('0 to create, 1 to update, 0 to delete');
    expect((await kilnRules('apply', '-f', applyDir)).stdout).toContain('0 to create, 0 to update, 0 to delete');
  });

  it('delete removes a rule; get of it then fails with the server message', async () => {
    expect((await kilnRules('delete', 'gcTime')).stdout).toBe('deleted rule gcTime\n');
    const res = await kilnRules('get', 'gcTime');
    expect(res.code).toBe(1);
    expect(res.stderr).toBe("error: no rule with id='gcTime' found\n");
  });

  it('refuses an invalid rule file with every problem, before contacting the server', async () => {
    const file = write('bad.yaml', `metric_name: cpu\nmatchers: ['{service_name="api"}']\ngroup_by: [bad-name]\n`);
    const res = await kilnRules('create', '-f', file);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: .*bad\.yaml: invalid request: .*profiles_recorded_.*__profile_type__.*bad-name/);
  });

  it('a provisioned rule cannot be deleted', async () => {
    const res = await kilnRules('delete', 'opsCpu');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: .*opsCpu.*read-only/);
  });

  it('bad command lines exit 2 with a clear message', async () => {
    expect(await kilnRules('list', '-colour=red')).toMatchObject({ code: 2, stderr: 'error: flag provided but not defined: -colour\n' });
    expect(await kilnRules('list', '-o=xml')).toMatchObject({ code: 2, stderr: 'error: invalid value "xml" for flag -o: want table, json or yaml\n' });
    expect((await kilnRules('create')).stderr).toBe('error: missing -f <file>\n');
  });
});

describe('kiln rules auth flags', () => {
  // Kiln itself does not check credentials (a gateway in front does), so a loopback server
  // records what the CLI sends.
  async function headersSent(...flags: string[]): Promise<http.IncomingHttpHeaders> {
    let seen: http.IncomingHttpHeaders = {};
    const server = http.createServer((req, res) => {
      seen = req.headers;
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/proto' }).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await run(process.execPath, [KILN_MAIN, 'rules', 'list', `-address=${address}`, ...flags]);
    } finally {
      server.close();
    }
    return seen;
  }

  it('sends the tenant and a bearer token', async () => {
    const h = await headersSent('-tenant=acme', '-token=s3cret');
    expect(h['x-scope-orgid']).toBe('acme');
    expect(h.authorization).toBe('Bearer s3cret');
  });

  it('sends basic auth', async () => {
    const h = await headersSent('-username=alice', '-password=pw');
    expect(h.authorization).toBe(`Basic ${Buffer.from('alice:pw').toString('base64')}`);
    expect(h['x-scope-orgid']).toBeUndefined();
  });
});

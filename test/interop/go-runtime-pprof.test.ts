// Interop: profiles written right now by Go's runtime/pprof (Debian golang-go,
// stdlib only, built offline) decode as pprof, and Kiln stores them exactly.
// This guards against the committed testdata drifting from what current Go
// actually writes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, describe, expect, it } from 'vitest';
import { startKiln } from '../helpers/kiln-process.js';
import { expectedSeries } from '../helpers/reference-profile.js';
import { dataDirOf, readStoredProfiles } from '../helpers/stored-profiles.js';

const hasGo = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
const SRC = join(import.meta.dirname, '..', '..', 'testdata', 'go');

describe('Go runtime/pprof interop', () => {
  if (!hasGo) console.log('skipping: go not found on PATH');
  const tmp = mkdtempSync(join(tmpdir(), 'kiln-go-pprof-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it.skipIf(!hasGo)('builds testdata/go offline and its CPU profile decodes with cpu/nanoseconds samples', () => {
    // Offline: no proxy, no module downloads; throwaway caches so nothing is
    // shared with (or left in) the user's Go environment.
    const env = {
      ...process.env,
      GOPROXY: 'off',
      GOFLAGS: '-mod=mod',
      GOCACHE: join(tmp, 'gocache'),
      GOPATH: join(tmp, 'gopath'),
    };
    const bin = join(tmp, 'kiln-testdata-go');
    const build = spawnSync('go', ['build', '-o', bin, '.'], { cwd: SRC, env, encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);

    const out = join(tmp, 'out');
    const run = spawnSync(bin, ['-out', out, '-duration', '600ms'], { env, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    for (const f of ['go-cpu.pb.gz', 'go-heap.pb.gz', 'go-goroutine.pb.gz']) expect(existsSync(join(out, f)), f).toBe(true);

    const gz = readFileSync(join(out, 'go-cpu.pb.gz'));
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]); // Go writes gzipped pprof
    const p = Profile.decode(gunzipSync(gz));
    const str = (i: number | bigint) => p.stringTable.strings[Number(i)];
    expect(p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`)).toEqual(['samples/count', 'cpu/nanoseconds']);
    expect(`${str(p.periodType!.type)}/${str(p.periodType!.unit)}`).toBe('cpu/nanoseconds');
    expect(p.sample.length).toBeGreaterThan(0);
    const cpuNanos = p.sample.reduce((sum, s) => sum + Number(s.value[1]), 0);
    expect(cpuNanos).toBeGreaterThan(0);
    const names = new Set(p.function.map((f) => str(f.name)));
    expect(names.has('main.hashLoop') || names.has('main.fib') || names.has('main.sortWork')).toBe(true);
  });

  it.skipIf(!hasGo)('Kiln stores the fresh Go CPU and heap profiles exactly as the reference decoder reads them', async () => {
    const out = join(tmp, 'out');
    const kiln = await startKiln();
    try {
      for (const [file, name] of [['go-cpu.pb.gz', 'process_cpu'], ['go-heap.pb.gz', 'memory']] as const) {
        const res = await fetch(`${kiln.url}/ingest?name=go-interop-${name}&format=pprof&spyName=gospy`, { method: 'POST', body: readFileSync(join(out, file)) });
        expect(res.status, await res.text()).toBe(200);
      }
    } finally {
      expect(await kiln.stop()).toBe(0);
    }
    const { profiles } = await readStoredProfiles(dataDirOf(kiln.dir));
    for (const [file, name] of [['go-cpu.pb.gz', 'process_cpu'], ['go-heap.pb.gz', 'memory']] as const) {
      const rows = profiles.filter((r) => r.labels.service_name === `go-interop-${name}`);
      for (const e of expectedSeries(readFileSync(join(out, file)))) {
        const ofType = rows.filter((r) => r.labels.__profile_type__ === `${name}:${e.type}:${e.unit}:${e.periodType}:${e.periodUnit}`);
        const stacks = new Map<string, number>();
        for (const r of ofType) for (const [k, v] of r.stacks) stacks.set(k, (stacks.get(k) ?? 0) + v);
        expect(stacks, `${file} ${e.type}`).toEqual(e.stacks);
      }
    }
  });
});

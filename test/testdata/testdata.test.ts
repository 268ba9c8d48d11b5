// Checks the committed test profiles in testdata/profiles against the facts
// testdata/README.md states, so a missing, truncated or regenerated-wrong file
// fails here rather than as a confusing failure in some decoder test.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { describe, expect, it } from 'vitest';

const DIR = join(import.meta.dirname, '..', '..', 'testdata', 'profiles');

// Sample types ("type/unit") of every profile the README lists.
const EXPECTED_TYPES: Record<string, string[]> = {
  'go-cpu.pb.gz': ['samples/count', 'cpu/nanoseconds'],
  'go-heap.pb.gz': ['alloc_objects/count', 'alloc_space/bytes', 'inuse_objects/count', 'inuse_space/bytes'],
  'go-mutex.pb.gz': ['contentions/count', 'delay/nanoseconds'],
  'go-block.pb.gz': ['contentions/count', 'delay/nanoseconds'],
  'go-goroutine.pb.gz': ['goroutine/count'],
  'node-wall-cpu.pb.gz': ['samples/count', 'wall/nanoseconds', 'cpu/nanoseconds'],
  'node-heap.pb.gz': ['inuse_objects/count', 'inuse_space/bytes'],
  'synthetic-large.pb.gz': ['samples/count', 'cpu/nanoseconds'],
};

interface Decoded {
  p: Profile;
  raw: Uint8Array;
  str: (i: number | bigint) => string;
}

function load(name: string): Decoded {
  const gz = readFileSync(join(DIR, name));
  // Clients send gzipped pprof, so the files must be gzipped too.
  expect([gz[0], gz[1]], `${name} gzip magic`).toEqual([0x1f, 0x8b]);
  const raw = gunzipSync(gz);
  const p = Profile.decode(raw);
  return { p, raw, str: (i) => p.stringTable.strings[Number(i)]! };
}

const cache = new Map<string, Decoded>();
function get(name: string): Decoded {
  let d = cache.get(name);
  if (!d) cache.set(name, (d = load(name)));
  return d;
}

function types(d: Decoded): string[] {
  return d.p.sampleType.map((t) => `${d.str(t.type)}/${d.str(t.unit)}`);
}

function period(d: Decoded): string {
  return `${d.str(d.p.periodType!.type)}/${d.str(d.p.periodType!.unit)}`;
}

// Function names on a sample's stack (all lines of all locations).
function stackNames(d: Decoded): (s: Profile['sample'][number]) => string[] {
  const locs = new Map(d.p.location.map((l) => [Number(l.id), l]));
  const fns = new Map(d.p.function.map((f) => [Number(f.id), f]));
  return (s) =>
    s.locationId.flatMap((id) => locs.get(Number(id))!.line.map((ln) => d.str(fns.get(Number(ln.functionId))!.name)));
}

function labels(d: Decoded, s: Profile['sample'][number]): Record<string, string> {
  return Object.fromEntries(s.label.filter((l) => Number(l.str) !== 0).map((l) => [d.str(l.key), d.str(l.str)]));
}

describe('testdata/profiles', () => {
  it('holds exactly the documented pprof files', () => {
    const present = readdirSync(DIR).filter((f) => f.endsWith('.pb.gz')).sort();
    expect(present).toEqual(Object.keys(EXPECTED_TYPES).sort());
    expect(existsSync(join(DIR, 'folded.txt'))).toBe(true);
  });

  for (const [name, want] of Object.entries(EXPECTED_TYPES)) {
    it(`${name}: decodes, has sample types ${want.join(', ')}, and is internally consistent`, () => {
      const d = get(name);
      expect(types(d)).toEqual(want);
      expect(d.p.sample.length).toBeGreaterThan(0);
      expect(d.p.stringTable.strings[0]).toBe('');
      // Collect problems and assert once: one expect per reference is far too
      // slow on the 60k-sample profile.
      const bad: string[] = [];
      const locIds = new Set(d.p.location.map((l) => Number(l.id)));
      const fnIds = new Set(d.p.function.map((f) => Number(f.id)));
      const nStrings = d.p.stringTable.strings.length;
      d.p.sample.forEach((s, i) => {
        if (s.value.length !== want.length) bad.push(`sample ${i}: ${s.value.length} values`);
        for (const id of s.locationId) if (!locIds.has(Number(id))) bad.push(`sample ${i}: location ${id}`);
      });
      for (const l of d.p.location) {
        for (const ln of l.line) if (!fnIds.has(Number(ln.functionId))) bad.push(`location ${l.id}: function ${ln.functionId}`);
      }
      for (const f of d.p.function) {
        if (Number(f.name) >= nStrings || Number(f.filename) >= nStrings) bad.push(`function ${f.id}: string index`);
      }
      expect(bad.slice(0, 5)).toEqual([]);
    });
  }

  it('go-cpu.pb.gz: 100 Hz CPU samples in the named functions, with pprof labels', () => {
    const d = get('go-cpu.pb.gz');
    expect(period(d)).toBe('cpu/nanoseconds');
    expect(Number(d.p.period)).toBe(10_000_000);
    const names = stackNames(d);
    const withFn = (fn: string) => d.p.sample.filter((s) => names(s).includes(fn));
    for (const fn of ['main.hashLoop', 'main.sortWork', 'main.compressWork', 'main.fib']) {
      expect(withFn(fn).length, fn).toBeGreaterThan(0);
    }
    // Recursion shows up as the same function repeated on one stack.
    expect(withFn('main.fib').some((s) => names(s).filter((n) => n === 'main.fib').length > 3)).toBe(true);
    // pprof.Do labels: hashLoop ran under endpoint=/api/a, sortWork under /api/b + tier=batch.
    for (const s of withFn('main.hashLoop')) expect(labels(d, s)).toEqual({ endpoint: '/api/a' });
    for (const s of withFn('main.sortWork')) expect(labels(d, s)).toEqual({ endpoint: '/api/b', tier: 'batch' });
    for (const s of withFn('main.compressWork')) expect(labels(d, s)).toEqual({});
    for (const s of d.p.sample) expect(Number(s.value[1])).toBe(Number(s.value[0]) * 10_000_000);
  });

  it('go-heap.pb.gz: MemProfileRate 4096, allocations from main.allocWork, numeric bytes label', () => {
    const d = get('go-heap.pb.gz');
    expect(period(d)).toBe('space/bytes');
    expect(Number(d.p.period)).toBe(4096);
    const names = stackNames(d);
    expect(d.p.sample.some((s) => names(s).includes('main.allocWork'))).toBe(true);
    const numLabel = d.p.sample.flatMap((s) => s.label).find((l) => d.str(l.key) === 'bytes');
    expect(numLabel).toBeDefined();
    expect(Number(numLabel!.str)).toBe(0);
    expect(Number(numLabel!.num)).toBeGreaterThan(0);
  });

  it('go-goroutine.pb.gz: the labelled parked goroutine is there', () => {
    const d = get('go-goroutine.pb.gz');
    expect(d.p.sample.some((s) => labels(d, s).endpoint === '/api/idle')).toBe(true);
  });

  it('node-wall-cpu.pb.gz: shaped like @pyroscope/nodejs 0.6 sends it', () => {
    const d = get('node-wall-cpu.pb.gz');
    expect(period(d)).toBe('wall/nanoseconds');
    expect(Number(d.p.period)).toBeGreaterThan(9_000_000);
    const names = stackNames(d);
    // Function names are "<file>:<name>:<line>" as the client rewrites them.
    const hash = d.p.sample.filter((s) => names(s).some((n) => /make-profiles\.cjs:hashWork:\d+$/.test(n)));
    expect(hash.length).toBeGreaterThan(0);
    expect(hash.some((s) => labels(d, s).endpoint === '/api/hash')).toBe(true);
    expect(d.p.sample.some((s) => labels(d, s).endpoint === '/api/sort')).toBe(true);
    // collectCpuTime adds one sample for CPU used outside JS threads: zero
    // samples and zero wall time, but non-zero CPU. Decoders must keep it.
    const nonJs = d.p.sample.filter((s) => names(s).some((n) => n.includes('Non JS threads activity')));
    expect(nonJs.length).toBe(1);
    expect([Number(nonJs[0]!.value[0]), Number(nonJs[0]!.value[1])]).toEqual([0, 0]);
    expect(Number(nonJs[0]!.value[2])).toBeGreaterThan(0);
  });

  it('node-heap.pb.gz: sampling interval 64 KiB', () => {
    const d = get('node-heap.pb.gz');
    expect(Number(d.p.period)).toBe(65536);
    expect(Number(d.p.durationNanos)).toBe(0);
  });

  it('synthetic-large.pb.gz: exact shape', () => {
    const d = get('synthetic-large.pb.gz');
    expect(d.p.sample.length).toBe(60_000);
    expect(d.p.location.length).toBe(30_000);
    expect(d.p.function.length).toBe(12_000);
    expect(d.p.stringTable.strings.length).toBe(24_846);
    expect(d.p.mapping.length).toBe(3);
    expect(d.raw.length).toBe(6_883_906);
    expect(period(d)).toBe('cpu/nanoseconds');
    expect(Number(d.p.period)).toBe(10_000_000);
    expect(BigInt(d.p.timeNanos)).toBe(1_700_000_000_000_000_000n);
    const depths = d.p.sample.map((s) => s.locationId.length);
    expect(Math.min(...depths)).toBe(10);
    expect(Math.max(...depths)).toBe(60);
    expect(d.p.location.filter((l) => l.line.length > 1).length).toBeGreaterThan(1000);
    const keys = new Set(d.p.sample.flatMap((s) => s.label.map((l) => d.str(l.key))));
    expect([...keys].sort()).toEqual(['endpoint', 'region', 'request_size']);
  });

  it('synthetic-large.pb.gz: the generator reproduces the committed bytes', () => {
    const out = mkdtempSync(join(tmpdir(), 'kiln-synth-'));
    try {
      const r = spawnSync(process.execPath, ['testdata/synthetic/make-synthetic.mjs', out], {
        cwd: join(import.meta.dirname, '..', '..'),
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const fresh = readFileSync(join(out, 'synthetic-large.pb.gz'));
      expect(fresh.equals(readFileSync(join(DIR, 'synthetic-large.pb.gz')))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('folded.txt: "frames count" lines, root first', () => {
    const lines = readFileSync(join(DIR, 'folded.txt'), 'utf8').split('\n').filter((l) => l !== '');
    expect(lines.length).toBe(36);
    let total = 0;
    const stacks = new Map<string, number>();
    for (const line of lines) {
      // The count follows the LAST space: frames themselves may contain spaces.
      const m = /^(.+) (\d+)$/.exec(line);
      expect(m, line).not.toBeNull();
      total += Number(m![2]);
      stacks.set(m![1]!, (stacks.get(m![1]!) ?? 0) + Number(m![2]));
    }
    expect(total).toBe(3041);
    expect(stacks.size).toBe(35); // one stack appears twice and sums to 420
    expect(stacks.get('main;runtime.main;main.main;net/http.(*Server).Serve;net/http.(*conn).serve;main.handleSearch;main.rank;main.score')).toBe(420);
    expect([...stacks.keys()].some((s) => s.split(';').some((f) => f.includes(' ')))).toBe(true);
  });
});

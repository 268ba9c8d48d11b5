// Writes testdata/profiles/synthetic-large.pb.gz: a large, deterministic CPU
// profile shaped like a busy Go service with some native code. It is the
// "large synthetic" input of the ingest benchmark and of decoder tests, so its
// counts are fixed (the test in test/testdata checks them) and re-running this
// script gives identical bytes: seeded PRNG, fixed timestamps, fixed gzip level
// (Node's gzip header carries mtime 0).
//
// Usage: node testdata/synthetic/make-synthetic.mjs [out-dir]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Profile, StringTable, ValueType, Function as PFunction, Location, Line, Mapping, Sample, Label } from 'pprof-format';

export const N_SAMPLES = 60_000;
export const N_LOCATIONS = 30_000;
export const N_FUNCTIONS = 12_000;
const N_NATIVE_FUNCTIONS = 4_000; // in libnative.so, with C++-style mangled system names
const N_PACKAGES = 800;
const FILES_PER_PACKAGE = 9;
const PERIOD = 10_000_000; // 100 Hz, like Go's CPU profiler
const TIME_NANOS = 1_700_000_000_000_000_000n;
const DURATION_NANOS = 10_000_000_000;

// Small counter-based PRNG (splitmix32 style): 32-bit state, good enough
// spread for test data, and identical on every platform.
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}
const rand = prng(0x6b696c6e); // "kiln"
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)); // inclusive
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

// Zipf-like choice over n items: item 0 is hottest. Real profiles are
// dominated by a few hot stacks with a long tail.
function zipf(n, s) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(i + 1, s);
  return () => {
    const x = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const WORDS = [
  'alpha', 'block', 'cache', 'delta', 'event', 'frame', 'graph', 'hash', 'index', 'join', 'kernel', 'ledger',
  'merge', 'node', 'order', 'parse', 'query', 'route', 'shard', 'token', 'union', 'vector', 'window', 'yield',
  'zone', 'batch', 'codec', 'dict', 'encode', 'fetch', 'group', 'heap', 'ingest', 'queue', 'scan', 'write',
];
const TYPES = ['Server', 'Client', 'Store', 'Reader', 'Writer', 'Pool', 'Worker', 'Handler', 'Encoder', 'Decoder', 'Tree', 'Table'];
const VERBS = ['Run', 'Get', 'Put', 'Do', 'Next', 'Flush', 'Read', 'Write', 'Merge', 'Apply', 'Serve', 'Handle', 'Close', 'Open', 'Lookup', 'Append'];
const cap = (w) => w[0].toUpperCase() + w.slice(1);

export function buildProfile() {
  const st = new StringTable();
  const vt = (type, unit) => new ValueType({ type: st.dedup(type), unit: st.dedup(unit) });
  const sampleType = [vt('samples', 'count'), vt('cpu', 'nanoseconds')];
  const periodType = vt('cpu', 'nanoseconds');

  const mapping = [
    new Mapping({ id: 1, memoryStart: 0x400000, memoryLimit: 0x2400000, filename: st.dedup('/usr/local/bin/checkout-service'), buildId: st.dedup('9f3c2a7e5b1d4c8a0e6f2b3c4d5e6f70'), hasFunctions: true, hasFilenames: true, hasLineNumbers: true, hasInlineFrames: true }),
    new Mapping({ id: 2, memoryStart: 0x7f0000000000, memoryLimit: 0x7f0001000000, fileOffset: 0x1000, filename: st.dedup('/usr/lib/x86_64-linux-gnu/libnative.so.3'), buildId: st.dedup('4e1b0c9d8a7f6e5d4c3b2a1908f7e6d5'), hasFunctions: true, hasFilenames: true, hasLineNumbers: true }),
    new Mapping({ id: 3, memoryStart: 0x7fff00000000, memoryLimit: 0x7fff00002000, filename: st.dedup('[vdso]'), hasFunctions: true }),
  ];

  // Packages (Go import paths) and their files.
  const packages = [];
  const seenPkg = new Set();
  while (packages.length < N_PACKAGES) {
    const p = `github.com/acme/${pick(WORDS)}${int(1, 9)}/internal/${pick(WORDS)}${pick(WORDS)}`;
    if (!seenPkg.has(p)) {
      seenPkg.add(p);
      packages.push(p);
    }
  }

  // Functions: Go functions first (ids 1..), then native ones (mapping 2).
  const functions = [];
  const funcIsNative = [];
  const seenName = new Set();
  while (functions.length < N_FUNCTIONS) {
    const native = functions.length >= N_FUNCTIONS - N_NATIVE_FUNCTIONS;
    const id = functions.length + 1;
    const pkgIdx = int(0, N_PACKAGES - 1);
    const fileIdx = int(0, FILES_PER_PACKAGE - 1);
    let name;
    let systemName;
    let filename;
    if (native) {
      const ns = pick(WORDS);
      const cls = pick(TYPES) + cap(pick(WORDS));
      const m = pick(VERBS).toLowerCase() + cap(pick(WORDS));
      name = `${ns}::${cls}::${m}(${pick(['int', 'long', 'char const*', 'std::string const&', ''])})`;
      // Not a faithful Itanium mangling; it only needs to be a distinct, plausible system name.
      systemName = `_ZN${ns.length}${ns}${cls.length}${cls}${m.length}${m}E${int(0, 9)}`;
      filename = `src/${ns}/${pkgIdx % 97}_${cls.toLowerCase()}.cc`;
    } else {
      const pkg = packages[pkgIdx];
      const recv = rand() < 0.6 ? `(*${pick(TYPES)}${cap(pick(WORDS))}).` : '';
      name = `${pkg}.${recv}${pick(VERBS)}${cap(pick(WORDS))}${rand() < 0.2 ? '.func' + int(1, 4) : ''}`;
      systemName = name; // Go: system name equals name
      filename = `/src/${pkg}/${WORDS[(pkgIdx * 7 + fileIdx) % WORDS.length]}_${fileIdx}.go`;
    }
    if (seenName.has(name)) continue;
    seenName.add(name);
    functions.push(
      new PFunction({ id, name: st.dedup(name), systemName: st.dedup(systemName), filename: st.dedup(filename), startLine: int(10, 3000) }),
    );
    funcIsNative.push(native);
  }
  const goFuncs = N_FUNCTIONS - N_NATIVE_FUNCTIONS;

  // Locations: every function has at least one; the rest go to random
  // functions, skewed so some functions have many call sites. About 12% are
  // inlined, holding 2-4 lines (innermost callee first, as in Go profiles).
  const locations = [];
  const nextAddr = [0, 0x401000, 0x7f0000001000, 0x7fff00000400];
  const funcPick = zipf(N_FUNCTIONS, 0.6);
  for (let i = 0; i < N_LOCATIONS; i++) {
    const fIdx = i < N_FUNCTIONS ? i : funcPick();
    const f = functions[fIdx];
    const mappingId = funcIsNative[fIdx] ? (i % 50 === 0 ? 3 : 2) : 1;
    nextAddr[mappingId] += int(4, 400);
    const lines = [new Line({ functionId: f.id, line: Number(f.startLine) + int(0, 200) })];
    if (!funcIsNative[fIdx] && rand() < 0.12) {
      const extra = int(1, 3);
      for (let k = 0; k < extra; k++) {
        const callee = functions[int(0, goFuncs - 1)];
        lines.unshift(new Line({ functionId: callee.id, line: Number(callee.startLine) + int(0, 50) }));
      }
    }
    locations.push(new Location({ id: i + 1, mappingId, address: nextAddr[mappingId], line: lines }));
  }

  // Hot paths form a call tree: each path extends a prefix of an earlier
  // (hotter) one, so samples share long root prefixes like real stacks do.
  const N_PATHS = 600;
  const ROOTS = [1, 2, 3, 4]; // e.g. runtime.goexit / runtime.main / net/http serve loops
  const paths = [];
  for (let p = 0; p < N_PATHS; p++) {
    let path;
    if (p < ROOTS.length) path = [ROOTS[p]];
    else {
      const parent = paths[Math.floor(Math.pow(rand(), 2) * paths.length)];
      path = parent.slice(0, int(1, parent.length));
    }
    const target = int(6, 40);
    while (path.length < target) path.push(int(5, N_LOCATIONS));
    paths.push(path);
  }
  const pathPick = zipf(N_PATHS, 1.05);
  const hotLeaves = Array.from({ length: 2000 }, () => int(1, N_LOCATIONS));
  const endpoints = Array.from({ length: 40 }, (_, i) => `/api/v${1 + (i % 3)}/${WORDS[i % WORDS.length]}${i >= WORDS.length ? i : ''}`);
  const endpointPick = zipf(endpoints.length, 1.0);
  const regions = ['eu-west-1', 'us-east-1', 'us-west-2', 'ap-south-1'];
  const keyEndpoint = st.dedup('endpoint');
  const keyRegion = st.dedup('region');
  const keyReqSize = st.dedup('request_size');
  const unitBytes = st.dedup('bytes');

  const samples = [];
  for (let i = 0; i < N_SAMPLES; i++) {
    // Depth 10-60, mean about 27 (sum of two uniforms, a few extra-deep, clamped).
    const depth = Math.min(60, Math.max(10, int(3, 23) + int(3, 23) + (rand() < 0.05 ? int(0, 20) : 0)));
    // The shared hot prefix covers at most half the stack; the rest varies
    // per sample, which keeps stacks mostly distinct (like real CPU samples).
    const base = paths[pathPick()];
    const stack = base.slice(0, Math.min(base.length, Math.floor(depth * 0.5)));
    if (rand() < 0.03) {
      // A recursive run: the same frame repeated.
      const rec = int(5, N_LOCATIONS);
      for (let k = int(3, 10); k > 0 && stack.length < depth - 1; k--) stack.push(rec);
    }
    while (stack.length < depth) stack.push(rand() < 0.3 ? pick(hotLeaves) : int(1, N_LOCATIONS));
    stack.reverse(); // pprof lists the leaf first

    let count = 1;
    while (count < 8 && rand() < 0.25) count++;
    const label = [];
    if (rand() < 0.35) {
      label.push(new Label({ key: keyEndpoint, str: st.dedup(endpoints[endpointPick()]) }));
      if (rand() < 0.5) label.push(new Label({ key: keyRegion, str: st.dedup(pick(regions)) }));
      if (rand() < 0.05) label.push(new Label({ key: keyReqSize, num: int(64, 1 << 20), numUnit: unitBytes }));
    }
    samples.push(new Sample({ locationId: stack, value: [count, count * PERIOD], label }));
  }

  return new Profile({
    sampleType,
    sample: samples,
    mapping,
    location: locations,
    function: functions,
    stringTable: st,
    timeNanos: TIME_NANOS,
    durationNanos: DURATION_NANOS,
    periodType,
    period: PERIOD,
    defaultSampleType: st.dedup('cpu'),
  });
}

function main() {
  const outDir = resolve(process.argv[2] ?? 'testdata/profiles');
  mkdirSync(outDir, { recursive: true });
  const profile = buildProfile();
  const raw = profile.encode();
  const gz = gzipSync(raw, { level: 6 });
  writeFileSync(join(outDir, 'synthetic-large.pb.gz'), gz);
  console.log(
    `synthetic-large.pb.gz: ${profile.sample.length} samples, ${profile.location.length} locations, ` +
      `${profile.function.length} functions, ${profile.stringTable.strings.length} strings, ` +
      `${raw.length} B raw, ${gz.length} B gzipped`,
  );
}

if (import.meta.url === `file://${resolve(process.argv[1] ?? '')}`) main();

'use strict';
// Writes real Node profiles taken with @datadog/pprof (the profiler inside
// @pyroscope/nodejs 0.6), shaped the way @pyroscope/nodejs sends them:
//   node-wall-cpu.pb.gz  time profiler, samples/wall/cpu, sample label `endpoint`
//   node-heap.pb.gz      sampling heap profiler, inuse_objects/inuse_space
// Usage: node testdata/node/make-profiles.cjs <out-dir> [duration-ms]
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const { Buffer } = require('node:buffer');
const { time, heap } = require('@datadog/pprof');

const outDir = path.resolve(process.argv[2] ?? 'testdata/profiles');
const durationMs = Number(process.argv[3] ?? 1500);

// Named workloads, so tests can look for these function names in the profile.
let sink = 0;
const retained = [];

function hashWork(until) {
  let buf = Buffer.alloc(1024, 7);
  while (Date.now() < until) {
    buf = crypto.createHash('sha256').update(buf).digest();
    sink += buf[0];
  }
}

function sortWork(until) {
  while (Date.now() < until) {
    const xs = Array.from({ length: 5000 }, (_, i) => (i * 2654435761) % 9973);
    xs.sort((a, b) => a - b);
    sink += xs[0];
  }
}

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

function fibWork(until) {
  while (Date.now() < until) sink += fib(22);
}

function allocWork(count) {
  for (let i = 0; i < count; i++) {
    const obj = { id: i, name: `item-${i}`, payload: new Array(16).fill(i) };
    if (i % 4 === 0) retained.push(obj);
  }
}

// The same labelling @pyroscope/nodejs's wrapWithLabels does: the labels live
// in the profiler context while fn runs, and generateLabels reads them back.
function withLabels(labels, fn) {
  time.setContext({ labels });
  try {
    fn();
  } finally {
    time.setContext({ labels: {} });
  }
}

// @pyroscope/nodejs renames V8's sample types to Go's names before sending.
const GO_NAMES = { sample: 'samples', objects: 'inuse_objects', space: 'inuse_space' };
function renameSampleTypes(profile) {
  const strings = profile.stringTable.strings;
  for (const vt of profile.sampleType) {
    const type = strings[Number(vt.type)];
    const unit = strings[Number(vt.unit)];
    if (GO_NAMES[type]) vt.type = profile.stringTable.dedup(GO_NAMES[type]);
    if (GO_NAMES[unit]) vt.unit = profile.stringTable.dedup(GO_NAMES[unit]);
  }
}

// @pyroscope/nodejs also turns plain JS function names into
// "<file relative to cwd>:<name>:<line>" so same-named functions in different
// files stay apart; names that already contain ':' (e.g. "(program)") are kept.
function qualifyFunctionNames(profile) {
  const strings = profile.stringTable.strings;
  const cwd = process.cwd();
  for (const loc of profile.location) {
    for (const line of loc.line) {
      const fn = profile.function[Number(line.functionId) - 1];
      if (!fn) continue;
      const name = strings[Number(fn.name)];
      if (name.includes(':') && !name.startsWith('(anonymous')) continue;
      const file = strings[Number(fn.filename)].replace(cwd, '.');
      fn.name = profile.stringTable.dedup(`${file}:${name}:${line.line}`);
    }
  }
}

function write(name, profile) {
  // pprof-format's encode() is not gzipped; the client sends gzip, so do the same.
  const raw = profile.encode();
  fs.writeFileSync(path.join(outDir, name), zlib.gzipSync(raw, { level: 6 }));
  console.log(`${name}: ${profile.sample.length} samples, ${raw.length} B raw`);
}

function main() {
  fs.mkdirSync(outDir, { recursive: true });

  // 100 Hz wall sampling is @pyroscope/nodejs 0.6's default. Its 512 KiB heap
  // interval would see too little in a short run; 64 KiB matches the captures
  // in spec/ecosystem.md section 7a.
  heap.start(64 * 1024, 64);
  time.start({
    intervalMicros: 10_000,
    durationMillis: 60_000,
    withContexts: true, // required when collectCpuTime is on
    collectCpuTime: true,
    workaroundV8Bug: true,
  });
  time.setContext({ labels: {} });

  const slice = durationMs / 4;
  withLabels({ endpoint: '/api/hash' }, () => hashWork(Date.now() + slice));
  withLabels({ endpoint: '/api/sort' }, () => sortWork(Date.now() + slice));
  fibWork(Date.now() + slice);
  const until = Date.now() + slice;
  while (Date.now() < until) {
    allocWork(2000);
    if (retained.length > 200_000) retained.length = 0;
  }

  time.setContext({ labels: {} });
  const generateLabels = ({ context }) => ({ ...(context?.context?.labels ?? {}) });
  const wall = time.stop(false, generateLabels);
  renameSampleTypes(wall);
  qualifyFunctionNames(wall);
  write('node-wall-cpu.pb.gz', wall);

  const mem = heap.profile();
  heap.stop();
  renameSampleTypes(mem);
  qualifyFunctionNames(mem);
  write('node-heap.pb.gz', mem);

  if (sink === -1) console.log(retained.length); // keep the work observable
}

main();

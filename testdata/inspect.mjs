// Prints a Markdown table of facts about testdata/profiles/*.pb.gz (sample
// types, period, counts, sizes), for keeping testdata/README.md current after
// `npm run testdata`.  Usage: node testdata/inspect.mjs [dir]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';

const dir = process.argv[2] ?? 'testdata/profiles';
console.log('| File | Sample types | Period | Samples | Locations | Functions | Strings | Label keys | Raw B | Gzip B |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const name of readdirSync(dir).filter((f) => f.endsWith('.pb.gz')).sort()) {
  const gz = readFileSync(join(dir, name));
  const raw = gunzipSync(gz);
  const p = Profile.decode(raw);
  const s = (i) => p.stringTable.strings[Number(i)];
  const types = p.sampleType.map((t) => `${s(t.type)}/${s(t.unit)}`).join(', ');
  const period = p.periodType ? `${p.period} ${s(p.periodType.type)}/${s(p.periodType.unit)}` : String(p.period);
  const keys = new Set();
  for (const smp of p.sample) for (const l of smp.label) keys.add(s(l.key) + (Number(l.str) ? '' : ' (num)'));
  console.log(
    `| ${name} | ${types} | ${period} | ${p.sample.length} | ${p.location.length} | ${p.function.length} | ` +
      `${p.stringTable.strings.length} | ${[...keys].sort().join(', ') || '-'} | ${raw.length} | ${gz.length} |`,
  );
}

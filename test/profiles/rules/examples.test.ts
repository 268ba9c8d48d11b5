// The example rules in the repo's rules/ folder must load, and must match the profiles in testdata.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { decodePprof } from '../../../src/profiles/pprof/decode.js';
import { compileRule } from '../../../src/profiles/rules/compiled.js';
import { loadProvisionedRules } from '../../../src/profiles/rules/provisioned.js';
import { guessProfileName } from '../../../src/profiles/segment/series.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function profile(name: string) {
  return decodePprof(gunzipSync(readFileSync(path.join(root, 'testdata/profiles', name))));
}

/** The __profile_type__ values ingest derives for a testdata profile (see segment/series.ts). */
function profileTypes(name: string): string[] {
  const p = profile(name);
  const n = guessProfileName(p);
  const period = `${p.strings[p.periodTypeType]}:${p.strings[p.periodTypeUnit]}`;
  return Array.from(p.sampleTypeType, (t, i) => `${n}:${p.strings[t]}:${p.strings[p.sampleTypeUnit[i]!]}:${period}`);
}

describe('rules/ examples', async () => {
  const rules = await loadProvisionedRules(path.join(root, 'rules'));
  const compiled = rules.forTenant('anonymous').map(compileRule);

  it('load and compile', () => {
    expect(rules.files.map((f) => path.basename(f))).toEqual(['allocations.yaml', 'cpu.yaml', 'functions.yaml']);
    expect(compiled.map((r) => r.metricName).sort()).toEqual([
      'profiles_recorded_alloc_space_bytes',
      'profiles_recorded_cpu_malloc_nanoseconds',
      'profiles_recorded_cpu_nanoseconds',
    ]);
    expect(rules.forTenant('acme')).toHaveLength(2); // the function rule is for "anonymous" only
  });

  it('select profile types that testdata profiles have', () => {
    const available = new Set(['go-cpu.pb.gz', 'go-heap.pb.gz', 'node-heap.pb.gz'].flatMap(profileTypes));
    for (const r of compiled) expect(available, r.metricName).toContain(r.profileType);
  });

  it('filter on a function that occurs in the stacks of the Go CPU profile', () => {
    const fn = compiled.find((r) => r.functionName)!.functionName!;
    const p = profile('go-cpu.pb.gz');
    const cpuType = profileTypes('go-cpu.pb.gz').indexOf('process_cpu:cpu:nanoseconds:cpu:nanoseconds');
    const T = p.sampleTypeType.length;
    let total = 0;
    for (let s = 0; s < p.sampleCount; s++) {
      let hit = false;
      for (let k = p.sampleLocationStart[s]!; k < p.sampleLocationStart[s + 1]! && !hit; k++) {
        const loc = p.sampleLocations[k]!;
        for (let l = p.locationLineStart[loc]!; l < p.locationLineStart[loc + 1]!; l++) {
          if (p.strings[p.functionName[p.lineFunction[l]!]!] === fn) hit = true;
        }
      }
      if (hit) total += p.sampleValues[s * T + cpuType]!;
    }
    expect(total).toBeGreaterThan(0);
  });
});

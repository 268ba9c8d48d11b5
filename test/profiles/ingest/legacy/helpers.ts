// Read a DecodedProfile back into plain values for assertions.
import type { DecodedProfile } from '../../../../src/profiles/pprof/profile.js';

export interface PlainProfile {
  sampleTypes: string[];
  periodType: string;
  period: number;
  timeNanos: bigint;
  durationNanos: bigint;
  /** "root;…;leaf" → values, in sample order. */
  samples: [stack: string, values: number[]][];
}

export function plain(p: DecodedProfile): PlainProfile {
  const s = p.strings;
  const T = p.sampleTypeType.length;
  const samples: [string, number[]][] = [];
  for (let i = 0; i < p.sampleCount; i++) {
    const names: string[] = [];
    for (let k = p.sampleLocationStart[i]!; k < p.sampleLocationStart[i + 1]!; k++) {
      const loc = p.sampleLocations[k]!;
      // Lines are innermost first, so leaf-first order is kept.
      for (let l = p.locationLineStart[loc]!; l < p.locationLineStart[loc + 1]!; l++) {
        names.push(s[p.functionName[p.lineFunction[l]!]!]!);
      }
    }
    samples.push([names.reverse().join(';'), Array.from(p.sampleValues.subarray(i * T, (i + 1) * T))]);
  }
  return {
    sampleTypes: Array.from(p.sampleTypeType, (t, i) => `${s[t]}:${s[p.sampleTypeUnit[i]!]}`),
    periodType: `${s[p.periodTypeType]}:${s[p.periodTypeUnit]}`,
    period: p.period,
    timeNanos: p.timeNanos,
    durationNanos: p.durationNanos,
    samples,
  };
}

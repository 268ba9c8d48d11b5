// What a stored profile should contain, computed with the reference decoder
// (pprof-format), independent of Kiln's own decoder.

import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';

export interface ExpectedSeries {
  type: string;
  unit: string;
  periodType: string;
  periodUnit: string;
  total: number;
  /** "leaf;...;root" function names (every line, inlined frames included) → summed value. */
  stacks: Map<string, number>;
}

const num = (v: number | bigint) => Number(BigInt.asIntN(64, BigInt(v)));

/** One entry per sample type (samples with sample labels are not split here). */
export function expectedSeries(bytes: Uint8Array): ExpectedSeries[] {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const p = Profile.decode(raw);
  const str = (i: number | bigint) => p.stringTable.strings[Number(i)]!;
  const fnName = new Map(p.function.map((f) => [num(f.id), str(f.name)]));
  const locNames = new Map(p.location.map((l) => [num(l.id), l.line.map((ln) => fnName.get(num(ln.functionId))!)]));
  return p.sampleType.map((st, t) => {
    const stacks = new Map<string, number>();
    let total = 0;
    for (const s of p.sample) {
      const v = num(s.value[t]!);
      if (v === 0) continue;
      const key = s.locationId.flatMap((id) => locNames.get(num(id))!).join(';');
      stacks.set(key, (stacks.get(key) ?? 0) + v);
      total += v;
    }
    return {
      type: str(st.type),
      unit: str(st.unit),
      periodType: str(p.periodType?.type ?? 0),
      periodUnit: str(p.periodType?.unit ?? 0),
      total,
      stacks,
    };
  });
}

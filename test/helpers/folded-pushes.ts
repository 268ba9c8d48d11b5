// Pushes random folded-text profiles with known contents, and remembers what
// each acknowledged push must have stored. Every push of one (tenant, service,
// region) gets its own second, so no two pushes share a series and timestamp
// (compaction drops such rows as duplicates).

import { prng } from '../profiles/pprof/reference.js';
import type { StoredProfile } from './stored-profiles.js';

export { prng };

const FUNCTIONS = ['main', 'serve', 'handle', 'parse', 'encode', 'gzip', 'query', 'sort', 'hash', 'alloc', 'read', 'write'];
const SAMPLE_RATE = 100;
const NANOS_PER_SAMPLE = 1e9 / SAMPLE_RATE;

export interface FoldedPush {
  tenant: string;
  service: string;
  region: string;
  /** Seconds since the epoch (the `from` parameter). */
  from: number;
  text: string;
  /** "leaf;…;root" → value in nanoseconds, as Kiln stores folded CPU samples. */
  stacks: Map<string, number>;
}

export class FoldedPushGenerator {
  private readonly rand: () => number;
  private readonly nextSecond = new Map<string, number>();

  constructor(
    seed: number,
    private readonly tenants: string[],
    private readonly services: string[],
    private readonly regions: string[],
    /** First `from` second; pushes count up from here per series. */
    private readonly baseSecond = 1_700_000_000,
  ) {
    this.rand = prng(seed);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  next(): FoldedPush {
    const tenant = this.pick(this.tenants);
    const service = this.pick(this.services);
    const region = this.pick(this.regions);
    const key = `${tenant}|${service}|${region}`;
    const from = this.nextSecond.get(key) ?? this.baseSecond;
    this.nextSecond.set(key, from + 1);
    const lines: string[] = [];
    const stacks = new Map<string, number>();
    const n = 1 + Math.floor(this.rand() * 6);
    for (let i = 0; i < n; i++) {
      const depth = 1 + Math.floor(this.rand() * 5);
      const frames = Array.from({ length: depth }, () => this.pick(FUNCTIONS));
      const count = 1 + Math.floor(this.rand() * 50);
      lines.push(`${frames.join(';')} ${count}`);
      const leafFirst = [...frames].reverse().join(';');
      stacks.set(leafFirst, (stacks.get(leafFirst) ?? 0) + count * NANOS_PER_SAMPLE);
    }
    return { tenant, service, region, from, text: `${lines.join('\n')}\n`, stacks };
  }
}

/** Pushes one profile; resolves with the HTTP status. */
export async function pushFolded(baseUrl: string, p: FoldedPush): Promise<number> {
  const name = encodeURIComponent(`${p.service}.cpu{region=${p.region}}`);
  const res = await fetch(`${baseUrl}/ingest?name=${name}&from=${p.from}&until=${p.from + 10}&sampleRate=${SAMPLE_RATE}&spyName=pyspy`, {
    method: 'POST',
    headers: { 'X-Scope-OrgID': p.tenant },
    body: p.text,
  });
  await res.arrayBuffer();
  return res.status;
}

/** The key a stored profile and the push that made it share. */
export function pushKey(tenant: string, service: string, region: string, timeNanos: bigint): string {
  return `${tenant}|${service}|${region}|${timeNanos}`;
}

export const keyOfPush = (p: FoldedPush) => pushKey(p.tenant, p.service, p.region, BigInt(p.from) * 1_000_000_000n);
export const keyOfStored = (s: StoredProfile) => pushKey(s.tenant, s.labels.service_name!, s.labels.region!, s.timeNanos);

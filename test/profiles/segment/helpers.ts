// Inputs for segment-writer tests: small pprof profiles with known stacks.

import { defaultConfig } from '../../../src/config/config.js';
import type { Labels } from '../../../src/profiles/block/model.js';
import { buildProfile, encodePprof } from '../../../src/profiles/pprof/encode.js';
import type { RequestPart } from '../../../src/profiles/segment/segment-builder.js';

export const NOW_MS = 1_700_000_000_000;

export const validation = { ...defaultConfig().validation, maxProfileSizeBytes: 1 << 20, rejectOlderThan: 0 };

/** A CPU profile at `timeMs` whose one stack `fn;main` has value `value`. */
export function pprof(fn: string, value: number, timeMs = NOW_MS): Uint8Array {
  return encodePprof(buildProfile({
    sampleTypes: [['cpu', 'nanoseconds']],
    periodType: ['cpu', 'nanoseconds'],
    period: 10_000_000,
    timeNanos: BigInt(timeMs) * 1_000_000n,
    samples: [{ stack: [fn, 'main'], values: [value] }],
  }));
}

export const labelsOf = (service: string): Labels => [['service_name', service]];

let nextId = 1;
/** A 16-byte profile id whose first byte counts up. */
export function profileId(): Uint8Array {
  const id = new Uint8Array(16);
  id[0] = nextId++;
  return id;
}

/** A request part received at NOW_MS with the given profiles. */
export function part(profiles: { service?: string; bytes: Uint8Array }[], tenant = 'tenant-a'): RequestPart {
  return {
    tenant,
    receivedAtMs: NOW_MS,
    profiles: profiles.map((p) => ({ labels: labelsOf(p.service ?? 'api'), bytes: p.bytes, profileId: profileId(), defaultTimeNanos: BigInt(NOW_MS) * 1_000_000n })),
  };
}

/** Garbage that is not a pprof protobuf. */
export const MALFORMED = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]);

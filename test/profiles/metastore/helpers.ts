// Shared builders for metastore tests (also used by the crash child process).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { create } from '@bufbuild/protobuf';
import { monotonicFactory, ulid } from 'ulid';
import { BlockMetaSchema, DatasetSchema, type BlockMeta } from '../../../src/gen/metastore/v1/types_pb.js';

export const nextUlid = monotonicFactory();

export interface MetaOptions {
  id?: string;
  shard?: number;
  level?: number;
  /** Block-level tenant; "" (the default) makes a multi-tenant segment. */
  tenant?: string;
  /** One dataset per entry: [tenant, service]. */
  datasets?: Array<[string, string]>;
  minTime?: number;
  maxTime?: number;
}

/** A well-formed BlockMeta with a proper string table. */
export function makeMeta(o: MetaOptions = {}): BlockMeta {
  const table = [''];
  const intern = (s: string): number => {
    if (s === '') return 0;
    let i = table.indexOf(s);
    if (i < 0) i = table.push(s) - 1;
    return i;
  };
  const minTime = BigInt(o.minTime ?? 1_000);
  const maxTime = BigInt(o.maxTime ?? 2_000);
  const createdBy = intern('host-1');
  const tenant = intern(o.tenant ?? '');
  const datasets = (o.datasets ?? [['acme', 'api']]).map(([t, svc]) =>
    create(DatasetSchema, {
      tenant: intern(t),
      name: intern(svc),
      minTime,
      maxTime,
      tableOfContents: [0n, 10n, 20n],
      size: 30n,
      labels: [2, intern('service_name'), intern(svc), intern('__profile_type__'), intern('process_cpu:cpu:nanoseconds:cpu:nanoseconds')],
    }),
  );
  return create(BlockMetaSchema, {
    formatVersion: 1,
    id: o.id ?? nextUlid(),
    tenant,
    shard: o.shard ?? 1,
    compactionLevel: o.level ?? 0,
    minTime,
    maxTime,
    createdBy,
    metadataOffset: 30n,
    size: 100n,
    datasets,
    stringTable: table,
  });
}

export function tempDir(prefix = 'kiln-metastore-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/** Collects warnings and infos instead of printing them. */
export function recordingLogger(): { warn: (o: object, m: string) => void; info: () => void; warnings: Array<{ obj: object; msg: string }> } {
  const warnings: Array<{ obj: object; msg: string }> = [];
  return { warn: (obj, msg) => warnings.push({ obj, msg }), info: () => {}, warnings };
}

/** A clock tests move by hand. */
export class ManualClock {
  constructor(public now = Date.UTC(2025, 0, 1)) {}
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A ULID whose time is exactly `ms` (random part random: give each block its own ms). */
export function ulidAt(ms: number): string {
  return ulid(ms);
}

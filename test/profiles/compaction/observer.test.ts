import { decodeTime } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BlockMeta } from '../../../src/gen/metastore/v1/types_pb.js';
import { compareLabels, compareStrings } from '../../../src/profiles/block/labels.js';
import type { Labels } from '../../../src/profiles/block/model.js';
import { compactedBlockId } from '../../../src/profiles/compaction/block-id.js';
import { compactBlocks } from '../../../src/profiles/compaction/compact.js';
import type { JobObserver, ObservedRow } from '../../../src/profiles/compaction/observer.js';
import { MemoryBucket } from '../block/memory-bucket.js';
import { expectedMerge, ulidAt, writeSegment, type Push } from './helpers.js';

const SHARD = 3;
const T0 = 1_763_700_000_000;
const ns = (ms: number, extra = 0) => BigInt(ms) * 1_000_000n + BigInt(extra);
const FUNCTIONS = ['runtime.main', 'main.main', 'main.work', 'Module._compile', '(anonymous:L#1:C#1)'];

/** Sums totals per series and inclusive values per function (a stack counts once per function), resolving stacks through the accessor. */
class CountingObserver implements JobObserver {
  readonly calls: string[] = [];
  readonly totals = new Map<string, number>();
  readonly functions = new Map<string, number>();
  rows = 0;
  private tenant = '';
  private dataset = '';
  private series: Labels = [];
  private lastTime = -1n;
  /** Per stack id of the current dataset: the FUNCTIONS it contains (cached, ids are stable in a dataset). */
  private stackFns = new Map<number, string[]>();

  constructor(private readonly skip: { tenant?: string; dataset?: string; label?: [string, string] } = {}) {}

  beginTenant(tenant: string): boolean {
    this.calls.push(`T ${tenant}`);
    this.tenant = tenant;
    return tenant !== this.skip.tenant;
  }
  beginDataset(dataset: string): boolean {
    this.calls.push(`D ${dataset}`);
    this.dataset = dataset;
    this.stackFns = new Map();
    return dataset !== this.skip.dataset;
  }
  beginSeries(labels: Labels): boolean {
    this.calls.push(`S ${JSON.stringify(labels)}`);
    this.series = labels.map(([n, v]) => [n, v] as const);
    this.lastTime = -1n;
    const l = this.skip.label;
    return !(l && labels.some(([n, v]) => n === l[0] && v === l[1]));
  }
  row(r: ObservedRow): void {
    this.rows++;
    expect(r.tenant).toBe(this.tenant);
    expect(r.dataset).toBe(this.dataset);
    expect(r.labels).toEqual(this.series);
    expect(r.timeNanos > this.lastTime).toBe(true);
    this.lastTime = r.timeNanos;
    const key = `${r.tenant}|${r.dataset}|${JSON.stringify(r.labels)}`;
    this.totals.set(key, (this.totals.get(key) ?? 0) + r.totalValue);
    let sum = 0;
    for (let k = 0; k < r.stacktraceIds.length; k++) {
      const id = r.stacktraceIds[k]!;
      if (k > 0) expect(id).toBeGreaterThan(r.stacktraceIds[k - 1]!);
      sum += r.values[k]!;
      let fns = this.stackFns.get(id);
      if (fns === undefined) {
        const names = r.symbols.functionNames(id);
        expect(r.symbols.functionNameIds(id).map((i) => r.symbols.string(i))).toEqual(names);
        fns = FUNCTIONS.filter((f) => names.includes(f));
        this.stackFns.set(id, fns);
      }
      for (const f of fns) {
        const fk = `${r.tenant}|${JSON.stringify(r.labels)}|${f}`;
        this.functions.set(fk, (this.functions.get(fk) ?? 0) + r.values[k]!);
      }
    }
    expect(sum).toBeCloseTo(r.totalValue, 6);
  }
  finish(): Uint8Array {
    this.calls.push('F');
    return new TextEncoder().encode(JSON.stringify({ rows: this.rows }));
  }
}

function pushes(): { id: string; pushes: Push[] }[] {
  const lbl = (svc: string, env: string): Push['labels'] => [['service_name', svc], ['env', env]];
  return [
    {
      id: ulidAt(T0, 'F1'),
      pushes: [
        { tenant: 'zeta', labels: lbl('api', 'prod'), file: 'go-cpu.pb.gz', timeNanos: ns(T0, 1), profileId: 1 },
        { tenant: 'acme', labels: lbl('web', 'prod'), file: 'node-wall-cpu.pb.gz', timeNanos: ns(T0, 2), profileId: 2 },
        { tenant: 'acme', labels: lbl('api', 'dev'), file: 'go-heap.pb.gz', timeNanos: ns(T0, 3), profileId: 3 },
      ],
    },
    {
      id: ulidAt(T0 + 300, 'F2'),
      pushes: [
        { tenant: 'acme', labels: lbl('api', 'prod'), file: 'go-cpu.pb.gz', timeNanos: ns(T0 + 300, 1), profileId: 4 },
        { tenant: 'acme', labels: lbl('api', 'dev'), file: 'go-cpu.pb.gz', timeNanos: ns(T0 - 100, 1), profileId: 5 },
        // Same labels and time as a row of the first segment: counted once.
        { tenant: 'acme', labels: lbl('web', 'prod'), file: 'node-wall-cpu.pb.gz', timeNanos: ns(T0, 2), profileId: 2 },
        // The same series in two tenants: the observer must see both.
        { tenant: 'zeta', labels: lbl('web', 'prod'), file: 'node-wall-cpu.pb.gz', timeNanos: ns(T0, 2), profileId: 6 },
      ],
    },
  ];
}

describe('JobObserver hook', () => {
  let bucket: MemoryBucket;
  let sources: BlockMeta[];
  beforeAll(async () => {
    bucket = new MemoryBucket();
    sources = [];
    for (const s of pushes()) sources.push(await writeSegment(bucket, SHARD, s.id, s.pushes));
  });

  it('sees every merged row once, in tenant → dataset → series → time order, with totals and function values matching the inputs', async () => {
    const observer = new CountingObserver();
    const result = await compactBlocks({ bucket, sources, shard: SHARD, observer });
    expect(JSON.parse(new TextDecoder().decode(result.observerResult))).toEqual({ rows: result.stats.outputRows });
    expect(observer.calls.at(-1)).toBe('F');

    // Independent truth: the source blocks read back, duplicates removed.
    const truth = await expectedMerge(bucket, sources);
    expect(truth.duplicates).toBeGreaterThan(0); // every row (series) of the repeated push
    expect(observer.rows).toBe(truth.rows.size);
    const totals = new Map<string, number>();
    const functions = new Map<string, number>();
    for (const r of truth.rows.values()) {
      const key = `${r.tenant}|${r.dataset}|${JSON.stringify(r.labels)}`;
      totals.set(key, (totals.get(key) ?? 0) + r.totalValue);
      for (const [names, v] of r.functionStacks) {
        for (const f of FUNCTIONS) {
          if (!names.includes(f)) continue;
          const fk = `${r.tenant}|${JSON.stringify(r.labels)}|${f}`;
          functions.set(fk, (functions.get(fk) ?? 0) + v);
        }
      }
    }
    expect(observer.totals).toEqual(totals);
    expect(observer.functions).toEqual(functions);
    expect(functions.size).toBeGreaterThan(0);

    // Order of the begin calls.
    const tenants = observer.calls.filter((c) => c.startsWith('T ')).map((c) => c.slice(2));
    expect(tenants).toEqual(['acme', 'zeta']);
    let datasets: string[] = [];
    let series: Labels[] = [];
    for (const c of [...observer.calls, 'T end']) {
      if (c.startsWith('T ') || c.startsWith('D ') || c === 'F') {
        for (let i = 1; i < series.length; i++) expect(compareLabels(series[i - 1]!, series[i]!)).toBeLessThan(0);
        series = [];
      }
      if (c.startsWith('T ') || c === 'F') {
        expect(datasets).toEqual(datasets.slice().sort(compareStrings));
        datasets = [];
      }
      if (c.startsWith('D ')) datasets.push(c.slice(2));
      if (c.startsWith('S ')) series.push(JSON.parse(c.slice(2)) as Labels);
    }
  });

  it('skips the rows of a tenant, dataset or series whose begin call returns false', async () => {
    const all = new CountingObserver();
    await compactBlocks({ bucket, sources, shard: SHARD, observer: all });
    const cases: [CountingObserver, (key: string) => boolean][] = [
      [new CountingObserver({ tenant: 'zeta' }), (k) => k.startsWith('zeta|')],
      [new CountingObserver({ dataset: 'web' }), (k) => k.split('|')[1] === 'web'],
      [new CountingObserver({ label: ['env', 'dev'] }), (k) => k.includes('["env","dev"]')],
    ];
    for (const [observer, skipped] of cases) {
      await compactBlocks({ bucket, sources, shard: SHARD, observer });
      const want = new Map([...all.totals].filter(([k]) => !skipped(k)));
      expect(observer.totals).toEqual(want);
      expect(want.size).toBeLessThan(all.totals.size);
    }
  });

  it('gives no observerResult without an observer', async () => {
    const r = await compactBlocks({ bucket, sources, shard: SHARD });
    expect(r.observerResult).toBeUndefined();
  });
});

describe('compactedBlockId', () => {
  const ids = [ulidAt(T0 + 5, 'B'), ulidAt(T0, 'A'), ulidAt(T0 + 9, 'C')];
  it('takes the smallest source time and hashes ids, level and tenant', () => {
    const id = compactedBlockId(ids, 1, 'acme');
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(decodeTime(id)).toBe(T0);
    expect(compactedBlockId(ids.slice().reverse(), 1, 'acme')).toBe(id);
    expect(compactedBlockId(ids, 2, 'acme')).not.toBe(id);
    expect(compactedBlockId(ids, 1, 'beta')).not.toBe(id);
    expect(compactedBlockId(ids.slice(1), 1, 'acme')).not.toBe(id);
    expect(() => compactedBlockId([], 1, 'a')).toThrow();
  });
});

// How a profile becomes series and rows in a segment head, on hand-built
// profiles whose expected labels and sums are written out by hand.

import { describe, expect, it } from 'vitest';
import { buildProfile } from '../../../src/profiles/pprof/encode.js';
import { stacktraceFunctionNames } from '../../../src/profiles/block/reader.js';
import { packHead, unpackHead } from '../../../src/profiles/segment/build-protocol.js';
import { DatasetHead } from '../../../src/profiles/segment/head.js';
import { guessProfileName, planSeries } from '../../../src/profiles/segment/series.js';
import { profileRows } from './profile-rows.js';

const cpu = buildProfile({
  sampleTypes: [['samples', 'count'], ['cpu', 'nanoseconds']],
  periodType: ['cpu', 'nanoseconds'],
  period: 10_000_000,
  timeNanos: 1_700_000_000_000_000_000n,
  samples: [
    { stack: ['hash', 'work', 'main'], values: [2, 20] },
    { stack: ['sort', 'work', 'main'], values: [1, 10], labels: { endpoint: '/a' } },
    { stack: ['hash', 'work', 'main'], values: [3, 30] },
    { stack: ['sort', 'work', 'main'], values: [4, 40], labels: { endpoint: '/a' } },
    { stack: ['gc'], values: [0, 5], labels: { endpoint: '/b', span_id: 'abc' } },
  ],
});

const base = [['env', 'prod'], ['service_name', 'api']] as const;

describe('planSeries', () => {
  it('guesses Pyroscope metric names from sample types', () => {
    expect(guessProfileName(cpu)).toBe('process_cpu');
    const mem = buildProfile({ sampleTypes: [['alloc_objects', 'count'], ['inuse_space', 'bytes']], samples: [] });
    expect(guessProfileName(mem)).toBe('memory');
    const wall = buildProfile({ sampleTypes: [['samples', 'count'], ['wall', 'nanoseconds']], periodType: ['wall', 'nanoseconds'], samples: [] });
    expect(guessProfileName(wall)).toBe('wall');
    const mutex = buildProfile({ sampleTypes: [['contentions', 'count'], ['delay', 'nanoseconds']], samples: [] });
    expect(guessProfileName(mutex)).toBe('mutex');
  });

  it('makes one series per sample-label set and sample type, labelled as Pyroscope labels them', () => {
    const plan = planSeries(cpu, base);
    expect(plan.profileTypes).toEqual(['process_cpu:samples:count:cpu:nanoseconds', 'process_cpu:cpu:nanoseconds:cpu:nanoseconds']);
    // Groups sorted by key: no labels, endpoint=/a, endpoint=/b (span_id stays per sample).
    expect(plan.groups.map((g) => [...g])).toEqual([[0, 2], [1, 3], [4]]);
    expect(plan.labels[1]![1]).toEqual([
      ['__name__', 'process_cpu'],
      ['__period_type__', 'cpu'],
      ['__period_unit__', 'nanoseconds'],
      ['__profile_type__', 'process_cpu:cpu:nanoseconds:cpu:nanoseconds'],
      ['__service_name__', 'api'],
      ['__type__', 'cpu'],
      ['__unit__', 'nanoseconds'],
      ['endpoint', '/a'],
      ['env', 'prod'],
      ['service_name', 'api'],
    ]);
    expect(plan.labels[0]![0]!.find(([n]) => n === 'endpoint')).toBeUndefined();
  });

  it('keeps the request __name__ and never lets a sample label override a request label', () => {
    const p = buildProfile({ sampleTypes: [['cpu', 'nanoseconds']], samples: [{ stack: ['f'], values: [1], labels: { env: 'dev', 'http.route': '/x' } }] });
    const plan = planSeries(p, [['__name__', 'custom'], ['env', 'prod'], ['service_name', 's']]);
    const labels = Object.fromEntries(plan.labels[0]![0]!);
    expect(labels.__name__).toBe('custom');
    expect(labels.env).toBe('prod');
    // Dotted sample label names are sanitised like request labels.
    expect(labels.http_route).toBe('/x');
  });

  it('label sets whose joined text would be equal stay separate series, planned first or again', () => {
    // A value holding the separators a naive key would use, against the pair it imitates.
    const p = buildProfile({
      sampleTypes: [['cpu', 'nanoseconds']],
      samples: [
        { stack: ['f'], values: [1], labels: { a: 'x\u0001b\u0000y' } },
        { stack: ['g'], values: [2], labels: { a: 'x', b: 'y' } },
      ],
    });
    const sampleLabels = (plan: ReturnType<typeof planSeries>) => plan.labels.map((l) => l[0]!.filter(([n]) => n === 'a' || n === 'b'));
    // Groups are ordered by their labels: a=x (a prefix of the other value) first.
    const expected = [[['a', 'x'], ['b', 'y']], [['a', 'x\u0001b\u0000y']]];
    for (let round = 0; round < 2; round++) {
      const plan = planSeries(p, base);
      expect(plan.groups.map((g) => [...g])).toEqual([[1], [0]]);
      expect(sampleLabels(plan)).toEqual(expected);
    }
    // Request labels that differ only where a naive key would join them.
    const q = buildProfile({ sampleTypes: [['cpu', 'nanoseconds']], samples: [{ stack: ['f'], values: [1] }] });
    const one = planSeries(q, [['env', 'a\u0000x'], ['service_name', 's']]).labels[0]![0]!;
    const two = planSeries(q, [['env', 'a'], ['service_name', 's']]).labels[0]![0]!;
    expect(Object.fromEntries(one).env).toBe('a\u0000x');
    expect(Object.fromEntries(two).env).toBe('a');
  });

  it('a series planned again gets the same labels array (DatasetHead looks series up by it)', () => {
    const first = planSeries(cpu, base);
    const again = planSeries(cpu, [['env', 'prod'], ['service_name', 'api']]);
    for (let g = 0; g < first.labels.length; g++) {
      for (let t = 0; t < first.labels[g]!.length; t++) expect(again.labels[g]![t]).toBe(first.labels[g]![t]);
    }
    const other = planSeries(cpu, [['env', 'dev'], ['service_name', 'api']]);
    expect(Object.fromEntries(other.labels[0]![0]!).env).toBe('dev');
  });

  // 1,500 samples use the planner's reused hash table; 40,000 one of their own.
  it.each([[1500, 400], [40_000, 9000]])('groups %i samples of %i label sets, in any order, as a naive grouping by their values does', (count, sets) => {
    // Some sets have two labels, in either order; the sets are shuffled.
    const samples = Array.from({ length: count }, (_, i) => {
      const set = (i * 7919) % sets;
      const labels: Record<string, string> = set % 3 === 0 ? { route: `/r${set}`, tier: `t${set % 5}` } : { route: `/r${set}` };
      return { stack: [`f${i % 13}`], values: [i + 1], labels: set % 2 === 0 ? Object.fromEntries(Object.entries(labels).reverse()) : labels };
    });
    const p = buildProfile({ sampleTypes: [['cpu', 'nanoseconds']], samples });
    const plan = planSeries(p, base);
    const expected = new Map<string, number[]>();
    samples.forEach((s, i) => {
      const key = Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, v]) => `${n}=${v}`).join(',');
      expected.set(key, [...(expected.get(key) ?? []), i]);
    });
    expect(plan.groups).toHaveLength(sets);
    const got = new Map(plan.groups.map((g, k) => [
      plan.labels[k]![0]!.filter(([n]) => n === 'route' || n === 'tier').map(([n, v]) => `${n}=${v}`).join(','),
      [...g],
    ]));
    expect(got).toEqual(expected);
  });

  it('records a profile without samples as one empty group', () => {
    const p = buildProfile({ sampleTypes: [['cpu', 'nanoseconds']], samples: [] });
    const plan = planSeries(p, base);
    expect(plan.groups).toHaveLength(1);
    expect(plan.groups[0]).toHaveLength(0);
  });
});

describe('DatasetHead', () => {
  it('merges another head whose stack trace ids come in another order, keeping each row ascending', () => {
    const one = (stacks: string[], values: number[]) =>
      buildProfile({ sampleTypes: [['cpu', 'nanoseconds']], samples: stacks.map((f, i) => ({ stack: [f], values: [values[i]!] })) });
    const a = new DatasetHead('t1', 'api');
    const pa = one(['a', 'b'], [1, 2]);
    a.append(pa, planSeries(pa, base), { profileId: new Uint8Array(16).fill(1), timeNanos: 5n });
    // In b's head "b" is stack trace 0 and "a" is 1: remapped into a's ids the row is [1, 0].
    const b = new DatasetHead('t1', 'api');
    const pb = one(['b', 'a'], [5, 7]);
    b.append(pb, planSeries(pb, base), { profileId: new Uint8Array(16).fill(2), timeNanos: 6n });
    a.merge(unpackHead(packHead(b.content())));
    const c = a.content();
    const rows = profileRows(c.rows).map((r) => ({
      id: r.profileId[0],
      ids: [...r.stacktraceIds],
      stacks: Object.fromEntries([...r.stacktraceIds].map((id, k) => [stacktraceFunctionNames(c.symbols, id).join(';'), r.values[k]])),
      total: r.totalValue,
    }));
    expect(rows).toEqual([
      { id: 1, ids: [0, 1], stacks: { a: 1, b: 2 }, total: 3 },
      { id: 2, ids: [0, 1], stacks: { a: 7, b: 5 }, total: 12 },
    ]);
  });

  it('sums equal stacks per series, drops zero values and deduplicates symbols across profiles', () => {
    const head = new DatasetHead('t1', 'api');
    const plan = planSeries(cpu, base);
    head.append(cpu, plan, { profileId: new Uint8Array(16).fill(1), timeNanos: 5n });
    head.append(cpu, plan, { profileId: new Uint8Array(16).fill(2), timeNanos: 6n });
    const c = head.content();
    const rows = profileRows(c.rows);
    // 3 groups × 2 types, same labels for both profiles.
    expect(c.series).toHaveLength(6);
    expect(rows).toHaveLength(12);
    // Symbols are shared: 5 functions (hash, work, main, sort, gc) and 3 distinct stacks.
    expect(c.symbols.functionName).toHaveLength(5);
    expect(c.symbols.stacktraceEnd).toHaveLength(3);

    const byType = (seriesLabels: readonly (readonly [string, string])[]) => Object.fromEntries(seriesLabels);
    const rowsOf = (endpoint: string | undefined, type: string) =>
      rows.filter((r) => {
        const l = byType(c.series[r.seriesIndex]!);
        return l.endpoint === endpoint && l.__type__ === type && r.profileId[0] === 1;
      });
    const stacks = (endpoint: string | undefined, type: string) => {
      const [row] = rowsOf(endpoint, type);
      return Object.fromEntries([...row!.stacktraceIds].map((id, i) => [stacktraceFunctionNames(c.symbols, id).join(';'), row!.values[i]]));
    };
    expect(stacks(undefined, 'cpu')).toEqual({ 'hash;work;main': 50 });
    expect(stacks('/a', 'samples')).toEqual({ 'sort;work;main': 5 });
    expect(stacks('/b', 'cpu')).toEqual({ gc: 5 });
    // The gc sample has 0 samples: that series' row has no stacks and a zero total.
    expect(stacks('/b', 'samples')).toEqual({});
    expect(rowsOf('/a', 'cpu')[0]!.totalValue).toBe(50);
    expect(rowsOf(undefined, 'cpu')[0]!.timeNanos).toBe(5n);
    expect(rowsOf(undefined, 'cpu')[0]!.period).toBe(10_000_000n);
  });

  it('orders groups by their label text, few or many, and takes request labels in any order', () => {
    for (const n of [3, 40]) {
      // Values in descending order of text, so sample order and group order differ.
      const values = Array.from({ length: n }, (_, i) => `v${String(n - i).padStart(3, '0')}`);
      const p = buildProfile({
        sampleTypes: [['cpu', 'nanoseconds']],
        samples: values.map((v, i) => ({ stack: ['f'], values: [i + 1], labels: { zone: v, a_first: 'x' } })),
      });
      const plan = planSeries(p, [['service_name', 'api'], ['env', 'prod']]);
      const zones = plan.labels.map((l) => l[0]!.find(([k]) => k === 'zone')![1]);
      expect(zones).toEqual([...values].sort());
      expect(plan.groups.map((g) => p.sampleValues[g[0]!])).toEqual(zones.map((z) => values.indexOf(z) + 1));
      const names = plan.labels[0]![0]!.map(([k]) => k);
      expect(names).toEqual([...names].sort());
      expect(names).toContain('env');
    }
  });

  it('tells apart locations that differ only in line number or mapping', () => {
    const head = new DatasetHead('t', 's');
    const a = buildProfile({ sampleTypes: [['cpu', 'nanoseconds']], samples: [{ stack: ['f', 'g'], values: [1] }] });
    const b = buildProfile({ sampleTypes: [['cpu', 'nanoseconds']], samples: [{ stack: ['f', 'g'], values: [1] }] });
    b.lineNumber[0] = 99;
    head.append(a, planSeries(a, base), { profileId: new Uint8Array(16), timeNanos: 1n });
    head.append(b, planSeries(b, base), { profileId: new Uint8Array(16), timeNanos: 2n });
    const s = head.content().symbols;
    // f at two lines = two locations; g shared; two distinct stacks.
    expect(s.locationMapping).toHaveLength(3);
    expect(s.stacktraceEnd).toHaveLength(2);
    expect(s.functionName).toHaveLength(2);
  });
});

describe('DatasetHead with inlined frames', () => {
  it('interns a location of many lines (inlined frames) once, and tells apart one that differs in a line', () => {
    const names = Array.from({ length: 40 }, (_, i) => `fn${i}`);
    // One sample whose stack is a single location holding all 40 functions as lines, innermost first.
    const inlined = (lineOf: (k: number) => number) => {
      const p = buildProfile({ sampleTypes: [['cpu', 'nanoseconds']], samples: [{ stack: names, values: [1] }] });
      p.locationId = Float64Array.of(1);
      p.locationMapping = Int32Array.of(-1);
      p.locationAddress = Float64Array.of(0x1000);
      p.locationIsFolded = Uint8Array.of(0);
      p.locationLineStart = Uint32Array.of(0, 40);
      p.lineFunction = Uint32Array.from(names.keys());
      p.lineNumber = Float64Array.from(names.keys(), lineOf);
      p.lineColumn = new Float64Array(40);
      p.sampleLocationStart = Uint32Array.of(0, 1);
      p.sampleLocations = Uint32Array.of(0);
      return p;
    };
    const head = new DatasetHead('t', 's');
    const meta = { profileId: new Uint8Array(16), timeNanos: 1n };
    for (const p of [inlined((k) => 100 + k), inlined((k) => 100 + k), inlined((k) => (k === 39 ? 7 : 100 + k))]) head.append(p, planSeries(p, base), meta);
    const s = head.content().symbols;
    expect(s.locationLineEnd).toEqual([40, 80]);
    const fnNames = s.lineFunction.map((f) => s.strings[s.functionName[f]!]);
    expect(fnNames).toEqual([...names, ...names]);
    expect(s.lineNumber.slice(0, 40)).toEqual(names.map((_, k) => 100 + k));
    expect(s.lineNumber[79]).toBe(7);
    expect(s.stacktraceEnd).toHaveLength(2);
  });
});

describe('planSeries with a repeated string in the string table', () => {
  it('puts samples whose label values are equal strings at different indexes in one group', () => {
    const p = buildProfile({
      sampleTypes: [['cpu', 'nanoseconds']],
      samples: [
        { stack: ['f'], values: [1], labels: { endpoint: '/a' } },
        { stack: ['g'], values: [2], labels: { endpoint: '/a' } },
      ],
    });
    // Make the second sample's value point at a second copy of "/a".
    p.strings.push('/a');
    p.labelStr[1] = p.strings.length - 1;
    const plan = planSeries(p, base);
    expect(plan.groups.map((g) => [...g])).toEqual([[0, 1]]);
  });
});

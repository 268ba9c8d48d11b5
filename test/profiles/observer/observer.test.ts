// The observer through the real hook interface, on hand-built rows: rule
// matching, values, labels, resets between tenants and datasets, the series
// cap and the encoded result.

import { fromBinary } from '@bufbuild/protobuf';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';
import { ObserverResultSchema } from '../../../src/gen/metrics/v1/recorded_pb.js';
import { instanceLabelValue } from '../../../src/profiles/observer/instance-label.js';
import { ObserverMetrics } from '../../../src/profiles/observer/metrics.js';
import { RecordingObserver, type RecordingObserverOptions } from '../../../src/profiles/observer/observer.js';
import type { CompiledRule } from '../../../src/profiles/rules/compiled.js';
import { ALLOC, CPU, decode, drive, FakeSymbols, rule, samples, type TenantInit } from './helpers.js';

const STAMP = { shard: 7, timestampMs: 1_763_700_000_123, createdBy: 'segment-writer-1' };

function observer(rules: Record<string, CompiledRule[]>, opts: Partial<RecordingObserverOptions> = {}): RecordingObserver {
  return new RecordingObserver({ rules: new Map(Object.entries(rules)), stamp: STAMP, instanceLabelName: 'pyroscope_instance', maxSeriesPerRule: 10_000, ...opts });
}

/** A logger that records warnings. */
function warnings(): { logger: Logger; warned: Array<Record<string, unknown>> } {
  const warned: Array<Record<string, unknown>> = [];
  const logger = { warn: (obj: Record<string, unknown>) => void warned.push(obj) } as unknown as Logger;
  return { logger, warned };
}

// The seed example of the issue: CPU of the batch_compress workers by region.
const cpuUsageCompressWorkers = rule({
  id: 'cpuUsageCompressWorkers',
  metricName: 'profiles_recorded_cpu_usage_compress_workers',
  matchers: [`{service_name="worker", job="batch_compress", __profile_type__="${CPU}"}`],
  groupBy: ['region'],
});

const seedTenant = (tenant: string): TenantInit => ({
  tenant,
  datasets: [
    {
      name: 'api',
      series: [{ labels: { __profile_type__: CPU, job: 'batch_compress', region: 'eu' }, rows: [{ total: 1000 }] }],
    },
    {
      name: 'worker',
      series: [
        { labels: { __profile_type__: ALLOC, job: 'batch_compress', region: 'eu' }, rows: [{ total: 5000 }, { total: 7000 }] },
        { labels: { __profile_type__: CPU, job: 'batch_compress', pod: 'a', region: 'ap' }, rows: [{ total: 10 }, { total: 20 }] },
        { labels: { __profile_type__: CPU, job: 'batch_compress', pod: 'a', region: 'eu' }, rows: [{ total: 70 }] },
        { labels: { __profile_type__: CPU, job: 'batch_compress', pod: 'b', region: 'eu' }, rows: [{ total: 20 }, { total: 30 }] },
        { labels: { __profile_type__: CPU, job: 'batch_compress', pod: 'c', region: 'us' }, rows: [{ total: 40 }] },
        { labels: { __profile_type__: CPU, job: 'batch_other', pod: 'd', region: 'us' }, rows: [{ total: 999 }] },
      ],
    },
  ],
});

describe('RecordingObserver', () => {
  it('records the seed example: CPU of service worker, job batch_compress, by region', () => {
    const result = decode(drive(observer({ acme: [cpuUsageCompressWorkers] }), [seedTenant('acme')]));
    const instance = instanceLabelValue(STAMP.shard, STAMP.createdBy);
    expect(result.timestampMs).toBe(BigInt(STAMP.timestampMs));
    expect(result.shard).toBe(7);
    expect(result.tenants).toHaveLength(1);
    const t = result.tenants[0]!;
    expect(t.tenant).toBe('acme');
    expect(t.droppedSeries).toEqual({});
    // Sorted by labels; every label set sorted by name.
    expect(t.series.map((s) => [Object.fromEntries(s.labels.map((l) => [l.name, l.value])), s.value])).toEqual(
      ['ap', 'eu', 'us'].map((region, i) => [
        { __name__: 'profiles_recorded_cpu_usage_compress_workers', profiles_rule_id: 'cpuUsageCompressWorkers', pyroscope_instance: instance, region },
        [30, 120, 40][i],
      ]),
    );
    for (const s of t.series) expect(s.labels.map((l) => l.name)).toEqual(['__name__', 'profiles_rule_id', 'pyroscope_instance', 'region']);
  });

  it('skips tenants without rules, datasets whose service_name no rule accepts, and series no rule matches', () => {
    const o = observer({ acme: [cpuUsageCompressWorkers], globex: [] });
    expect(o.beginTenant('globex')).toBe(false);
    expect(o.beginTenant('acme')).toBe(true);
    expect(o.beginDataset('api')).toBe(false); // service_name="worker" rules out the api dataset
    expect(o.beginDataset('worker')).toBe(true);
    expect(o.beginSeries([['__profile_type__', ALLOC], ['job', 'batch_compress'], ['service_name', 'worker']])).toBe(false);
    expect(o.beginSeries([['__profile_type__', CPU], ['job', 'batch_compress'], ['service_name', 'worker']])).toBe(true);
  });

  it('prefilters by every service_name matcher kind; rules without one apply to every dataset', () => {
    const rules = [
      rule({ id: 'eq', matchers: [`{__profile_type__="${CPU}", service_name="a"}`] }),
      rule({ id: 'neq', matchers: [`{__profile_type__="${CPU}", service_name!="a"}`] }),
      rule({ id: 're', matchers: [`{__profile_type__="${CPU}", service_name=~"b|c"}`] }),
      rule({ id: 'nre', matchers: [`{__profile_type__="${CPU}", service_name!~"c"}`] }),
      rule({ id: 'any', matchers: [`{__profile_type__="${CPU}"}`] }),
    ];
    const datasets = ['a', 'b', 'c'].map((name) => ({ name, series: [{ labels: { __profile_type__: CPU }, rows: [{ total: 1 }] }] }));
    const got = samples(decode(drive(observer({ t: rules }), [{ tenant: 't', datasets }])));
    expect(got).toEqual({ t: { 'profiles_rule_id=any': 3, 'profiles_rule_id=eq': 1, 'profiles_rule_id=neq': 2, 'profiles_rule_id=nre': 2, 'profiles_rule_id=re': 2 } });
  });

  it('treats a missing label as "" when matching', () => {
    const rules = [
      rule({ id: 'noTeam', matchers: [`{__profile_type__="${CPU}", team=""}`] }),
      rule({ id: 'notPayments', matchers: [`{__profile_type__="${CPU}", team!="payments"}`] }),
    ];
    const got = samples(
      decode(drive(observer({ t: rules }), [{ tenant: 't', datasets: [{ name: 's', series: [{ labels: { __profile_type__: CPU }, rows: [{ total: 5 }] }, { labels: { __profile_type__: CPU, team: 'payments' }, rows: [{ total: 7 }] }] }] }])),
    );
    expect(got).toEqual({ t: { 'profiles_rule_id=noTeam': 5, 'profiles_rule_id=notPayments': 5 } });
  });

  it('omits group-by labels the series lacks or has empty, and merges series that differ only in other labels', () => {
    const r = rule({ id: 'byRegionZone', matchers: [`{__profile_type__="${CPU}"}`], groupBy: ['region', 'zone'] });
    const got = samples(
      decode(
        drive(observer({ t: [r] }), [
          {
            tenant: 't',
            datasets: [
              {
                name: 's',
                series: [
                  { labels: { __profile_type__: CPU, pod: '1', region: 'eu' }, rows: [{ total: 1 }] },
                  { labels: { __profile_type__: CPU, pod: '2', region: 'eu' }, rows: [{ total: 2 }] },
                  { labels: { __profile_type__: CPU, pod: '3', region: 'eu', zone: '' }, rows: [{ total: 4 }] },
                  { labels: { __profile_type__: CPU, pod: '4', region: 'eu', zone: 'b' }, rows: [{ total: 8 }] },
                  { labels: { __profile_type__: CPU, pod: '5' }, rows: [{ total: 16 }] },
                ],
              },
            ],
          },
        ]),
      ),
    );
    expect(got).toEqual({ t: { 'profiles_rule_id=byRegionZone': 16, 'profiles_rule_id=byRegionZone,region=eu': 7, 'profiles_rule_id=byRegionZone,region=eu,zone=b': 8 } });
  });

  it('adds external labels and keeps __name__, profiles_rule_id and the instance label from group_by and external labels', () => {
    // Validation refuses a name that is both an external and a group_by label, and group_by of
    // __name__ or profiles_rule_id; the instance label is Kiln's own and always wins.
    const byEnv = rule({ id: 'byEnv', metricName: 'profiles_recorded_by_env', matchers: [`{__profile_type__="${CPU}"}`], groupBy: ['env', 'pyroscope_instance'], externalLabels: { team: 'core' } });
    const ext = rule({ id: 'ext', metricName: 'profiles_recorded_ext', matchers: [`{__profile_type__="${CPU}"}`], externalLabels: { pyroscope_instance: 'mine', __name__: 'ignored', profiles_rule_id: 'ignored', team: 'core' } });
    const result = decode(
      drive(observer({ t: [byEnv, ext] }), [
        {
          tenant: 't',
          datasets: [{ name: 's', series: [{ labels: { __profile_type__: CPU, env: 'prod', pyroscope_instance: 'row' }, rows: [{ total: 3 }] }, { labels: { __profile_type__: CPU }, rows: [{ total: 4 }] }] }],
        },
      ]),
    );
    const instance = instanceLabelValue(STAMP.shard, STAMP.createdBy);
    expect(result.tenants[0]!.series.map((s) => [s.labels.map((l) => `${l.name}=${l.value}`), s.value])).toEqual([
      [['__name__=profiles_recorded_by_env', 'env=prod', 'profiles_rule_id=byEnv', `pyroscope_instance=${instance}`, 'team=core'], 3],
      [['__name__=profiles_recorded_by_env', 'profiles_rule_id=byEnv', `pyroscope_instance=${instance}`, 'team=core'], 4],
      [['__name__=profiles_recorded_ext', 'profiles_rule_id=ext', `pyroscope_instance=${instance}`, 'team=core'], 7],
    ]);
  });

  it('names the instance label by the option; its value is xxhash64(BE uint32 shard ‖ UTF-8 writer id) in hex', async () => {
    const h = await xxhash();
    const createdBy = 'ingest-7.example:4040/ü';
    const id = new TextEncoder().encode(createdBy);
    const bytes = new Uint8Array([0, 0, 0x01, 0x02, ...id]); // shard 258, big-endian
    const want = h.h64Raw(bytes, 0n).toString(16);
    expect(instanceLabelValue(258, createdBy)).toBe(want);
    expect(want).toMatch(/^[0-9a-f]{1,16}$/);
    // Not zero-padded: find a shard whose hash has leading zero nibbles.
    let shard = 0;
    while (h.h64Raw(new Uint8Array([0, 0, shard >> 8, shard & 255, ...id]), 0n) >= 1n << 60n) shard++;
    expect(instanceLabelValue(shard, createdBy).length).toBeLessThan(16);

    const o = new RecordingObserver({
      rules: new Map([['t', [rule({ id: 'all', matchers: [`{__profile_type__="${CPU}"}`] })]]]),
      stamp: { shard: 258, timestampMs: 1, createdBy },
      instanceLabelName: 'kiln_instance',
      maxSeriesPerRule: 10,
    });
    const result = decode(drive(o, [{ tenant: 't', datasets: [{ name: 's', series: [{ labels: { __profile_type__: CPU }, rows: [{ total: 1 }] }] }] }]));
    expect(result.tenants[0]!.series[0]!.labels.find((l) => l.name === 'kiln_instance')?.value).toBe(want);
    expect(result.tenants[0]!.series[0]!.labels.some((l) => l.name === 'pyroscope_instance')).toBe(false);
  });

  it('keeps two tenants with identical label sets apart (Pyroscope lost the second tenant\'s rows)', () => {
    const r = rule({ id: 'all', matchers: [`{__profile_type__="${CPU}"}`], groupBy: ['pod'] });
    const same = { __profile_type__: CPU, pod: 'p' };
    const got = samples(
      decode(
        drive(observer({ a: [r], b: [r] }), [
          { tenant: 'a', datasets: [{ name: 's', series: [{ labels: same, rows: [{ total: 1 }, { total: 2 }] }] }] },
          { tenant: 'b', datasets: [{ name: 's', series: [{ labels: same, rows: [{ total: 10 }] }] }] },
        ]),
      ),
    );
    expect(got).toEqual({ a: { 'pod=p,profiles_rule_id=all': 3 }, b: { 'pod=p,profiles_rule_id=all': 10 } });
  });

  it('uses each tenant\'s own rules', () => {
    const onlyA = rule({ id: 'onlyA', matchers: [`{__profile_type__="${CPU}"}`] });
    const onlyB = rule({ id: 'onlyB', matchers: [`{__profile_type__="${CPU}"}`] });
    const ds = [{ name: 's', series: [{ labels: { __profile_type__: CPU }, rows: [{ total: 1 }] }] }];
    const got = samples(decode(drive(observer({ a: [onlyA], b: [onlyB], c: [] }), [{ tenant: 'a', datasets: ds }, { tenant: 'b', datasets: ds }, { tenant: 'c', datasets: ds }])));
    expect(got).toEqual({ a: { 'profiles_rule_id=onlyA': 1 }, b: { 'profiles_rule_id=onlyB': 1 } });
  });

  it('fails (rather than records nothing) for a tenant whose rules were not fetched', () => {
    expect(() => observer({ a: [] }).beginTenant('b')).toThrow(/tenant "b".*not fetched/);
  });

  describe('function rules', () => {
    const fnRule = (id: string, fn: string, groupBy: string[] = []) => rule({ id, matchers: [`{__profile_type__="${CPU}"}`], functionName: fn, groupBy });

    it('sum the values of stacks with any frame named F, each stack once (recursion), and record 0 for matching series that never hit F', () => {
      const stacks = [
        ['compress', 'loop', 'compress', 'compress', 'main'], // recursion: counted once
        ['read', 'main'],
        ['gzip.compress', 'main'], // not an exact match
        ['inner', 'compress'], // F not the leaf
      ];
      const got = samples(
        decode(
          drive(observer({ t: [fnRule('compress', 'compress', ['pod']), fnRule('main', 'main', ['pod'])] }), [
            {
              tenant: 't',
              datasets: [
                {
                  name: 's',
                  stacks,
                  series: [
                    { labels: { __profile_type__: CPU, pod: 'a' }, rows: [{ samples: [[0, 5], [1, 7], [2, 11], [3, 13]] }, { samples: [[0, 100]] }] },
                    { labels: { __profile_type__: CPU, pod: 'b' }, rows: [{ samples: [[1, 3], [2, 4]] }] },
                    { labels: { __profile_type__: ALLOC, pod: 'c' }, rows: [{ samples: [[0, 1000]] }] },
                  ],
                },
              ],
            },
          ]),
        ),
      );
      expect(got).toEqual({
        t: {
          'pod=a,profiles_rule_id=compress': 5 + 13 + 100,
          'pod=a,profiles_rule_id=main': 5 + 7 + 11 + 100,
          'pod=b,profiles_rule_id=compress': 0,
          'pod=b,profiles_rule_id=main': 7,
        },
      });
    });

    it('resolve each stack once per dataset and share a function name between rules', () => {
      const stacks = [['f', 'main'], ['g', 'main']];
      const o = observer({ t: [fnRule('fa', 'f'), fnRule('fb', 'f'), fnRule('g', 'g')] });
      expect(o.beginTenant('t')).toBe(true);
      expect(o.beginDataset('s')).toBe(true);
      const symbols = new FakeSymbols(stacks);
      const labels = [['__profile_type__', CPU], ['service_name', 's']] as const;
      expect(o.beginSeries(labels)).toBe(true);
      for (let i = 0; i < 50; i++) {
        o.row({ tenant: 't', dataset: 's', labels, timeNanos: BigInt(i), totalValue: 3, stacktraceIds: Uint32Array.of(0, 1), values: Float64Array.of(1, 2), symbols });
      }
      expect([...symbols.resolved.values()]).toEqual([1, 1]);
      expect(samples(decode(o.finish()))).toEqual({ t: { 'profiles_rule_id=fa': 50, 'profiles_rule_id=fb': 50, 'profiles_rule_id=g': 100 } });
    });

    it('handle more than 32 function rules (multi-word bitmaps)', () => {
      const rules = Array.from({ length: 70 }, (_, j) => fnRule(`r${String.fromCharCode(97 + Math.floor(j / 26))}${String.fromCharCode(97 + (j % 26))}`, `fn${j}`));
      const stacks = [['fn0', 'fn33', 'fn69', 'main'], ['fn40', 'fn40'], ['other']];
      const got = samples(decode(drive(observer({ t: rules }), [{ tenant: 't', datasets: [{ name: 's', stacks, series: [{ labels: { __profile_type__: CPU }, rows: [{ samples: [[0, 1], [1, 10], [2, 100]] }] }] }] }])));
      const values = got['t']!;
      expect(Object.keys(values)).toHaveLength(70);
      const id = (j: number) => `profiles_rule_id=${rules[j]!.id}`;
      expect([values[id(0)], values[id(33)], values[id(69)], values[id(40)], values[id(1)]]).toEqual([1, 1, 1, 10, 0]);
    });

    it('reset their stack cache on a dataset switch (stack ids are per dataset)', () => {
      const got = samples(
        decode(
          drive(observer({ t: [fnRule('f', 'f', ['service_name'])] }), [
            {
              tenant: 't',
              datasets: [
                { name: 'a', stacks: [['f', 'main'], ['g']], series: [{ labels: { __profile_type__: CPU }, rows: [{ samples: [[0, 1], [1, 2]] }] }] },
                { name: 'b', stacks: [['g'], ['f']], series: [{ labels: { __profile_type__: CPU }, rows: [{ samples: [[0, 10], [1, 20]] }] }] },
              ],
            },
          ]),
        ),
      );
      expect(got).toEqual({ t: { 'profiles_rule_id=f,service_name=a': 1, 'profiles_rule_id=f,service_name=b': 20 } });
    });
  });

  it('resets the rule prefilter on a dataset switch', () => {
    const onlyA = rule({ id: 'onlyA', matchers: [`{__profile_type__="${CPU}", service_name="a"}`] });
    const got = samples(
      decode(
        drive(observer({ t: [onlyA] }), [
          {
            tenant: 't',
            datasets: [
              { name: 'a', series: [{ labels: { __profile_type__: CPU }, rows: [{ total: 1 }] }] },
              { name: 'b', series: [{ labels: { __profile_type__: CPU }, rows: [{ total: 100 }] }] },
            ],
          },
        ]),
      ),
    );
    expect(got).toEqual({ t: { 'profiles_rule_id=onlyA': 1 } });
  });

  it('caps the series of a rule per job: drops, counts and warns once per rule', async () => {
    const { logger, warned } = warnings();
    const registry = new Registry();
    const metrics = new ObserverMetrics(registry);
    const byPod = rule({ id: 'byPod', matchers: [`{__profile_type__="${CPU}"}`], groupBy: ['pod'] });
    const byZone = rule({ id: 'byZone', matchers: [`{__profile_type__="${CPU}"}`], groupBy: ['zone'] });
    const total = rule({ id: 'total', matchers: [`{__profile_type__="${CPU}"}`] });
    const pods = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ labels: { __profile_type__: CPU, pod: `p${from + i}`, zone: 'z' }, rows: [{ total: 1 }] }));
    const o = observer({ t: [byPod, byZone, total], u: [byPod] }, { maxSeriesPerRule: 2, logger, metrics });
    const result = decode(
      drive(o, [
        // p3 comes back in the second dataset: one dropped series, counted once.
        { tenant: 't', datasets: [{ name: 'a', series: pods(0, 4) }, { name: 'b', series: pods(3, 3) }] },
        { tenant: 'u', datasets: [{ name: 'a', series: pods(0, 3) }] },
      ]),
    );
    const [t, u] = result.tenants;
    expect(samples(result)).toEqual({
      t: { 'pod=p0,profiles_rule_id=byPod': 1, 'pod=p1,profiles_rule_id=byPod': 1, 'profiles_rule_id=byZone,zone=z': 7, 'profiles_rule_id=total': 7 },
      u: { 'pod=p0,profiles_rule_id=byPod': 1, 'pod=p1,profiles_rule_id=byPod': 1 },
    });
    expect(t!.droppedSeries).toEqual({ byPod: 4n }); // p2, p3, p4, p5
    expect(u!.droppedSeries).toEqual({ byPod: 1n });
    expect(warned.map((w) => [w['tenant'], w['rule_id']])).toEqual([['t', 'byPod'], ['u', 'byPod']]);
    const text = await registry.getSingleMetricAsString('kiln_observer_series_dropped_total');
    expect(text).toContain('kiln_observer_series_dropped_total{tenant="t"} 4');
    expect(text).toContain('kiln_observer_series_dropped_total{tenant="u"} 1');
  });

  it('counts rows and recorded series in its metrics', async () => {
    const registry = new Registry();
    drive(observer({ acme: [cpuUsageCompressWorkers] }, { metrics: new ObserverMetrics(registry) }), [seedTenant('acme')]);
    expect(await registry.getSingleMetricAsString('kiln_observer_series_recorded_total')).toContain('{tenant="acme"} 3');
    expect(await registry.getSingleMetricAsString('kiln_observer_rows_total')).toContain('{tenant="acme"} 6');
    expect(await registry.getSingleMetricAsString('kiln_observer_job_observe_seconds')).toContain('kiln_observer_job_observe_seconds_count 1');
  });

  it('returns an encoded result even when nothing was recorded', () => {
    const bytes = drive(observer({ acme: [cpuUsageCompressWorkers] }), [{ tenant: 'acme', datasets: [{ name: 'api', series: [] }] }]);
    const result = fromBinary(ObserverResultSchema, bytes!);
    expect(result.tenants).toEqual([]);
    expect(result.timestampMs).toBe(BigInt(STAMP.timestampMs));
    expect(result.shard).toBe(STAMP.shard);
  });

  it('is deterministic: the same calls give the same bytes', () => {
    const rules = { a: [cpuUsageCompressWorkers, rule({ id: 'byPod', matchers: [`{__profile_type__="${CPU}"}`], groupBy: ['pod', 'region'] })] };
    const run = () => drive(observer(rules), [seedTenant('a')]);
    expect(Buffer.from(run()!).equals(Buffer.from(run()!))).toBe(true);
  });
});

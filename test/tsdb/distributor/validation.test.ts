// Every validation rule of spec/tsdb.md §2.4 with Mimir's messages (err-kiln- ids), passing and
// failing, through the pipeline: the invalid series is skipped, the valid ones are stored, the
// answer is 400 with the first error.
import { describe, expect, it } from 'vitest';
import { normalizeLabels, validateMetadata } from '../../../src/tsdb/distributor/validation.js';
import { testDistributor, testLimits } from './helpers.js';
import type { DecodedRequest, DecodedSeries } from '../../../src/tsdb/distributor/decoded-request.js';

const NOW = 1_700_000_000_000;

function series(labels: [string, string][], samples: [number, number][] = [[NOW, 1]], extra: Partial<DecodedSeries> = {}): DecodedSeries {
  return { labels, timestamps: Float64Array.from(samples.map(([t]) => t)), values: Float64Array.from(samples.map(([, v]) => v)), histograms: 0, exemplars: 0, ...extra };
}

function request(list: DecodedSeries[], metadata: DecodedRequest['metadata'] = []): DecodedRequest {
  let samples = 0;
  for (const s of list) samples += s.timestamps.length;
  return { series: list, metadata, samples, histograms: list.reduce((n, s) => n + s.histograms, 0), exemplars: list.reduce((n, s) => n + s.exemplars, 0) };
}

const GOOD: [string, string][] = [['__name__', 'good'], ['job', 'a']];
const LIMIT_TAIL = (flag: string) => `. To adjust the related per-tenant limit, configure -${flag}, or contact your service administrator.`;

const many = (n: number): [string, string][] => [['__name__', 'm'], ...Array.from({ length: n - 1 }, (_, i) => [`l${String(i).padStart(2, '0')}`, 'v'] as [string, string])];

const cases: { name: string; labels: [string, string][]; samples?: [number, number][]; invalidUtf8Label?: string; message: string; reason: string }[] = [
  { name: 'missing metric name', labels: [['job', 'a']], message: 'received series has no metric name (err-kiln-missing-metric-name)', reason: 'missing_metric_name' },
  { name: 'invalid metric name', labels: [['__name__', 'bad-name']], message: "received a series with invalid metric name: 'bad-name' (err-kiln-metric-name-invalid)", reason: 'metric_name_invalid' },
  {
    name: 'invalid metric name with non-ASCII',
    labels: [['__name__', 'bäd']],
    message: "received a series with invalid metric name: 'bd (non-ascii characters removed)' (err-kiln-metric-name-invalid)",
    reason: 'metric_name_invalid',
  },
  {
    name: 'too many labels',
    labels: many(31),
    message: `received a series whose number of labels exceeds the limit (actual: 31, limit: 30) series: '${'{__name__="m", ' + many(31).slice(1).map(([n, v]) => `${n}="${v}"`).join(', ') + '}'}'`.replace(/series: '(.*)'$/, (_, s: string) => `series: '${Array.from(s).slice(0, 200).join('')}…'`) + ' (err-kiln-max-label-names-per-series)' + LIMIT_TAIL('tsdb.validation.max-label-names-per-series'),
    reason: 'max_label_names_per_series',
  },
  {
    name: 'invalid label name',
    labels: [['__name__', 'm'], ['a.b', 'v']],
    message: `received a series with an invalid label: 'a.b' series: '{__name__="m", a.b="v"}' (err-kiln-label-invalid)`,
    reason: 'label_invalid',
  },
  {
    name: 'label name too long',
    labels: [['__name__', 'm'], ['n'.repeat(1025), 'v']],
    message: `received a series whose label name length exceeds the limit, label: '${'n'.repeat(200)}' series: '${`{__name__="m", ${'n'.repeat(1025)}="v"}`.slice(0, 200)}' (err-kiln-label-name-too-long)${LIMIT_TAIL('tsdb.validation.max-length-label-name')}`,
    reason: 'label_name_too_long',
  },
  {
    name: 'label value not UTF-8',
    labels: [['__name__', 'm'], ['bad', 'x\ufffdy']],
    invalidUtf8Label: 'bad',
    message: "received a series with invalid value in label 'bad': 'xy' metric: 'm' (err-kiln-label-value-invalid)",
    reason: 'label_value_invalid',
  },
  {
    name: 'label value too long',
    labels: [['__name__', 'm'], ['v', 'x'.repeat(2049)]],
    message: `received a series whose label value length exceeds the limit, label: 'v', value: '${'x'.repeat(200)}' (truncated) series: '${`{__name__="m", v="${'x'.repeat(2049)}"}`.slice(0, 200)}' (err-kiln-label-value-too-long)${LIMIT_TAIL('tsdb.validation.max-length-label-value')}`,
    reason: 'label_value_too_long',
  },
  {
    name: 'metric name too long (as a label value)',
    labels: [['__name__', 'm'.repeat(2049)]],
    message: `received a series whose label value length exceeds the limit, label: '__name__', value: '${'m'.repeat(200)}' (truncated) series: '${`{__name__="${'m'.repeat(2049)}"}`.slice(0, 200)}' (err-kiln-label-value-too-long)${LIMIT_TAIL('tsdb.validation.max-length-label-value')}`,
    reason: 'label_value_too_long',
  },
  {
    name: 'duplicate label names',
    labels: [['__name__', 'm'], ['a', '1'], ['a', '2']],
    message: `received a series with duplicate label name, label: 'a' series: '{__name__="m", a="1", a="2"}' (err-kiln-duplicate-label-names)`,
    reason: 'duplicate_label_names',
  },
  {
    name: 'too far in the future',
    labels: [['__name__', 'm']],
    samples: [[NOW + 10 * 60_000 + 1, 1]],
    message: `received a sample whose timestamp is too far in the future, timestamp: ${NOW + 600_001} series: 'm' (err-kiln-too-far-in-future)${LIMIT_TAIL('tsdb.validation.create-grace-period')}`,
    reason: 'too_far_in_future',
  },
];

describe('validation (spec §2.4)', () => {
  it.each(cases)('$name: 400 with the message, the valid series still stored', async (c) => {
    const { distributor, storage, registry } = testDistributor({ now: () => NOW });
    const res = await distributor.push('t', request([series(GOOD), series(c.labels, c.samples, c.invalidUtf8Label ? { invalidUtf8Label: c.invalidUtf8Label } : {})]));
    expect(res.status).toBe(400);
    expect(res.message).toBe(c.message);
    expect(res.samplesWritten).toBe(1);
    expect(Object.keys(storage.dump('t'))).toEqual(['{"__name__":"good","job":"a"}']);
    const metrics = await registry.getSingleMetricAsString('kiln_tsdb_discarded_samples_total');
    expect(metrics).toContain(`kiln_tsdb_discarded_samples_total{reason="${c.reason}",tenant="t"} 1`);
  });

  it('passes the limits exactly at their values', async () => {
    const { distributor, storage } = testDistributor({ now: () => NOW });
    const res = await distributor.push(
      't',
      request([
        series(many(30)),
        series([['__name__', 'm'.repeat(2048)]]),
        series([['__name__', 'n'], ['l'.repeat(1024), 'v'.repeat(2048)]]),
        series([['__name__', 'x_info'], ...many(80).slice(1)]),
        series([['__name__', 'f']], [[NOW + 10 * 60_000, 1]]),
        series([['__name__', 'colons:ok_1']]),
      ]),
    );
    expect(res).toMatchObject({ status: 200, samplesWritten: 6 });
    expect(Object.keys(storage.dump('t'))).toHaveLength(6);
  });

  it('allows 80 labels on *_info series but not 81', async () => {
    const { distributor } = testDistributor({ now: () => NOW });
    const res = await distributor.push('t', request([series([['__name__', 'x_info'], ...many(81).slice(1)])]));
    expect(res.status).toBe(400);
    expect(res.message).toMatch(/^received an info series whose number of labels exceeds the limit \(actual: 81, limit: 80\)/);
    expect(res.message).toContain('(err-kiln-max-label-names-per-info-series)');
  });

  it('too far in the past only when -tsdb.validation.past-grace-period is set', async () => {
    const old: [number, number][] = [[NOW - 3_600_000, 1]];
    expect((await testDistributor({ now: () => NOW }).distributor.push('t', request([series(GOOD, old)]))).status).toBe(200);
    const res = await testDistributor({ now: () => NOW, limits: { pastGracePeriodMs: 60_000 } }).distributor.push('t', request([series(GOOD, old)]));
    expect(res.status).toBe(400);
    expect(res.message).toBe(`received a sample whose timestamp is too far in the past, timestamp: ${NOW - 3_600_000} series: 'good' (err-kiln-too-far-in-past)${LIMIT_TAIL('tsdb.validation.past-grace-period')}`);
  });

  it('removes empty-valued labels and sorts, so unsorted input with empty values is stored normalised', async () => {
    expect(normalizeLabels([['z', '1'], ['__name__', 'm'], ['e', ''], ['a', '2']])).toEqual([['__name__', 'm'], ['a', '2'], ['z', '1']]);
    const { distributor, storage } = testDistributor({ now: () => NOW });
    expect((await distributor.push('t', request([series([['job', 'x'], ['empty', ''], ['__name__', 'm']])]))).status).toBe(200);
    expect(Object.keys(storage.dump('t'))).toEqual(['{"__name__":"m","job":"x"}']);
  });

  it('drops a series whose labels are all empty, silently', async () => {
    const { distributor, storage } = testDistributor({ now: () => NOW });
    expect((await distributor.push('t', request([series([['a', '']]), series(GOOD)]))).status).toBe(200);
    expect(Object.keys(storage.dump('t'))).toHaveLength(1);
  });

  it('keeps the first of repeated timestamps within one request and drops the rest silently', async () => {
    const { distributor, storage, registry } = testDistributor({ now: () => NOW });
    const res = await distributor.push('t', request([series(GOOD, [[NOW - 2, 1], [NOW - 2, 2], [NOW - 1, 3]])]));
    expect(res).toMatchObject({ status: 200, samplesWritten: 2 });
    expect(storage.dump('t')['{"__name__":"good","job":"a"}']!.map(([t]) => t)).toEqual([NOW - 2, NOW - 1]);
    expect(await registry.getSingleMetricAsString('kiln_tsdb_discarded_samples_total')).toContain('reason="sample_duplicate_timestamp",tenant="t"} 1');
  });

  it('metadata: missing name and too-long name/unit are refused, long HELP cut', () => {
    const limits = testLimits();
    expect(validateMetadata({ metricFamilyName: '', type: 'counter', help: '', unit: '' }, limits)?.message).toBe('received a metric metadata with no metric name (err-kiln-metadata-missing-metric-name)');
    expect(validateMetadata({ metricFamilyName: 'm'.repeat(1025), type: 'counter', help: '', unit: '' }, limits)?.message).toBe(
      `received a metric metadata whose metric name length exceeds the limit, metric name: '${'m'.repeat(200)}' (err-kiln-metric-name-too-long)${LIMIT_TAIL('tsdb.validation.max-metadata-length')}`,
    );
    expect(validateMetadata({ metricFamilyName: 'm', type: 'counter', help: '', unit: 'u'.repeat(1025) }, limits)?.id).toBe('unit-too-long');
    const md = { metricFamilyName: 'm', type: 'counter' as const, help: 'h'.repeat(5000), unit: '' };
    expect(validateMetadata(md, limits)).toBeUndefined();
    expect(md.help).toHaveLength(1024);
  });
});

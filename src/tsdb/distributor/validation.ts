// Mimir's per-series checks (spec/tsdb.md §2.3 step 5–6, §2.4), in Mimir's order, with Mimir's
// messages (errors.ts). A failed check rejects one series, never the request: the pipeline
// stores the valid series and answers 400 with the first failure.

import type { MetricMetadata } from './decoded-request.js';
import { truncate, formatLabels, withId, withLimit } from './errors.js';
import { LIMIT_FLAGS, type TenantLimits } from './limits.js';

export interface Invalid {
  /** Mimir's error id without the prefix, e.g. "label-invalid". */
  id: string;
  message: string;
}

type MutableLabels = [string, string][];

const byName = (a: readonly [string, string], b: readonly [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/**
 * Drops labels with an empty value (the 1.0 spec forbids them; Mimir removes them) and sorts by
 * name, so unsorted input is fine. Returns the same array when nothing had to change (the
 * common case: Prometheus sends sorted, non-empty labels).
 */
export function normalizeLabels(labels: MutableLabels): MutableLabels {
  let needsWork = false;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]![1] === '' || (i > 0 && labels[i - 1]![0] > labels[i]![0])) {
      needsWork = true;
      break;
    }
  }
  if (!needsWork) return labels;
  // Array.prototype.sort is stable, so duplicate names keep their order for the duplicate check.
  return labels.filter((l) => l[1] !== '').sort(byName);
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// Label names repeat across series (job, instance, le…): remember the valid ones. Bounded so
// a stream of distinct names cannot grow it.
const validNames = new Set<string>();
function isValidLabelName(name: string): boolean {
  if (validNames.has(name)) return true;
  if (!LABEL_NAME.test(name)) return false;
  if (validNames.size >= 10_000) validNames.clear();
  validNames.add(name);
  return true;
}

/** UTF-8 byte length, computed only when the UTF-16 length leaves it in doubt. */
function exceeds(s: string, limit: number): boolean {
  if (s.length > limit) return true;
  if (s.length * 3 <= limit) return false;
  return Buffer.byteLength(s, 'utf8') > limit;
}

/** Keeps the ASCII characters of an invalid metric name, as Mimir does before quoting it. */
function asciiOnly(s: string): string {
  // eslint-disable-next-line no-control-regex
  const out = s.replace(/[^\x00-\x7f]/g, '');
  return out === s ? s : `${out} (non-ascii characters removed)`;
}

export function metricName(labels: readonly (readonly [string, string])[]): string | undefined {
  for (const [n, v] of labels) if (n === '__name__') return v;
  return undefined;
}

/**
 * Checks a normalised label set. `invalidUtf8Label` names a label whose value the decoder
 * found not to be UTF-8 (its value then holds U+FFFD replacements).
 */
export function validateLabels(labels: readonly (readonly [string, string])[], limits: TenantLimits, invalidUtf8Label?: string): Invalid | undefined {
  const name = metricName(labels);
  if (name === undefined) return { id: 'missing-metric-name', message: withId('received series has no metric name', 'missing-metric-name') };
  if (!METRIC_NAME.test(name)) {
    return { id: 'metric-name-invalid', message: withId(`received a series with invalid metric name: '${truncate(asciiOnly(name))}'`, 'metric-name-invalid') };
  }
  if (labels.length > limits.maxLabelNamesPerSeries) {
    const info = name.endsWith('_info');
    if (!info || labels.length > limits.maxLabelNamesPerInfoSeries) {
      const limit = info ? limits.maxLabelNamesPerInfoSeries : limits.maxLabelNamesPerSeries;
      const id = info ? 'max-label-names-per-info-series' : 'max-label-names-per-series';
      const text = formatLabels(labels);
      const ellipsis = Array.from(text).length > 200 ? '\u2026' : '';
      const what = info ? 'received an info series' : 'received a series';
      return {
        id,
        message: withLimit(`${what} whose number of labels exceeds the limit (actual: ${labels.length}, limit: ${limit}) series: '${truncate(text)}${ellipsis}'`, id, info ? LIMIT_FLAGS.maxLabelNamesPerInfoSeries : LIMIT_FLAGS.maxLabelNamesPerSeries),
      };
    }
  }
  let last = '';
  for (const [n, v] of labels) {
    if (!isValidLabelName(n)) {
      return { id: 'label-invalid', message: withId(`received a series with an invalid label: '${truncate(n)}' series: '${truncate(formatLabels(labels))}'`, 'label-invalid') };
    }
    if (exceeds(n, limits.maxLengthLabelName)) {
      return {
        id: 'label-name-too-long',
        message: withLimit(`received a series whose label name length exceeds the limit, label: '${truncate(n)}' series: '${truncate(formatLabels(labels))}'`, 'label-name-too-long', LIMIT_FLAGS.maxLengthLabelName),
      };
    }
    if (n === invalidUtf8Label) {
      return {
        id: 'label-value-invalid',
        message: withId(`received a series with invalid value in label '${truncate(n)}': '${truncate(v.replaceAll('\ufffd', ''))}' metric: '${truncate(name)}'`, 'label-value-invalid'),
      };
    }
    if (exceeds(v, limits.maxLengthLabelValue)) {
      return {
        id: 'label-value-too-long',
        message: withLimit(
          `received a series whose label value length exceeds the limit, label: '${n}', value: '${truncate(v)}' (truncated) series: '${truncate(formatLabels(labels))}'`,
          'label-value-too-long',
          LIMIT_FLAGS.maxLengthLabelValue,
        ),
      };
    }
    if (n === last) {
      return { id: 'duplicate-label-names', message: withId(`received a series with duplicate label name, label: '${truncate(n)}' series: '${truncate(formatLabels(labels))}'`, 'duplicate-label-names') };
    }
    last = n;
  }
  return undefined;
}

/** Too far in the future (creation grace period) or, when enabled, too far in the past. */
export function validateSampleTime(timestampMs: number, nowMs: number, limits: TenantLimits, name: string): Invalid | undefined {
  if (timestampMs > nowMs + limits.createGracePeriodMs) {
    return {
      id: 'too-far-in-future',
      message: withLimit(`received a sample whose timestamp is too far in the future, timestamp: ${timestampMs} series: '${truncate(name)}'`, 'too-far-in-future', LIMIT_FLAGS.createGracePeriod),
    };
  }
  if (limits.pastGracePeriodMs > 0 && timestampMs < nowMs - limits.pastGracePeriodMs - limits.outOfOrderWindowMs) {
    return {
      id: 'too-far-in-past',
      message: withLimit(`received a sample whose timestamp is too far in the past, timestamp: ${timestampMs} series: '${truncate(name)}'`, 'too-far-in-past', LIMIT_FLAGS.pastGracePeriod),
    };
  }
  return undefined;
}

/** Metadata checks; a HELP longer than the limit is cut (at a character boundary), not refused. */
export function validateMetadata(md: MetricMetadata, limits: TenantLimits): Invalid | undefined {
  if (md.metricFamilyName === '') return { id: 'metadata-missing-metric-name', message: withId('received a metric metadata with no metric name', 'metadata-missing-metric-name') };
  if (exceeds(md.help, limits.maxMetadataLength)) {
    let cut = Buffer.from(md.help, 'utf8').subarray(0, limits.maxMetadataLength).toString('utf8');
    if (cut.endsWith('\ufffd')) cut = cut.slice(0, -1);
    md.help = cut;
  }
  if (exceeds(md.metricFamilyName, limits.maxMetadataLength)) {
    return {
      id: 'metric-name-too-long',
      message: withLimit(`received a metric metadata whose metric name length exceeds the limit, metric name: '${truncate(md.metricFamilyName)}'`, 'metric-name-too-long', LIMIT_FLAGS.maxMetadataLength),
    };
  }
  if (exceeds(md.unit, limits.maxMetadataLength)) {
    return {
      id: 'unit-too-long',
      message: withLimit(`received a metric metadata whose unit name length exceeds the limit, unit: '${truncate(md.unit)}' metric name: '${truncate(md.metricFamilyName)}'`, 'unit-too-long', LIMIT_FLAGS.maxMetadataLength),
    };
  }
  return undefined;
}

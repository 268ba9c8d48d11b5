// Series labels as the distributor accepts them: sanitised, defaulted, sorted
// and validated against the per-series limits, with Pyroscope's messages plus
// Mimir-style error ids (`err-kiln-…`) and the flag that adjusts the limit.

import { IngestError } from './errors.js';

export type LabelList = [name: string, value: string][];

export const SERVICE_NAME = 'service_name';
export const METRIC_NAME = '__name__';
export const UNKNOWN_SERVICE = 'unknown_service';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export interface LabelLimits {
  maxLabelNamesPerSeries: number;
  maxLengthLabelName: number;
  maxLengthLabelValue: number;
}

/** `{a="b", c="d"}`, the way Pyroscope prints label sets in errors. */
export function labelsString(labels: readonly (readonly [string, string])[]): string {
  return `{${labels.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(', ')}}`;
}

/** A 400 whose message ends with the error id and, for limits, the flag to change. */
export function validationError(message: string, id: string, reason: string, flag?: string): IngestError {
  const hint = flag ? `. To adjust the related limit, configure -${flag}, or contact your service administrator.` : '';
  return new IngestError(400, `${message} (err-kiln-${id})${hint}`, reason);
}

/**
 * Normalises client labels: drops empty values, turns dots in names into
 * underscores (OpenTelemetry-style names such as `otel.scope.name` are common),
 * adds service_name when missing, sorts, and validates.
 */
export function normaliseLabels(input: readonly (readonly [string, string])[], limits: LabelLimits): LabelList {
  const labels: LabelList = [];
  for (const [name, value] of input) {
    if (value === '') continue;
    labels.push([name.replaceAll('.', '_'), value]);
  }
  if (!labels.some(([n]) => n === SERVICE_NAME)) labels.push([SERVICE_NAME, UNKNOWN_SERVICE]);
  labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

  const shown = () => labelsString(labels);
  if (labels.length > limits.maxLabelNamesPerSeries) {
    throw validationError(
      `profile series '${shown()}' has ${labels.length} label names; limit ${limits.maxLabelNamesPerSeries}`,
      'max-label-names-per-series', 'max_label_names_per_series', 'validation.max-label-names-per-series');
  }
  let last = '';
  for (const [name, value] of labels) {
    if (name.length > limits.maxLengthLabelName) {
      throw validationError(`profile with labels '${shown()}' has label name too long: '${name}'`,
        'label-name-too-long', 'label_name_too_long', 'validation.max-length-label-name');
    }
    if (value.length > limits.maxLengthLabelValue) {
      throw validationError(`profile with labels '${shown()}' has label value too long: '${value}'`,
        'label-value-too-long', 'label_value_too_long', 'validation.max-length-label-value');
    }
    if (!LABEL_NAME.test(name)) {
      throw validationError(`invalid labels '${shown()}' with error: invalid label name '${name}'`, 'label-invalid', 'invalid_labels');
    }
    if (name === last) {
      throw validationError(`profile with labels '${shown()}' has duplicate label name: '${name}'`, 'duplicate-label-names', 'duplicate_label_names');
    }
    if (name === METRIC_NAME && !METRIC_NAME_RE.test(value)) {
      throw validationError(`invalid labels '${shown()}' with error: invalid metric name`, 'metric-name-invalid', 'invalid_labels');
    }
    last = name;
  }
  return labels;
}

export function getLabel(labels: readonly (readonly [string, string])[], name: string): string | undefined {
  for (const [n, v] of labels) if (n === name) return v;
  return undefined;
}

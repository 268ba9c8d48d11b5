// Label-set helpers for the engine: identity keys, Prometheus ordering and printing, and the label
// edits operators make (keep/drop for `by`/`without`/`on`/`ignoring`, name removal). Label sets are
// sorted arrays of [name, value] pairs (storage.ts); every helper keeps them sorted.

import type { Labels } from '../storage.js';

export const METRIC_NAME = '__name__';

/** Labels that describe the metric itself and go away with the name (Prometheus' schema.IsMetadataLabel). */
export function isMetadataLabel(name: string): boolean {
  return name === METRIC_NAME || name === '__type__' || name === '__unit__';
}

// Separators that cannot occur in valid UTF-8 label names/values, so keys are unambiguous.
const NAME_VALUE_SEP = '\u0000';
const PAIR_SEP = '\u0001';

/** A string identifying the label set (equal sets ⇔ equal keys). */
export function labelsKey(labels: Labels): string {
  let key = '';
  for (let i = 0; i < labels.length; i++) {
    const pair = labels[i]!;
    key += pair[0] + NAME_VALUE_SEP + pair[1] + PAIR_SEP;
  }
  return key;
}


export function getLabel(labels: Labels, name: string): string {
  for (const [n, v] of labels) if (n === name) return v;
  return '';
}

/** Only the named labels (`by`, `on`). */
export function keepLabels(labels: Labels, names: ReadonlySet<string>): Labels {
  return labels.filter(([n]) => names.has(n));
}

/** All but the named labels (`ignoring`). */
export function dropLabels(labels: Labels, names: ReadonlySet<string>): Labels {
  return labels.filter(([n]) => !names.has(n));
}

/** Without `__name__` (and the other metadata labels), as Prometheus' DropReserved(IsMetadataLabel). */
export function dropMetricName(labels: Labels): Labels {
  for (const [n] of labels) if (isMetadataLabel(n)) return labels.filter(([m]) => !isMetadataLabel(m));
  return labels;
}

/** Sets a label (an empty value removes it), keeping the set sorted. */
export function setLabel(labels: Labels, name: string, value: string): Labels {
  const out: Array<readonly [string, string]> = [];
  let placed = value === '';
  for (const pair of labels) {
    if (pair[0] === name) continue;
    if (!placed && pair[0] > name) {
      out.push([name, value]);
      placed = true;
    }
    out.push(pair);
  }
  if (!placed) out.push([name, value]);
  return out;
}

const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Prometheus' Labels.String(): `{__name__="up", job="x"}` (names quoted only when not legacy-valid). */
export function formatLabels(labels: Labels): string {
  const parts = labels.map(([n, v]) => `${LEGACY_LABEL_NAME.test(n) ? n : JSON.stringify(n)}=${JSON.stringify(v)}`);
  return `{${parts.join(', ')}}`;
}

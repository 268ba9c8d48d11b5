// Label-set helpers for the functions that build or rewrite series labels.

import type { Labels } from '../../storage.js';

/** `labels` with `name` set to `value` (removed when `value` is empty), kept sorted by name. */
export function withLabel(labels: Labels, name: string, value: string): Labels {
  const out: Array<readonly [string, string]> = [];
  let placed = value === '';
  for (const pair of labels) {
    const n = pair[0];
    if (n === name) continue;
    if (!placed && n > name) {
      out.push([name, value]);
      placed = true;
    }
    out.push(pair);
  }
  if (!placed) out.push([name, value]);
  return out;
}

/** `labels` without the named labels. */
export function withoutLabels(labels: Labels, names: readonly string[]): Labels {
  return labels.filter((pair) => !names.includes(pair[0]));
}

export function labelValue(labels: Labels, name: string): string {
  for (const pair of labels) if (pair[0] === name) return pair[1];
  return '';
}

/** Prometheus' labels.Compare: pairwise by name then value; a prefix sorts first. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const [an, av] = a[i]!;
    const [bn, bv] = b[i]!;
    if (an !== bn) return an < bn ? -1 : 1;
    if (av !== bv) return av < bv ? -1 : 1;
  }
  return a.length - b.length;
}

/** A string identifying a label set (names and values cannot contain \xff, which ends each). */
export function labelsKey(labels: Labels): string {
  let key = '';
  for (const [n, v] of labels) key += n + '\xff' + v + '\xff';
  return key;
}

/**
 * Whether `name` is a valid label name under Prometheus 3.x's UTF-8 name validation: non-empty
 * valid UTF-8. A JavaScript string can only hold invalid UTF-8 as lone surrogates or as the
 * replacement character U+FFFD a decoder put in place of invalid bytes, so both count as invalid.
 */
export function isValidLabelName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0xfffd) return false;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = name.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

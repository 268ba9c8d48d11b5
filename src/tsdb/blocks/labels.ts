// Label-set helpers shared by the block writer, reader, compactor and the merged querier.
import type { Labels } from '../storage.js';
import { compareUtf8 } from './bytes.js';

/**
 * Orders label sets as Prometheus does: label by label (name, then value, by UTF-8 bytes), a
 * set that is a prefix of another first. Blocks store series in this order and every querier
 * returns it, so merges are linear.
 */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const [an, av] = a[i]!;
    const [bn, bv] = b[i]!;
    if (an !== bn) return compareUtf8(an, bn);
    if (av !== bv) return compareUtf8(av, bv);
  }
  return a.length - b.length;
}

/** A string that is equal for equal label sets (names and values cannot contain \xff in UTF-8 text). */
export function labelsKey(labels: Labels): string {
  let k = '';
  for (const [n, v] of labels) k += `${n}\xff${v}\xff`;
  return k;
}

export function formatLabels(labels: Labels): string {
  return `{${labels.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(', ')}}`;
}

// Label-set helpers of the block code. The order of label sets (and of strings, by UTF-8 bytes)
// is the head's (head/labels.ts), so blocks and head sort series identically.
import type { Labels } from '../storage.js';

export { compareLabels, compareStrings } from '../head/labels.js';

/** A string that is equal for equal label sets (names and values cannot contain \xff in UTF-8 text). */
export function labelsKey(labels: Labels): string {
  let k = '';
  for (const [n, v] of labels) k += `${n}\xff${v}\xff`;
  return k;
}

export function formatLabels(labels: Labels): string {
  return `{${labels.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(', ')}}`;
}

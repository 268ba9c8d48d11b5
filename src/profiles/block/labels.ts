// Ordering of strings and label sets used everywhere in a block (dataset
// order, series order). Code-point order, i.e. the byte order of UTF-8, so it
// matches Go's string comparison; plain `<` on JS strings compares UTF-16 code
// units, which differs for characters above U+FFFF versus U+E000..U+FFFF.

import type { Labels } from './model.js';

/** Compares two strings by Unicode code point (= UTF-8 byte order). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Move surrogates (0xD800..0xDFFF) above 0xE000..0xFFFF: code point order.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  // Equal up to the shorter length and a !== b: the shorter one is a prefix.
  return a.length < b.length ? -1 : 1;
}

/** Lexicographic order of label sets: name then value, pair by pair; a prefix sorts first. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const pa = a[i]!;
    const pb = b[i]!;
    const c = compareStrings(pa[0], pb[0]) || compareStrings(pa[1], pb[1]);
    if (c !== 0) return c;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * Returns the label set sorted by name (a new array when it was not sorted).
 * Throws on a duplicate name, which would make the series ambiguous.
 */
export function sortedLabels(labels: Labels): Labels {
  let sorted = true;
  for (let i = 1; i < labels.length; i++) {
    const c = compareStrings(labels[i - 1]![0], labels[i]![0]);
    if (c === 0) throw new Error(`duplicate label name ${JSON.stringify(labels[i]![0])}`);
    if (c > 0) sorted = false;
  }
  if (sorted) return labels;
  const copy = labels.slice().sort((x, y) => compareStrings(x[0], y[0]));
  for (let i = 1; i < copy.length; i++) {
    if (copy[i - 1]![0] === copy[i]![0]) throw new Error(`duplicate label name ${JSON.stringify(copy[i]![0])}`);
  }
  return copy;
}

// Label-set order and equality as Prometheus defines them (labels.Compare): pairwise by name,
// then value; a prefix sorts first. Strings compare by Unicode code point, which is the byte
// order of their UTF-8 (Go's order); plain JS `<` compares UTF-16 units and would put
// U+E000–U+FFFF after astral characters.

import type { Labels } from '../storage.js';

export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (astral code points) sort above every BMP unit in code point order.
      const xs = x >= 0xd800 && x <= 0xdfff;
      const ys = y >= 0xd800 && y <= 0xdfff;
      if (xs !== ys && (x >= 0xe000 || y >= 0xe000)) return xs ? 1 : -1;
      return x - y;
    }
  }
  return a.length - b.length;
}

export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const [an, av] = a[i]!;
    const [bn, bv] = b[i]!;
    if (an !== bn) return compareStrings(an, bn);
    if (av !== bv) return compareStrings(av, bv);
  }
  return a.length - b.length;
}

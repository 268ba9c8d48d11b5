// sort, sort_desc (by value, NaN last either way) and sort_by_label(_desc) (natural order of the
// given labels' values, ties broken by the whole label set). Ordering matters only for instant
// queries, which have one step: series are ordered by their value at the first step.

import type { StepSeries, StepVector } from '../values.js';
import type { CustomFunction } from './types.js';
import { compareLabels } from '../../head/labels.js';
import { getLabel } from '../label-set.js';

function firstValue(s: StepSeries): number {
  return s.present[0] === 1 ? s.values[0]! : NaN;
}

function byValue(descending: boolean): CustomFunction {
  return {
    kind: 'custom',
    call(args) {
      const input = args[0] as StepVector;
      const keyed = input.map((s) => ({ s, v: firstValue(s) }));
      keyed.sort((a, b) => {
        const aNaN = a.v !== a.v;
        const bNaN = b.v !== b.v;
        if (aNaN || bNaN) return aNaN === bNaN ? 0 : aNaN ? 1 : -1;
        return descending ? b.v - a.v || 0 : a.v - b.v || 0;
      });
      return keyed.map((k) => k.s);
    },
  };
}

/**
 * Natural order as the facette/natsort package Prometheus uses: runs of digits compare by numeric
 * value (leading zeros ignored, longer number is larger), everything else byte by byte.
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (true) {
    if (i >= a.length) return j >= b.length ? 0 : -1;
    if (j >= b.length) return 1;
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      // Skip leading zeros, keeping the last digit of a run of zeros.
      while (a.charCodeAt(i) === 48 && isDigit(a.charCodeAt(i + 1))) i++;
      while (b.charCodeAt(j) === 48 && isDigit(b.charCodeAt(j + 1))) j++;
      let ea = i;
      while (isDigit(a.charCodeAt(ea))) ea++;
      let eb = j;
      while (isDigit(b.charCodeAt(eb))) eb++;
      if (ea - i !== eb - j) return ea - i < eb - j ? -1 : 1;
      const na = a.slice(i, ea);
      const nb = b.slice(j, eb);
      if (na !== nb) return na < nb ? -1 : 1;
      i = ea;
      j = eb;
      continue;
    }
    if (ca !== cb) return ca < cb ? -1 : 1;
    i++;
    j++;
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function byLabels(descending: boolean): CustomFunction {
  return {
    kind: 'custom',
    call(args) {
      const input = args[0] as StepVector;
      const names = args.slice(1) as string[];
      const sign = descending ? -1 : 1;
      return [...input].sort((a, b) => {
        for (const name of names) {
          const va = getLabel(a.labels, name);
          const vb = getLabel(b.labels, name);
          if (va === vb) continue;
          return sign * naturalCompare(va, vb);
        }
        return sign * compareLabels(a.labels, b.labels);
      });
    },
  };
}

export const sort = byValue(false);
export const sortDesc = byValue(true);
export const sortByLabel = byLabels(false);
export const sortByLabelDesc = byLabels(true);

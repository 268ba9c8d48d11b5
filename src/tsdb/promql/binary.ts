// Binary operators over step vectors and scalars (Prometheus' VectorBinop, VectorscalarBinop,
// scalarBinop, VectorAnd/Or/Unless). Matching signatures and result labels are computed once per
// series (or per series pair), never per step; the per-step work is array lookups.

import type { Labels } from '../storage.js';
import type { BinaryOp, VectorMatching } from './ast.js';
import { QueryError } from './errors.js';
import { dropLabels, dropMetricName, formatLabels, getLabel, isMetadataLabel, keepLabels, labelsKey, METRIC_NAME, setLabel } from './label-set.js';
import { StepArrays } from './step-arrays.js';
import type { StepScalar, StepSeries, StepVector } from './values.js';

/** Go's math.Pow where it differs from `**`: Pow(1, y) = 1 and Pow(−1, ±Inf) = 1 (JS gives NaN). */
export function goPow(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

export function isComparison(op: BinaryOp): boolean {
  return op === '==' || op === '!=' || op === '>' || op === '<' || op === '>=' || op === '<=';
}

/** Arithmetic operators change what the value means, so the result loses `__name__` (changesMetricSchema). */
export function changesMetricSchema(op: BinaryOp): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '^' || op === 'atan2';
}

export function arithmetic(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '%':
      return l % r; // Go math.Mod: same sign/NaN/Inf rules as JS %
    case '^':
      return goPow(l, r);
    case 'atan2':
      return Math.atan2(l, r);
    default:
      throw new QueryError('internal', `operator "${op}" is not an arithmetic operator`);
  }
}

export function compare(op: BinaryOp, l: number, r: number): boolean {
  switch (op) {
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '>':
      return l > r;
    case '<':
      return l < r;
    case '>=':
      return l >= r;
    case '<=':
      return l <= r;
    default:
      throw new QueryError('internal', `operator "${op}" is not a comparison operator`);
  }
}

/** scalar op scalar, per step (comparisons give 0/1; the parser requires `bool` there). */
export function scalarBinop(op: BinaryOp, lhs: StepScalar, rhs: StepScalar): StepScalar {
  const out = new Float64Array(lhs.length);
  if (isComparison(op)) for (let i = 0; i < out.length; i++) out[i] = compare(op, lhs[i]!, rhs[i]!) ? 1 : 0;
  else for (let i = 0; i < out.length; i++) out[i] = arithmetic(op, lhs[i]!, rhs[i]!);
  return out;
}

/**
 * vector op scalar (or scalar op vector when `scalarOnLeft`). Comparisons filter and keep the
 * vector's value (whichever side it is on); `bool` turns them into 0/1 and drops the name.
 */
export function vectorScalarBinop(op: BinaryOp, vec: StepVector, scalar: StepScalar, scalarOnLeft: boolean, returnBool: boolean): StepVector {
  const out: StepVector = [];
  const cmp = isComparison(op);
  const arrays = new StepArrays(scalar.length, vec.length);
  for (const s of vec) {
    const steps = s.values.length;
    const values = arrays.values();
    let present = s.present;
    let kept = 0;
    if (cmp && !returnBool) {
      const filtered = arrays.present();
      for (let i = 0; i < steps; i++) {
        if (!s.present[i]) continue;
        const v = s.values[i]!;
        const ok = scalarOnLeft ? compare(op, scalar[i]!, v) : compare(op, v, scalar[i]!);
        if (ok) {
          values[i] = v;
          filtered[i] = 1;
          kept++;
        }
      }
      if (kept === 0) {
        arrays.releaseLast(values, filtered);
        continue;
      }
      present = filtered;
      out.push({ labels: s.labels, values, present, dropName: s.dropName });
      continue;
    }
    for (let i = 0; i < steps; i++) {
      if (!s.present[i]) continue;
      const v = s.values[i]!;
      if (cmp) values[i] = (scalarOnLeft ? compare(op, scalar[i]!, v) : compare(op, v, scalar[i]!)) ? 1 : 0;
      else values[i] = scalarOnLeft ? arithmetic(op, scalar[i]!, v) : arithmetic(op, v, scalar[i]!);
    }
    out.push({ labels: s.labels, values, present, dropName: true });
  }
  return out;
}

/** Join signatures for both sides: ordinal per series, equal ordinals ⇔ the series match. */
function signatures(lhs: StepVector, rhs: StepVector, matching: VectorMatching): { lhsSig: Int32Array; rhsSig: Int32Array; count: number } {
  const names = new Set(matching.labels);
  const byKey = new Map<string, number>();
  const sigOf = (labels: Labels): number => {
    const matched = matching.on ? keepLabels(labels, names) : labels.filter(([n]) => n !== METRIC_NAME && !names.has(n));
    const key = labelsKey(matched);
    let ord = byKey.get(key);
    if (ord === undefined) {
      ord = byKey.size;
      byKey.set(key, ord);
    }
    return ord;
  };
  const lhsSig = Int32Array.from(lhs, (s) => sigOf(s.labels));
  const rhsSig = Int32Array.from(rhs, (s) => sigOf(s.labels));
  return { lhsSig, rhsSig, count: byKey.size };
}

/** sigPresent[sig * steps + i] = 1 when some series of `vec` with that signature has a value at step i. */
function presenceBySignature(vec: StepVector, sig: Int32Array, sigCount: number, steps: number): Uint8Array {
  const out = new Uint8Array(sigCount * steps);
  for (let k = 0; k < vec.length; k++) {
    const base = sig[k]! * steps;
    const p = vec[k]!.present;
    for (let i = 0; i < steps; i++) if (p[i]) out[base + i] = 1;
  }
  return out;
}

/** Keeps the steps where `keep(sigIndex)` says so; series left empty are dropped. */
function filterBySignature(vec: StepVector, sig: Int32Array, sigPresent: Uint8Array, steps: number, wantPresent: 0 | 1, out: StepVector): void {
  for (let k = 0; k < vec.length; k++) {
    const s = vec[k]!;
    const base = sig[k]! * steps;
    let present: Uint8Array | undefined;
    let kept = 0;
    for (let i = 0; i < steps; i++) {
      if (!s.present[i]) continue;
      if (sigPresent[base + i] === wantPresent) kept++;
      else {
        present ??= s.present.slice();
        present[i] = 0;
      }
    }
    if (kept === 0) continue;
    out.push(present ? { labels: s.labels, values: s.values, present, dropName: s.dropName } : s);
  }
}

/** `and`, `or`, `unless` (always many-to-many, matching on the signature only). */
export function setBinop(op: 'and' | 'or' | 'unless', lhs: StepVector, rhs: StepVector, matching: VectorMatching, steps: number): StepVector {
  if (op === 'and' && (lhs.length === 0 || rhs.length === 0)) return [];
  if (op === 'or' && lhs.length === 0) return rhs;
  if ((op === 'or' || op === 'unless') && rhs.length === 0) return lhs;
  if (op === 'unless' && lhs.length === 0) return [];
  const { lhsSig, rhsSig, count } = signatures(lhs, rhs, matching);
  const out: StepVector = [];
  if (op === 'or') {
    out.push(...lhs);
    const lhsPresent = presenceBySignature(lhs, lhsSig, count, steps);
    filterBySignature(rhs, rhsSig, lhsPresent, steps, 0, out);
    return out;
  }
  const rhsPresent = presenceBySignature(rhs, rhsSig, count, steps);
  filterBySignature(lhs, lhsSig, rhsPresent, steps, op === 'and' ? 1 : 0, out);
  return out;
}

/**
 * Arithmetic and comparison between two vectors with one-to-one, many-to-one (group_left) or
 * one-to-many (group_right) matching. Errors as Prometheus: duplicate series on the "one" side,
 * several matches in one-to-one matching, or group_left/right results that collide.
 */
export function vectorBinop(op: BinaryOp, lhs: StepVector, rhs: StepVector, matching: VectorMatching, returnBool: boolean, steps: number): StepVector {
  if (lhs.length === 0 || rhs.length === 0) return [];
  const oneToMany = matching.card === 'one-to-many';
  // Iterate the "many" side; the other side is the "one" side (Prometheus swaps for group_right).
  const many = oneToMany ? rhs : lhs;
  const one = oneToMany ? lhs : rhs;
  const sigs = signatures(lhs, rhs, matching);
  const manySig = oneToMany ? sigs.rhsSig : sigs.lhsSig;
  const oneSig = oneToMany ? sigs.lhsSig : sigs.rhsSig;
  const sigCount = sigs.count;
  const cmp = isComparison(op);
  const dropsName = changesMetricSchema(op);

  // Per signature: which "one" series has a value at the current step (stamp = step + 1).
  const oneStamp = new Int32Array(sigCount);
  const oneIndex = new Int32Array(sigCount);
  const matchedStamp = new Int32Array(sigCount);
  // Per "many" series: the "one" series its cached result labels were built with, and the output index.
  const cachedOne = new Int32Array(many.length).fill(-1);
  const cachedOut = new Int32Array(many.length);
  const outByKey = new Map<string, number>();
  const out: StepSeries[] = [];
  const outSig: number[] = [];
  const matchNames = new Set(matching.labels);
  const arrays = new StepArrays(steps, many.length);

  const resultLabels = (m: StepSeries, o: StepSeries): Labels => {
    let labels = m.labels;
    if (dropsName) labels = dropMetricName(labels);
    if (matching.card === 'one-to-one') {
      labels = matching.on ? keepLabels(labels, matchNames) : dropLabels(labels, matchNames);
    }
    for (const name of matching.include) labels = setLabel(labels, name, getLabel(o.labels, name));
    return labels;
  };

  for (let i = 0; i < steps; i++) {
    const stamp = i + 1;
    for (let j = 0; j < one.length; j++) {
      const o = one[j]!;
      if (!o.present[i]) continue;
      const sig = oneSig[j]!;
      if (oneStamp[sig] === stamp) throw duplicateOnOneSide(o.labels, one[oneIndex[sig]!]!.labels, matching);
      oneStamp[sig] = stamp;
      oneIndex[sig] = j;
    }
    for (let k = 0; k < many.length; k++) {
      const m = many[k]!;
      if (!m.present[i]) continue;
      const sig = manySig[k]!;
      if (oneStamp[sig] !== stamp) continue;
      const j = oneIndex[sig]!;
      const o = one[j]!;
      const l = oneToMany ? o.values[i]! : m.values[i]!;
      const r = oneToMany ? m.values[i]! : o.values[i]!;
      let value: number;
      if (cmp) {
        const keep = compare(op, l, r);
        if (returnBool) value = keep ? 1 : 0;
        else if (!keep) continue;
        else value = l;
      } else value = arithmetic(op, l, r);

      if (matching.card === 'one-to-one') {
        if (matchedStamp[sig] === stamp) {
          throw new QueryError('execution', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        }
        matchedStamp[sig] = stamp;
      }
      let outIndex: number;
      if (cachedOne[k] === j) outIndex = cachedOut[k]!;
      else {
        const labels = resultLabels(m, o);
        const key = labelsKey(labels);
        let idx = outByKey.get(key);
        if (idx === undefined) {
          idx = out.length;
          outByKey.set(key, idx);
          out.push({ labels, values: arrays.values(), present: arrays.present(), dropName: returnBool || (!dropsName && m.dropName === true) });
          outSig.push(sig);
        }
        cachedOne[k] = j;
        cachedOut[k] = idx;
        outIndex = idx;
      }
      const target = out[outIndex]!;
      if (target.present[i]) {
        if (matching.card !== 'one-to-one' && outSig[outIndex] === sig) {
          throw new QueryError('execution', 'multiple matches for labels: grouping labels must ensure unique matches');
        }
        throw new QueryError('execution', 'vector cannot contain metrics with the same labelset');
      }
      target.present[i] = 1;
      target.values[i] = value;
    }
  }
  return out;
}

function duplicateOnOneSide(a: Labels, b: Labels, matching: VectorMatching): QueryError {
  const names = new Set(matching.labels);
  const group = matching.on ? keepLabels(a, names) : a.filter(([n]) => !names.has(n) && !isMetadataLabel(n));
  const side = matching.card === 'one-to-many' ? 'left' : 'right';
  let s1 = formatLabels(a);
  let s2 = formatLabels(b);
  if (s1 > s2) [s1, s2] = [s2, s1];
  return new QueryError(
    'execution',
    `found duplicate series for the match group ${formatLabels(group)} on the ${side} hand-side of the operation: [${s1}, ${s2}]` +
      ';many-to-many matching not allowed: matching labels must be unique on one side',
  );
}

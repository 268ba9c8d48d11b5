// The series one tenant's rules record during a job: one output series per
// distinct label set of a rule, each holding one value (its sample).
//
// Values live in one growable Float64Array indexed by "slot"; the observer
// resolves a rule's slot once per input series (beginSeries), by the series'
// group_by values, and then only adds to values[slot] per row. An output
// label set is built once, when its series is created.
//
// Each rule may create at most `maxSeriesPerRule` series per job. A series
// beyond that is dropped: its rows are not recorded, it is counted, and the
// first drop of a rule in a job is reported through `onFirstDrop` (the caller
// logs it). Memory is bounded by the cap: the count of dropped series is exact
// while fewer than `maxSeriesPerRule` distinct series were dropped (their keys
// are remembered); past that each further dropped input series adds one, so
// the count is an upper bound.

import { create } from '@bufbuild/protobuf';
import { type RecordedSeries, RecordedSeriesSchema, type TenantSamples, TenantSamplesSchema } from '../../gen/metrics/v1/recorded_pb.js';
import { LabelPairSchema } from '../../gen/types/v1/types_pb.js';
import { compareLabels, compareStrings } from '../block/labels.js';
import type { Labels } from '../block/model.js';
import { RULE_ID_LABEL, type CompiledRule } from '../rules/compiled.js';

/** The value of label `name` in a label set sorted by name; "" when missing (as PromQL matching treats it). */
export function labelValue(labels: Labels, name: string): string {
  // Series have a few dozen labels at most: a linear scan beats building a map per series.
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l[0] === name) return l[1];
  }
  return '';
}

/**
 * The output labels of `rule` for an input series, sorted by name:
 * the rule's external labels (with __name__ and profiles_rule_id), then its
 * group_by labels that the series has with a non-empty value (a group_by
 * label overrides an external label of the same name, as in Pyroscope), then
 * the instance label. __name__, profiles_rule_id and the instance label are
 * Kiln's: group_by cannot override them, and the instance label also wins
 * over an external label of its name — it is what keeps the samples of two
 * jobs with one timestamp apart.
 */
/** Labels every recorded series gets from Kiln, which group_by cannot set. */
function isReserved(name: string, instanceLabel: string): boolean {
  return name === '__name__' || name === RULE_ID_LABEL || name === instanceLabel;
}

/**
 * The group_by values of a series as one string, each as `length:value`, so that no two value
 * lists share a key whatever characters they hold. A missing and an empty label both give "0:",
 * as both are omitted from the output.
 */
function groupKey(groupBy: readonly string[], labels: Labels): string {
  let key = '';
  for (let i = 0; i < groupBy.length; i++) {
    const v = labelValue(labels, groupBy[i]!);
    key += `${v.length}:${v}`;
  }
  return key;
}

export function outputLabels(rule: CompiledRule, series: Labels, instance: readonly [string, string]): Labels {
  const out = new Map<string, string>(rule.externalLabels);
  for (const name of rule.groupBy) {
    if (isReserved(name, instance[0])) continue;
    const value = labelValue(series, name);
    if (value !== '') out.set(name, value);
  }
  out.set(instance[0], instance[1]);
  return [...out].sort((a, b) => compareStrings(a[0], b[0]));
}

interface RuleSeries {
  rule: CompiledRule;
  /** The group_by labels that can reach the output (Kiln's own labels left out), in rule order. */
  groupBy: string[];
  /** Key of the group_by values (see groupKey) → slot. */
  slots: Map<string, number>;
  /** The slot of a rule without group_by (one series per job); -1 until made. */
  fixedSlot: number;
  dropped: number;
  /** Keys of dropped series, kept only up to the cap (see the file comment). */
  droppedKeys: Set<string>;
}

export class TenantSeries {
  /** The value of each slot: the sample being summed. Re-read after slot(): it grows. */
  values = new Float64Array(64);
  private readonly labels: Labels[] = [];
  private readonly rules: RuleSeries[];

  constructor(
    readonly tenant: string,
    rules: readonly CompiledRule[],
    private readonly instance: readonly [string, string],
    private readonly maxSeriesPerRule: number,
    /** Called once per rule, on its first dropped series in this job. */
    private readonly onFirstDrop: (rule: CompiledRule) => void,
  ) {
    this.rules = rules.map((rule) => ({
      rule,
      groupBy: rule.groupBy.filter((name) => !isReserved(name, instance[0])),
      slots: new Map(),
      fixedSlot: -1,
      dropped: 0,
      droppedKeys: new Set(),
    }));
  }

  /** Number of series recorded so far. */
  get size(): number {
    return this.labels.length;
  }

  /**
   * The slot of rule `r`'s output series for an input series with `labels`
   * (made, with value 0, if new), or -1 when that series is over the cap.
   */
  slot(r: number, labels: Labels): number {
    const rs = this.rules[r]!;
    if (rs.fixedSlot >= 0) return rs.fixedSlot;
    // A rule's output series differ only in their group_by values, so those are the key; the
    // full label set is built only for a new series.
    const key = groupKey(rs.groupBy, labels);
    const known = rs.slots.get(key);
    if (known !== undefined) return known;
    if (rs.slots.size >= this.maxSeriesPerRule) {
      if (rs.dropped === 0) this.onFirstDrop(rs.rule);
      if (!rs.droppedKeys.has(key)) {
        rs.dropped++;
        if (rs.droppedKeys.size < this.maxSeriesPerRule) rs.droppedKeys.add(key);
      }
      return -1;
    }
    const slot = this.labels.length;
    this.labels.push(outputLabels(rs.rule, labels, this.instance));
    if (slot === this.values.length) {
      const grown = new Float64Array(slot * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[slot] = 0;
    rs.slots.set(key, slot);
    if (rs.groupBy.length === 0) rs.fixedSlot = slot;
    return slot;
  }

  /** Dropped series per rule id (rules without drops left out). */
  dropped(): Map<string, number> {
    const out = new Map<string, number>();
    for (const rs of this.rules) if (rs.dropped > 0) out.set(rs.rule.id, rs.dropped);
    return out;
  }

  /** What this tenant recorded, series sorted by labels; undefined when it recorded no series. */
  result(): TenantSamples | undefined {
    if (this.labels.length === 0) return undefined;
    const order = this.labels.map((_, i) => i).sort((a, b) => compareLabels(this.labels[a]!, this.labels[b]!));
    const series: RecordedSeries[] = order.map((i) =>
      create(RecordedSeriesSchema, {
        labels: this.labels[i]!.map(([name, value]) => create(LabelPairSchema, { name, value })),
        value: this.values[i]!,
      }),
    );
    // Map fields are encoded in insertion order: insert sorted, so the bytes are deterministic.
    const droppedSeries: Record<string, bigint> = {};
    for (const [id, n] of [...this.dropped()].sort((a, b) => compareStrings(a[0], b[0]))) droppedSeries[id] = BigInt(n);
    return create(TenantSamplesSchema, { tenant: this.tenant, series, droppedSeries });
  }
}

// The metrics observer: evaluates each tenant's recording rules against the
// merged profile rows of one level-0 compaction job (DESIGN.md §3,
// docs/metrics-from-profiles.md). It implements the compaction hook
// (compaction/observer.ts), whose calls arrive in merge order:
//
//   beginTenant   the tenant's rules (fetched before the merge) and a fresh
//                 series store; false when the tenant has no rules.
//   beginDataset  keep the rules whose service_name matchers accept the
//                 dataset (= service_name); false when none is left. Function
//                 rules get a fresh stack cache (stack ids are per dataset).
//   beginSeries   match every kept rule against the series labels, once; the
//                 matching rules' output series (slots) are resolved here, so
//                 a matching series records a sample even if it adds 0.
//                 false when no rule matches.
//   row           add the row's total to every matching plain rule, and the
//                 value of each stack that hits a matching function rule.
//   finish        the encoded ObserverResult.
//
// Every begin call replaces the state of its level and below, so nothing of a
// previous tenant, dataset or series can leak into the next one (Pyroscope kept
// the series fingerprint across tenants and dropped rows; spec §1.3).

import { create, toBinary } from '@bufbuild/protobuf';
import type { Logger } from 'pino';
import { ObserverResultSchema, type TenantSamples } from '../../gen/metrics/v1/recorded_pb.js';
import type { Labels } from '../block/model.js';
import type { JobObserver, ObservedRow } from '../compaction/observer.js';
import type { CompiledRule } from '../rules/compiled.js';
import { matchesAll, matcherMatches } from '../rules/selector.js';
import { FunctionHits } from './function-hits.js';
import type { JobStamp } from './instance-label.js';
import { instanceLabelValue } from './instance-label.js';
import type { ObserverMetrics } from './metrics.js';
import { labelValue, TenantSeries } from './series-state.js';

const SERVICE_NAME = 'service_name';

export interface RecordingObserverOptions {
  /** Compiled rules of every tenant of the job (tenants without rules may be absent or empty). */
  rules: ReadonlyMap<string, readonly CompiledRule[]>;
  stamp: JobStamp;
  /** Name of the instance label (-metrics-observer.instance-label-name). */
  instanceLabelName: string;
  /** -metrics-observer.max-series-per-rule. */
  maxSeriesPerRule: number;
  logger?: Logger;
  metrics?: ObserverMetrics;
}

/** The rules of the current dataset, by kind; indexes are into the tenant's rule list. */
interface DatasetRules {
  plain: number[];
  /** Function rules; position j here is bit j of FunctionHits bitmaps. */
  fn: number[];
  hits: FunctionHits | undefined;
}

export class RecordingObserver implements JobObserver {
  private readonly instance: readonly [string, string];
  private readonly done: TenantSamples[] = [];
  private readonly dropped = new Map<string, number>();

  // Tenant level.
  private tenantRules: readonly CompiledRule[] = [];
  private series: TenantSeries | undefined;
  // Dataset level.
  private dataset: DatasetRules = { plain: [], fn: [], hits: undefined };
  // Series level: the slots the current series adds to.
  private plainSlots = new Int32Array(16);
  private plainCount = 0;
  /** Slot of function rule j of the dataset, where bit j of fnMask is set. */
  private fnSlots = new Int32Array(32);
  private fnMask = new Uint32Array(1);
  private fnAny = false;
  private values = new Float64Array(0);

  // Per-job counters, reported in finish().
  private rowsByTenant = new Map<string, number>();
  private rows = 0;
  /** Time inside the begin hooks (rule matching, series set-up); rows are not timed. */
  private ms = 0;

  constructor(private readonly opts: RecordingObserverOptions) {
    this.instance = [opts.instanceLabelName, instanceLabelValue(opts.stamp.shard, opts.stamp.createdBy)];
  }

  beginTenant(tenant: string): boolean {
    const t0 = performance.now();
    this.closeTenant();
    const rules = this.opts.rules.get(tenant);
    if (rules === undefined) {
      // The rules are fetched for the tenants the metastore lists for the job's sources; the
      // merge found another. Recording nothing for it would be silently wrong: fail the job.
      throw new Error(`observer: tenant ${JSON.stringify(tenant)} is in the job's blocks but its recording rules were not fetched`);
    }
    this.tenantRules = rules;
    if (rules.length > 0) {
      this.series = new TenantSeries(tenant, rules, this.instance, this.opts.maxSeriesPerRule, (rule) =>
        this.opts.logger?.warn(
          { tenant, rule_id: rule.id, max_series_per_rule: this.opts.maxSeriesPerRule, shard: this.opts.stamp.shard },
          'recording rule reached its series limit in this compaction job; further series of the rule are dropped (see -metrics-observer.max-series-per-rule)',
        ),
      );
    }
    this.ms += performance.now() - t0;
    return rules.length > 0;
  }

  beginDataset(dataset: string): boolean {
    const t0 = performance.now();
    const plain: number[] = [];
    const fn: number[] = [];
    this.tenantRules.forEach((rule, r) => {
      // A rule whose service_name matchers reject this dataset's name cannot match any of its
      // series: every series of a dataset has service_name = the dataset name.
      for (const m of rule.matchers) if (m.name === SERVICE_NAME && !matcherMatches(m, dataset)) return;
      (rule.functionName === undefined ? plain : fn).push(r);
    });
    const hits = fn.length > 0 ? new FunctionHits(fn.map((r) => this.tenantRules[r]!.functionName!)) : undefined;
    this.dataset = { plain, fn, hits };
    if (this.plainSlots.length < plain.length) this.plainSlots = new Int32Array(plain.length);
    if (this.fnSlots.length < fn.length) this.fnSlots = new Int32Array(fn.length);
    if (hits && this.fnMask.length < hits.words) this.fnMask = new Uint32Array(hits.words);
    this.plainCount = 0;
    this.fnAny = false;
    this.ms += performance.now() - t0;
    return plain.length + fn.length > 0;
  }

  beginSeries(labels: Labels): boolean {
    const t0 = performance.now();
    const series = this.series!;
    const get = (name: string): string => labelValue(labels, name);
    const { plain, fn, hits } = this.dataset;
    let n = 0;
    for (const r of plain) {
      if (!matchesAll(this.tenantRules[r]!.matchers, get)) continue;
      const slot = series.slot(r, labels);
      if (slot >= 0) this.plainSlots[n++] = slot;
    }
    this.plainCount = n;
    this.fnAny = false;
    if (hits !== undefined) {
      this.fnMask.fill(0);
      for (let j = 0; j < fn.length; j++) {
        const r = fn[j]!;
        if (!matchesAll(this.tenantRules[r]!.matchers, get)) continue;
        const slot = series.slot(r, labels);
        if (slot < 0) continue;
        this.fnSlots[j] = slot;
        this.fnMask[j >>> 5]! |= 1 << (j & 31);
        this.fnAny = true;
      }
    }
    this.values = series.values; // slot() may have grown it
    this.ms += performance.now() - t0;
    return n > 0 || this.fnAny;
  }

  row(row: ObservedRow): void {
    // Not timed: a timer call costs about as much as the sums below.
    this.rows++;
    const values = this.values;
    const total = row.totalValue;
    for (let i = 0; i < this.plainCount; i++) values[this.plainSlots[i]!]! += total;
    if (this.fnAny) {
      const fh = this.dataset.hits!;
      const w = fh.words;
      const mask = this.fnMask;
      const ids = row.stacktraceIds;
      const vals = row.values;
      for (let k = 0; k < ids.length; k++) {
        const at = fh.of(ids[k]!, row.symbols);
        const bits = fh.hits; // re-read: of() may have grown it
        for (let word = 0; word < w; word++) {
          let m = bits[at + word]! & mask[word]!;
          while (m !== 0) {
            const low = m & -m;
            const j = (word << 5) + 31 - Math.clz32(low);
            values[this.fnSlots[j]!]! += vals[k]!;
            m ^= low;
          }
        }
      }
    }
  }

  finish(): Uint8Array {
    const t0 = performance.now();
    this.closeTenant();
    const { stamp, metrics } = this.opts;
    const result = create(ObserverResultSchema, { tenants: this.done, timestampMs: BigInt(stamp.timestampMs), shard: stamp.shard });
    if (metrics) {
      for (const t of this.done) metrics.seriesRecorded.inc({ tenant: t.tenant }, t.series.length);
      for (const [tenant, n] of this.dropped) metrics.seriesDropped.inc({ tenant }, n);
      for (const [tenant, n] of this.rowsByTenant) metrics.rows.inc({ tenant }, n);
    }
    const bytes = toBinary(ObserverResultSchema, result);
    metrics?.observeSeconds.observe((this.ms + performance.now() - t0) / 1000);
    return bytes;
  }

  /** Moves the current tenant's series into the result. */
  private closeTenant(): void {
    const series = this.series;
    if (series === undefined) return;
    this.series = undefined;
    this.tenantRules = [];
    this.dataset = { plain: [], fn: [], hits: undefined };
    if (this.rows > 0) this.rowsByTenant.set(series.tenant, this.rows);
    this.rows = 0;
    let dropped = 0;
    for (const n of series.dropped().values()) dropped += n;
    if (dropped > 0) this.dropped.set(series.tenant, dropped);
    const samples = series.result();
    if (samples) this.done.push(samples);
  }
}

// Drives the observer through the real hook interface (compaction/observer.ts)
// with hand-built tenants, datasets, series and rows, and reads its result.

import { create, fromBinary } from '@bufbuild/protobuf';
import { ObserverResultSchema, type ObserverResult } from '../../../src/gen/metrics/v1/recorded_pb.js';
import { RecordingRuleSchema, type RecordingRule } from '../../../src/gen/settings/v1/recording_rules_pb.js';
import type { Labels } from '../../../src/profiles/block/model.js';
import { StringTable } from '../../../src/profiles/block/sections.js';
import type { JobObserver, ObservedRow, StackResolver } from '../../../src/profiles/compaction/observer.js';
import { compileRule, type CompiledRule } from '../../../src/profiles/rules/compiled.js';

export const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
export const ALLOC = 'memory:alloc_space:bytes:space:bytes';

export interface RuleInit {
  id: string;
  metricName?: string;
  matchers: string[];
  groupBy?: string[];
  externalLabels?: Record<string, string>;
  functionName?: string;
}

export function apiRule(r: RuleInit): RecordingRule {
  return create(RecordingRuleSchema, {
    id: r.id,
    metricName: r.metricName ?? `profiles_recorded_${r.id.toLowerCase()}`,
    matchers: r.matchers,
    groupBy: r.groupBy ?? [],
    externalLabels: Object.entries(r.externalLabels ?? {}).map(([name, value]) => ({ name, value })),
    ...(r.functionName ? { stacktraceFilter: { functionName: { functionName: r.functionName } } } : {}),
  });
}

export const rule = (r: RuleInit): CompiledRule => compileRule(apiRule(r));

/** A dataset's output symbols: stack id k has the function names stacks[k] (leaf first). */
export class FakeSymbols implements StackResolver {
  private readonly table = new StringTable();
  private readonly ids: number[][];
  /** functionNameIds calls per stack id (the observer should cache). */
  readonly resolved = new Map<number, number>();

  constructor(stacks: string[][]) {
    this.ids = stacks.map((names) => names.map((n) => this.table.intern(n)));
  }

  get strings(): readonly string[] {
    return this.table.strings;
  }

  functionNames(id: number): string[] {
    return this.functionNameIds(id).map((i) => this.strings[i]!);
  }
  functionNameIds(id: number): number[] {
    this.resolved.set(id, (this.resolved.get(id) ?? 0) + 1);
    const ids = this.ids[id];
    if (ids === undefined) throw new RangeError(`stack trace id ${id} out of range`);
    return ids.slice();
  }
  string(i: number): string {
    return this.strings[i]!;
  }
}

export interface RowInit {
  /** [stack id, value] pairs; ids ascending. Total = sum of values unless `total` is given. */
  samples?: [number, number][];
  total?: number;
}

export interface SeriesInit {
  labels: Record<string, string>;
  rows: RowInit[];
}

export interface DatasetInit {
  name: string;
  stacks?: string[][];
  series: SeriesInit[];
}

export interface TenantInit {
  tenant: string;
  datasets: DatasetInit[];
}

/** Labels as the merge gives them: sorted by name, service_name = the dataset name. */
export function seriesLabels(dataset: string, labels: Record<string, string>): Labels {
  return Object.entries({ service_name: dataset, ...labels }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Makes the hook calls of a merge of `tenants` (each level in the given order); returns finish(). */
export function drive(observer: JobObserver, tenants: TenantInit[]): Uint8Array | undefined {
  for (const t of tenants) {
    if (!observer.beginTenant(t.tenant)) continue;
    for (const d of t.datasets) {
      if (!observer.beginDataset(d.name)) continue;
      const symbols = new FakeSymbols(d.stacks ?? []);
      for (const s of d.series) {
        const labels = seriesLabels(d.name, s.labels);
        if (!observer.beginSeries(labels)) continue;
        s.rows.forEach((r, i) => {
          const samples = r.samples ?? [];
          const row: ObservedRow = {
            tenant: t.tenant,
            dataset: d.name,
            labels,
            timeNanos: BigInt(i + 1),
            totalValue: r.total ?? samples.reduce((a, [, v]) => a + v, 0),
            stacktraceIds: Uint32Array.from(samples.map(([id]) => id)),
            values: Float64Array.from(samples.map(([, v]) => v)),
            symbols,
          };
          observer.row(row);
        });
      }
    }
  }
  return observer.finish();
}

export const decode = (bytes: Uint8Array | undefined): ObserverResult => fromBinary(ObserverResultSchema, bytes!);

/**
 * tenant → "name=value,..." (labels without __name__ and the instance label, which tests
 * check separately) → value.
 */
export function samples(result: ObserverResult, instanceLabel = 'pyroscope_instance'): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const t of result.tenants) {
    const series: Record<string, number> = {};
    for (const s of t.series) {
      const key = s.labels
        .filter((l) => l.name !== '__name__' && l.name !== instanceLabel)
        .map((l) => `${l.name}=${l.value}`)
        .join(',');
      series[key] = s.value;
    }
    out[t.tenant] = series;
  }
  return out;
}

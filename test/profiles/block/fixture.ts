// Hand-built block content: 2 tenants × 2 services, several series and
// profile types, stack traces sharing locations, inlined lines, locations
// with and without a mapping, and ns timestamps beyond float precision.
import { emptySymbols, type DatasetContent, type Labels, type ProfileRow, type Symbols } from '../../../src/profiles/block/model.js';

export const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';
export const MEM = 'memory:alloc_space:bytes:space:bytes';
export const GOROUTINE = 'goroutine:goroutine:count:goroutine:count';
export const WALL = 'wall:wall:nanoseconds:wall:nanoseconds';

/** A 16-byte profile id: a0 00 .. 00 n. */
export function uuid(n: number): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = 0xa0;
  b[15] = n;
  return b;
}

function row(seriesIndex: number, id: number, timeNanos: bigint, totalValue: number, ids: number[], values: number[], durationNanos = 10_000_000_000n, period = 10_000_000n): ProfileRow {
  return {
    seriesIndex,
    profileId: uuid(id),
    timeNanos,
    durationNanos,
    period,
    totalValue,
    stacktraceIds: Uint32Array.from(ids),
    values: Float64Array.from(values),
  };
}

export function acmeApiSymbols(): Symbols {
  return {
    strings: ['', 'main', 'handler', 'parse', 'inlinedHelper', 'main.go', 'app', 'build1', 'parse.go'],
    functionName: [1, 2, 3, 4],
    functionSystemName: [1, 2, 3, 4],
    functionFilename: [5, 5, 8, 5],
    functionStartLine: [10, 20, 30, 40],
    mappingMemoryStart: [0x7f00_0040_0000],
    mappingMemoryLimit: [0x7f00_0080_0000],
    mappingFileOffset: [4096],
    mappingFilename: [6],
    mappingBuildId: [7],
    mappingFlags: [1],
    // l0, l1 in the mapping; l2 without one.
    locationMapping: [1, 1, 0],
    locationAddress: [0x7f00_0040_1000, 0x7f00_0040_2000, 0],
    // l0: main:12; l1: inlinedHelper:41 inlined into handler:22; l2: parse:33.
    locationLineEnd: [1, 3, 4],
    lineFunction: [0, 3, 1, 2],
    lineNumber: [12, 41, 22, 33],
    // s0 = [l1, l0], s1 = [l2, l1, l0], s2 = [l0] (leaf first).
    stacktraceEnd: [2, 5, 6],
    stacktraceLocations: [1, 0, 2, 1, 0, 0],
  };
}

function webSymbols(): Symbols {
  const s = emptySymbols();
  s.strings.push('serve', 'render');
  s.functionName.push(1, 2);
  s.functionSystemName.push(0, 0);
  s.functionFilename.push(0, 0);
  s.functionStartLine.push(0, 0);
  s.locationMapping.push(0, 0);
  s.locationAddress.push(0x10, 0x20);
  s.locationLineEnd.push(1, 2);
  s.lineFunction.push(1, 0);
  s.lineNumber.push(7, 3);
  s.stacktraceEnd.push(2);
  s.stacktraceLocations.push(0, 1);
  return s;
}

function betaApiSymbols(): Symbols {
  const s = emptySymbols();
  s.strings.push('beta_main');
  s.functionName.push(1);
  s.functionSystemName.push(1);
  s.functionFilename.push(0);
  s.functionStartLine.push(-1);
  s.locationMapping.push(0);
  s.locationAddress.push(0);
  s.locationLineEnd.push(1);
  s.lineFunction.push(0);
  s.lineNumber.push(-5);
  s.stacktraceEnd.push(1);
  s.stacktraceLocations.push(0);
  return s;
}

const apiSeries: Labels[] = [
  [['__name__', 'memory'], ['__profile_type__', MEM], ['service_name', 'api']],
  // Not sorted by name on purpose: the writer sorts the pairs.
  [['service_name', 'api'], ['__name__', 'process_cpu'], ['__profile_type__', CPU], ['pod', 'b']],
  [['__name__', 'process_cpu'], ['__profile_type__', CPU], ['pod', 'a'], ['service_name', 'api']],
];

/** Fresh copies every call (the tests mutate and shuffle them). */
export function fixtureDatasets(): DatasetContent[] {
  return [
    {
      tenant: 'beta',
      name: 'worker',
      series: [[['__profile_type__', WALL], ['service_name', 'worker']]],
      rows: [row(0, 40, 1763699999000000500n, 0, [], [])],
      symbols: emptySymbols(),
    },
    {
      tenant: 'acme',
      name: 'api',
      series: apiSeries.map((s) => s.slice()),
      rows: [
        row(1, 1, 1763700015000037439n, 30, [2, 0], [10, 20]),
        row(2, 2, 1763700015000037440n, 5, [1], [5]),
        row(2, 3, 1763700005000000001n, 7, [0, 0], [3, 4]),
        row(0, 4, 1763700015000037439n, 1024, [1, 2], [512, 512], 0n, 524288n),
        row(2, 1, 1763700015000037440n, 6, [2], [6]),
      ],
      symbols: acmeApiSymbols(),
    },
    {
      tenant: 'beta',
      name: 'api',
      series: [[['__profile_type__', GOROUTINE], ['service_name', 'api']]],
      rows: [row(0, 31, 1763700020000000000n, 3, [0], [3], 0n, 1n), row(0, 30, 1763700000000000000n, 2, [0], [2], 0n, 1n)],
      symbols: betaApiSymbols(),
    },
    {
      tenant: 'acme',
      name: 'web',
      series: [[['__name__', 'process_cpu'], ['__profile_type__', CPU], ['service_name', 'web']]],
      rows: [row(0, 16, 1763700010999999999n, 4, [0], [4])],
      symbols: webSymbols(),
    },
  ];
}

/**
 * The same content in another order: datasets reversed, series reversed
 * (rows remapped), rows reversed, samples and label pairs reversed.
 */
export function shuffled(datasets: DatasetContent[]): DatasetContent[] {
  return datasets
    .slice()
    .reverse()
    .map((d) => {
      const n = d.series.length;
      return {
        ...d,
        series: d.series.map((s) => s.slice().reverse()).reverse(),
        rows: d.rows
          .map((r) => ({
            ...r,
            seriesIndex: n - 1 - r.seriesIndex,
            stacktraceIds: r.stacktraceIds.slice().reverse(),
            values: r.values.slice().reverse(),
          }))
          .reverse(),
      };
    });
}

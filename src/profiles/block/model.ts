// What a block holds, independent of how it is encoded: the segment writer
// builds these, block/writer.ts encodes them, block/reader.ts gives them back.

/** A label set, sorted by name, names unique. */
export type Labels = ReadonlyArray<readonly [name: string, value: string]>;

/**
 * Symbols of one dataset, deduplicated, in columns. Strings are indexes into
 * `strings` (strings[0] === ""). Stack trace ids in profile rows are indexes
 * into the stack trace table.
 */
export interface Symbols {
  strings: string[];

  functionName: number[];
  functionSystemName: number[];
  functionFilename: number[];
  functionStartLine: number[];

  mappingMemoryStart: number[];
  mappingMemoryLimit: number[];
  mappingFileOffset: number[];
  mappingFilename: number[];
  mappingBuildId: number[];
  mappingFlags: number[];

  /** Mapping index + 1 of each location; 0 = no mapping. */
  locationMapping: number[];
  locationAddress: number[];
  /** Lines of location j are [locationLineEnd[j-1] (0 for j = 0) .. locationLineEnd[j]). */
  locationLineEnd: number[];
  lineFunction: number[];
  lineNumber: number[];

  /** Locations of stack trace k (leaf first) are [stacktraceEnd[k-1] (0 for k = 0) .. stacktraceEnd[k]). */
  stacktraceEnd: Uint32Column;
  stacktraceLocations: Uint32Column;
}

/** A column of uint32s: typed where a segment head interns stack traces, a plain array elsewhere. */
export type Uint32Column = number[] | Uint32Array;

/** Symbols with every column a plain array, to build by pushing. */
export type SymbolArrays = { [K in keyof Symbols]: K extends 'strings' ? string[] : number[] };

/** One profile of one series (one sample type of one pushed profile). */
export interface ProfileRow {
  /** Index into the dataset's series list. */
  seriesIndex: number;
  /** 16 bytes (a UUID). */
  profileId: Uint8Array;
  timeNanos: bigint;
  durationNanos: bigint;
  period: bigint;
  /** Sum of `values`. */
  totalValue: number;
  /** Stack trace ids with a non-zero value, and those values (same length). */
  stacktraceIds: Uint32Array;
  values: Float64Array;
}

/**
 * Profile rows in columns (how a segment head builds them, see
 * segment/row-columns.ts): row i's profile id and samples are ranges of the
 * concatenated columns.
 */
export interface RowColumns {
  rowSeries: Uint32Array;
  /** Profile id of row i: rowIds[rowIdStart[i] .. rowIdStart[i + 1]). */
  rowIdStart: Uint32Array;
  rowIds: Uint8Array;
  rowTime: BigInt64Array;
  rowDuration: BigInt64Array;
  rowPeriod: BigInt64Array;
  rowTotal: Float64Array;
  /** Samples of row i: [rowStackStart[i], rowStackStart[i + 1]) of rowStacks and rowValues. */
  rowStackStart: Uint32Array;
  rowStacks: Uint32Array;
  rowValues: Float64Array;
}

/** Zeroed row columns for n rows with idBytes of profile ids and samples samples in all. */
export function allocRowColumns(n: number, idBytes: number, samples: number): RowColumns {
  return {
    rowSeries: new Uint32Array(n),
    rowIdStart: new Uint32Array(n + 1),
    rowIds: new Uint8Array(idBytes),
    rowTime: new BigInt64Array(n),
    rowDuration: new BigInt64Array(n),
    rowPeriod: new BigInt64Array(n),
    rowTotal: new Float64Array(n),
    rowStackStart: new Uint32Array(n + 1),
    rowStacks: new Uint32Array(samples),
    rowValues: new Float64Array(samples),
  };
}

/** One dataset = the profiles of one service of one tenant. */
export interface DatasetContent {
  tenant: string;
  /** service_name. */
  name: string;
  /** Label sets of the series, each with __profile_type__, service_name, ... */
  series: Labels[];
  /** Rows in any order: the writer sorts them. */
  rows: ProfileRow[];
  symbols: Symbols;
}

/** A dataset with its rows in columns, as a segment head builds it (the block writer takes either). */
export type ColumnarDataset = Omit<DatasetContent, 'rows'> & { rows: RowColumns };

export function emptySymbols(): SymbolArrays {
  return {
    strings: [''],
    functionName: [],
    functionSystemName: [],
    functionFilename: [],
    functionStartLine: [],
    mappingMemoryStart: [],
    mappingMemoryLimit: [],
    mappingFileOffset: [],
    mappingFilename: [],
    mappingBuildId: [],
    mappingFlags: [],
    locationMapping: [],
    locationAddress: [],
    locationLineEnd: [],
    lineFunction: [],
    lineNumber: [],
    stacktraceEnd: [],
    stacktraceLocations: [],
  };
}

// A pprof profile decoded into columns (typed arrays), not one object per
// sample: this is the shape the ingest hot path works on.
//
// Conventions:
// - Every string field is an index into `strings` (strings[0] === "").
// - Ids in the pprof wire format (location, function, mapping ids) are resolved
//   by the decoder into 0-based *indexes* into the tables below; a reference to
//   an unknown id is a decode error.
// - int64 values are held as float64 numbers: exact up to 2^53, which covers
//   every realistic sample value (2^53 ns is 104 days of CPU in one sample).

export interface DecodedProfile {
  strings: string[];
  /** sample_type: one (type, unit) pair of string indexes per value column. */
  sampleTypeType: Uint32Array;
  sampleTypeUnit: Uint32Array;
  periodTypeType: number;
  periodTypeUnit: number;
  period: number;
  timeNanos: bigint;
  durationNanos: bigint;
  /** String index of default_sample_type (0 when absent). */
  defaultSampleType: number;
  dropFrames: number;
  keepFrames: number;
  /** String indexes of the comments. */
  comments: Uint32Array;

  /** Number of samples. */
  sampleCount: number;
  /** sampleCount × sampleTypeType.length values, row-major (sample i, type t at i*T+t). */
  sampleValues: Float64Array;
  /** Location indexes of sample i are sampleLocations[sampleLocationStart[i] .. sampleLocationStart[i+1]), leaf first. */
  sampleLocationStart: Uint32Array;
  sampleLocations: Uint32Array;
  /** Labels of sample i are [sampleLabelStart[i] .. sampleLabelStart[i+1]) in the label columns. */
  sampleLabelStart: Uint32Array;
  /** String index of each label key. */
  labelKey: Uint32Array;
  /** String index of the value of a string label; 0 for a numeric label. */
  labelStr: Uint32Array;
  /** Value of a numeric label (0 for a string label). */
  labelNum: Float64Array;
  /** String index of the unit of a numeric label. */
  labelNumUnit: Uint32Array;

  /** Locations: the original pprof id, its mapping index (-1: none), address. */
  locationId: Float64Array;
  locationMapping: Int32Array;
  locationAddress: Float64Array;
  locationIsFolded: Uint8Array;
  /** Lines of location j are [locationLineStart[j] .. locationLineStart[j+1]), innermost first. */
  locationLineStart: Uint32Array;
  lineFunction: Uint32Array;
  lineNumber: Float64Array;
  lineColumn: Float64Array;

  /** Functions (indexes into strings). */
  functionId: Float64Array;
  functionName: Uint32Array;
  functionSystemName: Uint32Array;
  functionFilename: Uint32Array;
  functionStartLine: Float64Array;

  /** Mappings. */
  mappingId: Float64Array;
  mappingMemoryStart: Float64Array;
  mappingMemoryLimit: Float64Array;
  mappingFileOffset: Float64Array;
  mappingFilename: Uint32Array;
  mappingBuildId: Uint32Array;
  /** Bit 0 has_functions, 1 has_filenames, 2 has_line_numbers, 3 has_inline_frames. */
  mappingFlags: Uint8Array;
}

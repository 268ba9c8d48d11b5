// Remote write 2.0: `io.prometheus.write.v2.Request` (spec/tsdb.md §1.6), decoded into the same
// shape as 1.0 (decoded-request.ts).
//
//   Request    { reserved 1 to 3; repeated string symbols = 4; repeated TimeSeries timeseries = 5; }
//   TimeSeries { repeated uint32 labels_refs = 1; repeated Sample samples = 2; repeated Histogram histograms = 3;
//                repeated Exemplar exemplars = 4; Metadata metadata = 5; }
//   Sample     { double value = 1; int64 timestamp = 2; int64 start_timestamp = 3; }
//   Metadata   { Type type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; }
//
// Strings live once in the symbol table and series point at them by index: labels_refs holds
// (name, value) index pairs, symbols[0] must be "". Symbols are decoded first, wherever they
// appear in the body, so a series never refers to a table that is still incomplete.

import { type DecodedRequest, type DecodedSeries, METRIC_TYPES, type MetricMetadata, NO_LABELS, SampleCollector, newSeries } from './decoded-request.js';
import { decodeSample } from './remote-write-v1.js';
import { LEN, RemoteWriteDecodeError, VARINT, WireReader } from './wire-reader.js';

export function decodeWriteRequestV2(body: Buffer): DecodedRequest {
  const r = new WireReader(body);
  const symbols: string[] = [];
  // Symbols whose bytes are not UTF-8: a label value among them fails validation of its series only.
  let invalidSymbols: Set<number> | undefined;
  // Offsets of the TimeSeries messages, [start, end) pairs, decoded once all symbols are known.
  const seriesRanges: number[] = [];
  while (r.more()) {
    const tag = r.tag();
    const field = tag >>> 3;
    if (field === 4) {
      r.expect(tag, LEN, 'Request.symbols');
      const index = symbols.length;
      symbols.push(r.string(() => (invalidSymbols ??= new Set()).add(index)));
    } else if (field === 5) {
      r.expect(tag, LEN, 'Request.timeseries');
      const end = r.lenEnd();
      seriesRanges.push(r.pos, end);
      r.pos = end;
    } else {
      r.skip(tag & 7);
    }
  }
  if (symbols.length > 0 && symbols[0] !== '') throw new RemoteWriteDecodeError('symbols[0] must be the empty string');

  const samples = new SampleCollector();
  const out: DecodedRequest = { series: [], metadata: [], samples: 0, histograms: 0, exemplars: 0 };
  const ctx: SeriesContext = { symbols, invalidSymbols, samples, refs: [] };
  for (let i = 0; i < seriesRanges.length; i += 2) {
    r.reset(seriesRanges[i]!, seriesRanges[i + 1]!);
    const series = newSeries();
    samples.begin(series);
    const metadata = decodeSeries(r, series, ctx);
    samples.end();
    out.series.push(series);
    out.histograms += series.histograms;
    out.exemplars += series.exemplars;
    if (metadata) out.metadata.push(metadata);
  }
  samples.finish(out.series);
  out.samples = samples.count;
  return out;
}

interface SeriesContext {
  symbols: readonly string[];
  invalidSymbols: Set<number> | undefined;
  samples: SampleCollector;
  /** Scratch for labels_refs, reused across series. */
  refs: number[];
}

function symbol(ctx: SeriesContext, ref: number): string {
  const s = ctx.symbols[ref];
  if (s === undefined) throw new RemoteWriteDecodeError(`symbol reference ${ref} is out of range (${ctx.symbols.length} symbols)`);
  return s;
}

/** Reads one TimeSeries (the whole range of `r`); returns its metadata when it carries any. */
function decodeSeries(r: WireReader, series: DecodedSeries, ctx: SeriesContext): MetricMetadata | undefined {
  const refs = ctx.refs;
  refs.length = 0;
  let md: { type: number; helpRef: number; unitRef: number } | undefined;
  while (r.more()) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        // Packed (the norm) or, as protobuf allows for repeated scalars, one varint per field.
        if ((tag & 7) === LEN) {
          const end = r.lenEnd();
          const outer = r.end;
          r.end = end;
          while (r.more()) refs.push(r.varint());
          r.end = outer;
        } else {
          r.expect(tag, VARINT, 'TimeSeries.labels_refs');
          refs.push(r.varint());
        }
        break;
      case 2: {
        r.expect(tag, LEN, 'TimeSeries.samples');
        const end = r.lenEnd();
        decodeSample(r, end, ctx.samples);
        break;
      }
      case 3:
        r.expect(tag, LEN, 'TimeSeries.histograms');
        r.pos = r.lenEnd();
        series.histograms++;
        break;
      case 4:
        r.expect(tag, LEN, 'TimeSeries.exemplars');
        r.pos = r.lenEnd();
        series.exemplars++;
        break;
      case 5: {
        r.expect(tag, LEN, 'TimeSeries.metadata');
        const end = r.lenEnd();
        md = decodeMetadata(r, end);
        break;
      }
      default:
        r.skip(tag & 7);
    }
  }
  if (refs.length % 2 !== 0) throw new RemoteWriteDecodeError(`labels_refs has an odd length (${refs.length})`);
  for (let i = 0; i < refs.length; i += 2) {
    const name = symbol(ctx, refs[i]!);
    const value = symbol(ctx, refs[i + 1]!);
    if (series.invalidUtf8Label === undefined && ctx.invalidSymbols?.has(refs[i + 1]!)) series.invalidUtf8Label = name;
    if (series.labels === NO_LABELS) series.labels = [];
    series.labels.push([name, value]);
  }
  if (md === undefined || (md.type === 0 && md.helpRef === 0 && md.unitRef === 0)) return undefined;
  // 2.0 has no family name of its own: the series' metric name is the family.
  const name = series.labels.find(([n]) => n === '__name__')?.[1] ?? '';
  return { metricFamilyName: name, type: METRIC_TYPES[md.type] ?? 'unknown', help: symbol(ctx, md.helpRef), unit: symbol(ctx, md.unitRef) };
}

function decodeMetadata(r: WireReader, end: number): { type: number; helpRef: number; unitRef: number } {
  const outer = r.end;
  r.end = end;
  const md = { type: 0, helpRef: 0, unitRef: 0 };
  while (r.more()) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        r.expect(tag, VARINT, 'Metadata.type');
        md.type = r.varint();
        break;
      case 3:
        r.expect(tag, VARINT, 'Metadata.help_ref');
        md.helpRef = r.varint();
        break;
      case 4:
        r.expect(tag, VARINT, 'Metadata.unit_ref');
        md.unitRef = r.varint();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  r.end = outer;
  return md;
}

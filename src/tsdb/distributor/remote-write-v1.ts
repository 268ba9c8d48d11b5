// Remote write 1.0: `prometheus.WriteRequest` (spec/tsdb.md §1.2), decoded straight into
// per-request typed arrays (decoded-request.ts) — no message objects, no per-sample objects.
//
//   WriteRequest   { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata metadata = 3; }
//   TimeSeries     { repeated Label labels = 1; repeated Sample samples = 2;
//                    repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
//   Label          { string name = 1; string value = 2; }
//   Sample         { double value = 1; int64 timestamp = 2; }
//   MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
//
// Exemplars and histograms are only counted (the receiver stores neither). Unknown fields are
// skipped by wire type; a known field with the wrong wire type is an error, as in Go's decoder.

import { type DecodedRequest, type DecodedSeries, METRIC_TYPES, type MetricMetadata, NO_LABELS, SampleCollector, newSeries } from './decoded-request.js';
import { type CachedSeries, type SeriesCache, viewOf } from './series-cache.js';
import { I64, LEN, VARINT, WireReader } from './wire-reader.js';

/**
 * Decodes a WriteRequest. With a tenant's `cache` (series-cache.ts), a series whose label bytes
 * are a known key is not decoded: it gets the cached label set (`series.cached`).
 */
export function decodeWriteRequestV1(body: Buffer, cache?: SeriesCache): DecodedRequest {
  const r = new WireReader(body);
  const view = cache === undefined ? undefined : viewOf(body);
  lastHit = undefined;
  const samples = new SampleCollector();
  const out: DecodedRequest = { series: [], metadata: [], samples: 0, histograms: 0, exemplars: 0, body };
  while (r.more()) {
    const tag = r.tag();
    const field = tag >>> 3;
    if (field === 1) {
      r.expect(tag, LEN, 'WriteRequest.timeseries');
      const end = r.lenEnd();
      const series = newSeries();
      samples.begin(series);
      decodeSeries(r, end, series, samples, cache, view);
      samples.end();
      out.series.push(series);
      out.histograms += series.histograms;
      out.exemplars += series.exemplars;
    } else if (field === 3) {
      r.expect(tag, LEN, 'WriteRequest.metadata');
      const end = r.lenEnd();
      out.metadata.push(decodeMetadata(r, end));
    } else {
      r.skip(tag & 7);
    }
  }
  samples.finish(out.series);
  out.samples = samples.count;
  return out;
}

// The previous series' cache entry within the request being decoded (for findAfter); reset per request.
let lastHit: CachedSeries | undefined;

// A `labels` field written the usual way: field 1, wire type LEN, as a one-byte tag.
const LABEL_TAG = (1 << 3) | LEN;

/**
 * The end of the run of well-framed `labels` fields (tag LABEL_TAG, a length that fits) starting
 * at `pos`: where a series' labels end when they come first, as every sender writes them. Never
 * throws: anything else ends the run, and the ordinary decoding loop deals with it.
 */
function labelRunEnd(buf: Buffer, pos: number, end: number): number {
  while (pos < end && buf[pos] === LABEL_TAG) {
    let p = pos + 1;
    let len = 0;
    let mul = 1;
    for (;;) {
      if (p >= end || mul > 2 ** 28) return pos;
      const b = buf[p++]!;
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
    }
    if (len > end - p) return pos;
    pos = p + len;
  }
  return pos;
}

/**
 * Reads one TimeSeries ending at `end`, leaving `r` there. Nested messages reuse `r` by narrowing
 * `r.end`. The bytes of the leading run of labels are the series' cache key; a series with labels
 * elsewhere too has none.
 */
function decodeSeries(r: WireReader, end: number, series: DecodedSeries, samples: SampleCollector, cache: SeriesCache | undefined, view: DataView | undefined): void {
  const outer = r.end;
  r.end = end;
  const keyStart = r.pos;
  const keyEnd = labelRunEnd(r.buf, keyStart, end);
  let keyed = keyEnd > keyStart;
  if (keyed) {
    series.keyStart = keyStart;
    series.keyEnd = keyEnd;
    const hit = cache?.findAfter(lastHit, view!, keyStart, keyEnd);
    lastHit = hit;
    if (hit !== undefined) {
      // Known label bytes: they decoded and validated before, so they are skipped.
      series.cached = hit;
      r.pos = keyEnd;
    }
  }
  while (r.more()) {
    const at = r.pos;
    const tag = r.tag();
    const field = tag >>> 3;
    if (field === 1) {
      r.expect(tag, LEN, 'TimeSeries.labels');
      const labelEnd = r.lenEnd();
      if (keyed && at >= keyEnd) {
        // More labels after the run: the run's bytes are not the whole label set.
        keyed = false;
        series.keyStart = series.keyEnd = -1;
        if (series.cached !== undefined) {
          series.cached = undefined;
          decodeLabels(r, keyStart, keyEnd, series);
        }
      }
      decodeLabel(r, labelEnd, series);
    } else if (field === 2) {
      r.expect(tag, LEN, 'TimeSeries.samples');
      const sampleEnd = r.lenEnd();
      decodeSample(r, sampleEnd, samples);
    } else if (field === 3) {
      r.expect(tag, LEN, 'TimeSeries.exemplars');
      r.pos = r.lenEnd();
      series.exemplars++;
    } else if (field === 4) {
      r.expect(tag, LEN, 'TimeSeries.histograms');
      r.pos = r.lenEnd();
      series.histograms++;
    } else {
      r.skip(tag & 7);
    }
  }
  r.end = outer;
}

/** Decodes the labels fields in [start, end) (a run labelRunEnd found), leaving `r` where it was. */
function decodeLabels(r: WireReader, start: number, end: number, series: DecodedSeries): void {
  const pos = r.pos;
  const outer = r.end;
  r.pos = start;
  r.end = end;
  while (r.more()) {
    r.tag();
    const labelEnd = r.lenEnd();
    decodeLabel(r, labelEnd, series);
  }
  r.pos = pos;
  r.end = outer;
}

// Set by markInvalid while one label value is decoded: a shared callback, so decoding a label
// allocates no closure.
let invalidValue = false;
const markInvalid = (): void => {
  invalidValue = true;
};

function decodeLabel(r: WireReader, end: number, series: DecodedSeries): void {
  const outer = r.end;
  r.end = end;
  let name = '';
  let value = '';
  let invalid = false;
  while (r.more()) {
    const tag = r.tag();
    const field = tag >>> 3;
    if (field === 1) {
      r.expect(tag, LEN, 'Label.name');
      name = r.string();
    } else if (field === 2) {
      r.expect(tag, LEN, 'Label.value');
      invalidValue = false;
      value = r.string(markInvalid);
      if (invalidValue) invalid = true;
    } else {
      r.skip(tag & 7);
    }
  }
  r.end = outer;
  if (invalid && series.invalidUtf8Label === undefined) series.invalidUtf8Label = name;
  if (series.labels === NO_LABELS) series.labels = [];
  series.labels.push([name, value]);
}

/** A Sample: value = 1 (double), timestamp = 2 (int64 ms); 2.0 uses the same message (3 = start timestamp, unused). */
export function decodeSample(r: WireReader, end: number, samples: SampleCollector): void {
  const outer = r.end;
  r.end = end;
  let valueAt = -1;
  let timestamp = 0;
  while (r.more()) {
    const tag = r.tag();
    const field = tag >>> 3;
    if (field === 1) {
      r.expect(tag, I64, 'Sample.value');
      valueAt = r.fixed64Offset();
    } else if (field === 2) {
      r.expect(tag, VARINT, 'Sample.timestamp');
      timestamp = r.int64();
    } else {
      r.skip(tag & 7);
    }
  }
  r.end = outer;
  if (valueAt < 0) samples.addZero(timestamp);
  else samples.add(timestamp, r.buf, valueAt);
}

function decodeMetadata(r: WireReader, end: number): MetricMetadata {
  const outer = r.end;
  r.end = end;
  const md: MetricMetadata = { metricFamilyName: '', type: 'unknown', help: '', unit: '' };
  while (r.more()) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case 1:
        r.expect(tag, VARINT, 'MetricMetadata.type');
        md.type = METRIC_TYPES[r.varint()] ?? 'unknown';
        break;
      case 2:
        r.expect(tag, LEN, 'MetricMetadata.metric_family_name');
        md.metricFamilyName = r.string();
        break;
      case 4:
        r.expect(tag, LEN, 'MetricMetadata.help');
        md.help = r.string();
        break;
      case 5:
        r.expect(tag, LEN, 'MetricMetadata.unit');
        md.unit = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  r.end = outer;
  return md;
}

// Legacy Pyroscope `POST /ingest` (and `/pyroscope/ingest`): query parameters
// and body → one normalised input for the distributor. No I/O here: the HTTP
// handler reads the (size-capped) body and answers IngestError.status.
//
// Format detection follows Pyroscope's ingest handler, in this order:
//   format=trie or Content-Type binary/octet-stream+trie   → 415 (not supported yet)
//   format=tree or Content-Type binary/octet-stream+tree   → 415
//   format=lines, format=jfr                                → 415
//   format=pprof                                            → the raw body is a pprof
//   format=speedscope                                       → 415
//   Content-Type containing multipart/form-data             → pprof form (part `profile`)
//   anything else                                           → groups (folded text)
// 415 rather than 400: the request is well formed, only its payload format is one
// Kiln cannot read, which is what 415 Unsupported Media Type says.
//
// For pprof, period and sample types come from the pprof itself: query
// parameters such as sampleRate are not applied (@pyroscope/nodejs' wall
// profiler always sends sampleRate=17).

import type { DecodedProfile } from '../pprof/profile.js';
import { parseAttime } from './attime.js';
import { IngestError, quoteInput } from './errors.js';
import { legacyProfileType, parseFolded } from './folded.js';
import { parseLegacyName } from './legacy-name.js';
import { parseMultipart } from './multipart.js';

export interface LegacyIngestRequest {
  query: URLSearchParams;
  contentType: string | undefined;
  /** The whole request body, already read under the handler's body-size cap. */
  body: Uint8Array;
}

export interface LegacyIngestLimits {
  /** Largest folded text, and largest part of a pprof form (the distributor and the segment builders cap pprofs). */
  maxProfileBytes: number;
}

export interface SampleTypeConfig {
  units?: string;
  'display-name'?: string;
  aggregation?: string;
  cumulative?: boolean;
  sampled?: boolean;
}

export interface LegacyProfile {
  format: 'pprof' | 'folded';
  /** pprof: the pprof as sent, gzipped or not (a segment build worker gunzips and decodes it). */
  bytes?: Uint8Array;
  /** folded: the profile built from the text. */
  profile?: DecodedProfile;
  /** folded: the `__name__` label (e.g. process_cpu). pprof: absent, guess it from the sample types. */
  metricName?: string;
  /** service_name for this profile: the app name, without the type suffix for folded. */
  serviceName: string;
}

export interface LegacyIngest {
  /** The part of `name` before `{`. */
  appName: string;
  /** Tags from `name`, unsanitised (dots kept), empty values dropped. */
  labels: [string, string][];
  from: Date;
  until: Date;
  /** Becomes label pyroscope_spy. Default "unknown". */
  spyName: string;
  /** Hz; default 100, also for invalid, zero, negative or > 1e9 values. Applied to folded only. */
  sampleRate: number;
  /** Passed through (default "samples"); Pyroscope ignores it when converting. */
  units: string;
  /** Passed through (default "sum"). */
  aggregationType: string;
  /** Empty when the body holds nothing to ingest (empty pprof), which Pyroscope answers 200. */
  profiles: LegacyProfile[];
  /** The pprof form's `sample_type_config` part, when sent. */
  sampleTypeConfig?: Record<string, SampleTypeConfig>;
}

const DEFAULT_SAMPLE_RATE = 100;
/** The pprof form has three known fields; a few unknown ones are ignored, more is abuse. */
const MAX_FORM_PARTS = 16;
/** sample_type_config is a handful of entries; bound the JSON we parse. */
const MAX_SAMPLE_TYPE_CONFIG_BYTES = 64 * 1024;

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

function unsupported(what: string): never {
  throw new IngestError(415, `unsupported format ${what}: Kiln accepts pprof (format=pprof or a multipart form) and folded text`, 'unsupported_format');
}

function parseSampleRate(value: string | null): number {
  // Pyroscope logs and falls back to the default; 0 is included so the period is defined.
  if (value === null || !/^\d{1,10}$/.test(value.trim())) return DEFAULT_SAMPLE_RATE;
  const n = Number(value.trim());
  return n >= 1 && n <= 1e9 ? n : DEFAULT_SAMPLE_RATE;
}

function parseSampleTypeConfig(data: Uint8Array): Record<string, SampleTypeConfig> {
  const bad = (why: string): never => {
    throw new IngestError(400, `invalid sample_type_config: ${why}`, 'malformed_profile');
  };
  if (data.length > MAX_SAMPLE_TYPE_CONFIG_BYTES) bad(`larger than ${MAX_SAMPLE_TYPE_CONFIG_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8').decode(data));
  } catch (err) {
    return bad((err as Error).message);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return bad('expected a JSON object');
  // Null prototype: keys like "__proto__" are plain data here.
  const out: Record<string, SampleTypeConfig> = Object.create(null) as Record<string, SampleTypeConfig>;
  for (const [sampleType, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (entry === null) continue; // Go decodes null into a nil pointer: no config
    if (typeof entry !== 'object' || Array.isArray(entry)) bad(`entry ${quoteInput(sampleType)} is not an object`);
    const e = entry as Record<string, unknown>;
    const cfg: SampleTypeConfig = {};
    for (const key of ['units', 'display-name', 'aggregation'] as const) {
      const v = e[key];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string') bad(`${quoteInput(sampleType)}.${key} is not a string`);
      cfg[key] = v as string;
    }
    for (const key of ['cumulative', 'sampled'] as const) {
      const v = e[key];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'boolean') bad(`${quoteInput(sampleType)}.${key} is not a boolean`);
      cfg[key] = v as boolean;
    }
    out[sampleType] = cfg;
  }
  return out;
}

/**
 * Parse a legacy /ingest request. Throws IngestError (400 bad parameters or body,
 * 413 over `maxProfileBytes`, 415 unsupported format).
 */
export function parseLegacyIngest(req: LegacyIngestRequest, limits: LegacyIngestLimits, now: Date): LegacyIngest {
  const q = req.query;
  const { appName, labels } = parseLegacyName(q.get('name') ?? '');
  const from = parseAttime(q.get('from'), now, 'from');
  const until = parseAttime(q.get('until'), now, 'until');
  const base = {
    appName,
    labels,
    from,
    until,
    spyName: q.get('spyName') || 'unknown',
    sampleRate: parseSampleRate(q.get('sampleRate')),
    units: q.get('units') || 'samples',
    aggregationType: q.get('aggregationType') || 'sum',
  };

  const format = q.get('format') ?? '';
  const ct = mediaType(req.contentType);
  if (format === 'trie' || ct === 'binary/octet-stream+trie') unsupported('"trie"');
  if (format === 'tree' || ct === 'binary/octet-stream+tree') unsupported('"tree"');
  if (format === 'lines' || format === 'jfr') unsupported(quoteInput(format));

  if (format === 'pprof') {
    if (req.body.length === 0) return { ...base, profiles: [] };
    return { ...base, profiles: [{ format: 'pprof', bytes: req.body, serviceName: appName }] };
  }
  if (format === 'speedscope') unsupported('"speedscope"');

  if ((req.contentType ?? '').toLowerCase().includes('multipart/form-data')) {
    const parts = parseMultipart(req.body, req.contentType!, { maxParts: MAX_FORM_PARTS, maxPartBytes: limits.maxProfileBytes });
    const profile = parts.get('profile');
    if (profile === undefined) {
      throw new IngestError(400, 'multipart form has no "profile" field', 'malformed_profile');
    }
    const prev = parts.get('prev_profile');
    if (prev !== undefined && prev.length > 0) {
      throw new IngestError(400, 'unsupported client version', 'unsupported_client');
    }
    const stc = parts.get('sample_type_config');
    const sampleTypeConfig = stc !== undefined && stc.length > 0 ? parseSampleTypeConfig(stc) : undefined;
    const profiles: LegacyProfile[] = [];
    if (profile.length > 0) {
      profiles.push({ format: 'pprof', bytes: profile, serviceName: appName });
    }
    return { ...base, profiles, ...(sampleTypeConfig !== undefined ? { sampleTypeConfig } : {}) };
  }

  // groups: folded text. The type is needed first so an unknown suffix fails before parsing.
  const type = legacyProfileType(appName);
  if (req.body.length > limits.maxProfileBytes) {
    throw new IngestError(413, `profile is ${req.body.length} bytes, more than the limit of ${limits.maxProfileBytes}`, 'profile_size_limit');
  }
  const fromNs = BigInt(from.getTime()) * 1_000_000n;
  const spanNs = BigInt(until.getTime() - from.getTime()) * 1_000_000n;
  const profile = parseFolded(req.body, {
    type,
    sampleRate: base.sampleRate,
    timeNanos: fromNs,
    durationNanos: spanNs > 0n ? spanNs : 0n,
  });
  return {
    ...base,
    profiles: [{ format: 'folded', profile, metricName: type.metricName, serviceName: type.serviceName }],
  };
}

// Builds one segment from raw client requests: decodes and validates each
// profile, splits it into series, appends it to the segment's per-dataset
// heads, and at the end encodes the heads as one block. It runs in a build
// worker thread (build-worker.ts) or, with -segment-writer.build-threads=0, on
// the main thread; either way it holds no I/O: uploading and registering the
// block stay with the SegmentWriter.
//
// Validation is a pure function of a request's bytes, labels and receive time
// (never of the clock at build time), so the SegmentWriter can validate a
// request on the main thread and know the builder will decide the same.

import type { Config } from '../../config/config.js';
import type { BlockMeta } from '../../gen/metastore/v1/types_pb.js';
import type { ColumnarDataset, Labels } from '../block/model.js';
import type { RowGroupOffload } from '../block/profiles.js';
import { encodeBlock } from '../block/writer.js';
import { labelsString } from '../ingest/labels.js';
import { PprofDecodeError, PprofLimitError, decodePprof } from '../pprof/decode.js';
import { DecompressedTooLargeError, SYNC_GUNZIP_MAX_INPUT, gunzipBounded, gzipDeclaredSize, isGzip } from '../pprof/gzip.js';
import type { DecodedProfile } from '../pprof/profile.js';
import { DatasetHead, type HeadPart, type RowMeta } from './head.js';
import { type SeriesPlan, planSeries } from './series.js';

/** One profile of a request. */
export interface ProfileEntry {
  /** Validated, sorted series labels (service_name present). */
  labels: Labels;
  /** pprof as the client sent it, gzipped or not. */
  bytes: Uint8Array;
  /** `bytes` being gunzipped already (see inflateAhead). */
  inflating?: Promise<Uint8Array>;
  profileId: Uint8Array;
  /** Used when the pprof carries no time (ns since epoch). */
  defaultTimeNanos: bigint;
}

/** The profiles of one client request that go to one segment: stored all or none. */
export interface RequestPart {
  tenant: string;
  /** When the push arrived (ms since epoch): the ingestion window is checked against this time. */
  receivedAtMs: number;
  profiles: ProfileEntry[];
}

/** The outcome of one client request: status 0 = stored (durable once registered), else the HTTP status to answer. */
export interface RequestOutcome {
  status: number;
  message: string;
  reason: string;
}

export const ACCEPTED: RequestOutcome = Object.freeze({ status: 0, message: '', reason: '' });

export interface BuilderOptions {
  /** maxProfileSizeBytes must be non-zero here (the server applies the hard cap for 0). */
  validation: Config['validation'];
  /** Recorded as created_by of every block. */
  instanceId: string;
}

export interface BuiltSegment {
  /** One outcome per part, in the order the parts were added. */
  outcomes: RequestOutcome[];
  /** null when no part was accepted: such a segment writes no object. */
  block: { bytes: Uint8Array; meta: BlockMeta } | null;
  /** Accepted profiles per tenant and rejected requests per reason, for the writer's metrics. */
  acceptedProfiles: [tenant: string, count: number][];
  rejectedRequests: [reason: string, count: number][];
}

/** The profile was rejected; nothing of its request is stored. `reason` is for metrics. */
export class ProfileRejectedError extends Error {
  constructor(
    message: string,
    readonly reason: string,
    /** HTTP status the edge should answer. */
    readonly status = 400,
  ) {
    super(message);
    this.name = 'ProfileRejectedError';
  }
}

/** A decoded, validated profile, ready to be appended to its dataset head. */
export interface PreparedProfile {
  service: string;
  profile: DecodedProfile;
  plan: SeriesPlan;
  meta: RowMeta;
}

/** The 413 answer to a profile over -validation.max-profile-size-bytes, wherever it is found. */
export function profileTooLargeMessage(labels: Labels, limit: number, gzipped: boolean): string {
  return `the profile with labels '${labelsString(labels)}' exceeds the size limit (max_profile_size_byte, limit: ${limit})${gzipped ? ' after decompression' : ''} (err-kiln-profile-size-limit). To adjust the related limit, configure -validation.max-profile-size-bytes, or contact your service administrator.`;
}

/** Decodes and validates one profile of a request part; throws ProfileRejectedError. */
export async function prepareProfile(part: RequestPart, entry: ProfileEntry, v: Config['validation']): Promise<PreparedProfile> {
  const reject = (message: string, reason: string, status = 400): never => {
    throw new ProfileRejectedError(message, reason, status);
  };
  let raw = entry.bytes;
  // Profiles arrive as the client sent them: gunzipping here, in a build
  // worker, keeps that work (and its garbage) off the thread serving HTTP.
  if (isGzip(raw)) {
    try {
      raw = await (entry.inflating ?? gunzipBounded(raw, v.maxProfileSizeBytes));
    } catch (e) {
      if (e instanceof DecompressedTooLargeError) return reject(profileTooLargeMessage(entry.labels, v.maxProfileSizeBytes, true), 'profile_size_limit', 413);
      return reject(`malformed profile: ${(e as Error).message}`, 'malformed_profile');
    }
    // The distributor admitted (rate limit, in-flight bytes) the size the trailer
    // declares; only concatenated members can hold more than that.
    const declared = gzipDeclaredSize(entry.bytes);
    if (raw.length !== declared) {
      return reject(`malformed profile: the gzip trailer declares ${declared} bytes but the data inflates to ${raw.length} (concatenated gzip members are not accepted)`, 'malformed_profile');
    }
  } else if (raw.length > v.maxProfileSizeBytes) {
    return reject(profileTooLargeMessage(entry.labels, v.maxProfileSizeBytes, false), 'profile_size_limit', 413);
  }
  let profile: DecodedProfile;
  try {
    profile = decodePprof(raw, {
      maxSamples: v.maxProfileStacktraceSamples,
      maxSampleLabels: v.maxProfileStacktraceSampleLabels,
      maxStackDepth: v.maxProfileStacktraceDepth,
      maxSymbolLength: v.maxProfileSymbolValueLength,
      maxStrings: v.maxProfileStrings,
      maxLocations: v.maxProfileLocations,
    });
  } catch (e) {
    if (e instanceof PprofLimitError) {
      const [what, flag] = e.reason === 'samples_limit'
        ? ['samples count limit', 'max_profile_stacktrace_samples']
        : ['sample labels limit', 'max_profile_stacktrace_sample_labels'];
      return reject(`the profile with labels '${labelsString(entry.labels)}' exceeds the ${what} (${flag}, actual: ${e.actual}, limit: ${e.limit}) (err-kiln-${e.reason.replaceAll('_', '-')})`, e.reason);
    }
    if (e instanceof PprofDecodeError) return reject(`malformed profile: ${e.message}`, 'malformed_profile');
    throw e;
  }
  for (const t of profile.sampleTypeType) {
    if (profile.strings[t]!.includes('-')) reject(`malformed profile: sample type "${profile.strings[t]}" contains -`, 'malformed_profile');
  }

  // Profiles without a time (or with one in 1970, a common SDK bug) take the request's.
  let timeNanos = profile.timeNanos;
  if (timeNanos < 31_536_000_000_000_000n) timeNanos = entry.defaultTimeNanos;
  const nowNs = BigInt(part.receivedAtMs) * 1_000_000n;
  const timeText = () => new Date(Number(timeNanos / 1_000_000n)).toISOString();
  if (v.rejectOlderThan > 0 && timeNanos < nowNs - BigInt(v.rejectOlderThan) * 1_000_000n) {
    reject(`profile with labels '${labelsString(entry.labels)}' is outside of the ingestion window: its timestamp ${timeText()} is older than ${v.rejectOlderThan / 1000}s (err-kiln-profile-too-old). To adjust the related limit, configure -validation.reject-older-than, or contact your service administrator.`, 'not_in_time_range');
  }
  if (v.rejectNewerThan > 0 && timeNanos > nowNs + BigInt(v.rejectNewerThan) * 1_000_000n) {
    reject(`profile with labels '${labelsString(entry.labels)}' is outside of the ingestion window: its timestamp ${timeText()} is more than ${v.rejectNewerThan / 1000}s in the future (err-kiln-profile-too-new). To adjust the related limit, configure -validation.reject-newer-than, or contact your service administrator.`, 'not_in_time_range');
  }

  const service = entry.labels.find(([n]) => n === 'service_name')?.[1] ?? 'unknown_service';
  return { service, profile, plan: planSeries(profile, entry.labels), meta: { profileId: entry.profileId, timeNanos } };
}

/**
 * Starts gunzipping the part's large gzipped profiles on libuv's threads, so
 * that they inflate while the builder decodes the parts before them. (Small
 * ones inflate synchronously when their turn comes: faster than a thread hop.)
 */
export function inflateAhead(part: RequestPart, v: Config['validation']): void {
  for (const entry of part.profiles) {
    if (entry.bytes.length <= SYNC_GUNZIP_MAX_INPUT || !isGzip(entry.bytes)) continue;
    entry.inflating = gunzipBounded(entry.bytes, v.maxProfileSizeBytes);
    // Handled when the part's turn comes; a part whose segment is aborted never gets it.
    entry.inflating.catch(() => undefined);
  }
}

/** Validates every profile of a part without storing anything; resolves with its outcome. */
export async function validatePart(part: RequestPart, v: Config['validation']): Promise<RequestOutcome> {
  try {
    for (const entry of part.profiles) await prepareProfile(part, entry, v);
    return ACCEPTED;
  } catch (e) {
    if (e instanceof ProfileRejectedError) return { status: e.status, message: e.message, reason: e.reason };
    throw e;
  }
}

export class SegmentBuilder {
  private readonly heads = new Map<string, DatasetHead>();
  private readonly outcomes: RequestOutcome[] = [];
  private readonly accepted = new Map<string, number>();
  private readonly rejected = new Map<string, number>();

  constructor(
    private readonly opts: BuilderOptions,
    readonly id: string,
    readonly shard: number,
  ) {}

  /**
   * Adds one request part: every profile is decoded and validated before any
   * is appended, so a rejected part adds nothing. Parts must be added one at a
   * time (await each), in the order their outcomes are expected.
   */
  async add(part: RequestPart): Promise<void> {
    const prepared: PreparedProfile[] = [];
    try {
      for (const entry of part.profiles) prepared.push(await prepareProfile(part, entry, this.opts.validation));
    } catch (e) {
      if (!(e instanceof ProfileRejectedError)) throw e;
      this.outcomes.push({ status: e.status, message: e.message, reason: e.reason });
      this.rejected.set(e.reason, (this.rejected.get(e.reason) ?? 0) + 1);
      return;
    }
    for (const p of prepared) this.head(part.tenant, p.service).append(p.profile, p.plan, p.meta);
    this.outcomes.push(ACCEPTED);
    this.accepted.set(part.tenant, (this.accepted.get(part.tenant) ?? 0) + prepared.length);
  }

  /** Adds datasets that other builders of the same segment built (see build-pool.ts), after this builder's own parts. */
  merge(parts: readonly HeadPart[]): void {
    for (const p of parts) this.head(p.tenant, p.name).merge(p);
  }

  /**
   * This builder's share of a segment another builder encodes: its outcomes
   * and unencoded datasets, whose columns are views into the heads. The
   * builder must not be added to afterwards; call release() once the datasets
   * have been copied.
   */
  partial(): Omit<BuiltSegment, 'block'> & { datasets: ColumnarDataset[] } {
    const datasets = [...this.heads.values()].map((h) => h.content());
    return { outcomes: this.outcomes, datasets, acceptedProfiles: [...this.accepted], rejectedRequests: [...this.rejected] };
  }

  /** Hands the heads' buffers on to the next segment's builders (see RowBuilder.take). */
  release(): void {
    for (const h of this.heads.values()) h.release();
    this.heads.clear();
  }

  private head(tenant: string, service: string): DatasetHead {
    const key = `${tenant}\u0000${service}`;
    let head = this.heads.get(key);
    if (!head) this.heads.set(key, (head = new DatasetHead(tenant, service)));
    return head;
  }

  /** Encodes the segment (some row groups of large datasets through `offload`, see encodeBlock). The builder must not be used afterwards. */
  async finish(offload?: RowGroupOffload): Promise<BuiltSegment> {
    const datasets = [...this.heads.values()].map((h) => h.content());
    const block = datasets.length === 0
      ? null
      : await encodeBlock({ id: this.id, shard: this.shard, compactionLevel: 0, createdBy: this.opts.instanceId }, datasets, offload);
    this.release();
    return { outcomes: this.outcomes, block, acceptedProfiles: [...this.accepted], rejectedRequests: [...this.rejected] };
  }
}

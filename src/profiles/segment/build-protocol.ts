// The messages between the build pool (main thread) and a build worker.
//
// A batch of request parts travels as one ArrayBuffer holding every profile's
// bytes and id, transferred (not copied) to the worker, plus a small
// structured-clone description of the parts. Copying each profile once into
// that buffer is what makes the transfer safe: a request body may share its
// ArrayBuffer with other data (Node's Buffer pool, a multipart body), which a
// transfer would detach.

import type { Labels } from '../block/model.js';
import type { BuiltSegment, RequestOutcome, RequestPart } from './segment-builder.js';

interface WireProfile {
  labels: Labels;
  offset: number;
  length: number;
  idOffset: number;
  idLength: number;
  defaultTimeNanos: bigint;
}

interface WirePart {
  tenant: string;
  receivedAtMs: number;
  profiles: WireProfile[];
}

export interface WireBatch {
  buffer: ArrayBuffer;
  parts: WirePart[];
}

export type ToWorker =
  | { type: 'open'; segment: string; shard: number }
  | { type: 'add'; segment: string; batch: WireBatch }
  | { type: 'close'; segment: string };

/** A built segment; `rejections` lists only the rejected parts (the others were accepted). */
export interface WireBuilt {
  type: 'built';
  segment: string;
  parts: number;
  rejections: [part: number, outcome: RequestOutcome][];
  /** The block and its BlockMeta in protobuf binary form; null when nothing was accepted. */
  block: { bytes: Uint8Array; meta: Uint8Array } | null;
  acceptedProfiles: BuiltSegment['acceptedProfiles'];
  rejectedRequests: BuiltSegment['rejectedRequests'];
}

export type FromWorker =
  | { type: 'ready' }
  | WireBuilt
  | { type: 'failed'; segment: string; message: string };

/** Copies the parts' bytes into one new ArrayBuffer (to transfer) and describes them. */
export function packBatch(parts: readonly RequestPart[]): WireBatch {
  let size = 0;
  for (const part of parts) for (const p of part.profiles) size += p.bytes.length + p.profileId.length;
  const buffer = new ArrayBuffer(size);
  const out = new Uint8Array(buffer);
  let at = 0;
  const wire: WirePart[] = new Array<WirePart>(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const profiles: WireProfile[] = new Array<WireProfile>(part.profiles.length);
    for (let j = 0; j < part.profiles.length; j++) {
      const p = part.profiles[j]!;
      out.set(p.bytes, at);
      out.set(p.profileId, at + p.bytes.length);
      profiles[j] = { labels: p.labels, offset: at, length: p.bytes.length, idOffset: at + p.bytes.length, idLength: p.profileId.length, defaultTimeNanos: p.defaultTimeNanos };
      at += p.bytes.length + p.profileId.length;
    }
    wire[i] = { tenant: part.tenant, receivedAtMs: part.receivedAtMs, profiles };
  }
  return { buffer, parts: wire };
}

/** The parts of a batch, as views into its buffer. */
export function unpackBatch(batch: WireBatch): RequestPart[] {
  return batch.parts.map((part) => ({
    tenant: part.tenant,
    receivedAtMs: part.receivedAtMs,
    profiles: part.profiles.map((p) => ({
      labels: p.labels,
      bytes: new Uint8Array(batch.buffer, p.offset, p.length),
      profileId: new Uint8Array(batch.buffer, p.idOffset, p.idLength),
      defaultTimeNanos: p.defaultTimeNanos,
    })),
  }));
}

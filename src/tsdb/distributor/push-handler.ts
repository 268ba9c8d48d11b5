// POST /api/v1/push (Mimir's path) and /api/v1/write (Prometheus's): the HTTP face of the TSDB
// distributor. It picks the protocol version from Content-Type, finds the tenant, reads and
// snappy-decodes the body within the size limit, decodes it and hands it to the pipeline
// (distributor.ts). Answers (spec/tsdb.md §1.4–1.6, §2.5):
//
//   200 (1.0) / 204 (2.0)  stored         400  bad body or invalid data (valid series still stored)
//   202  non-elected HA replica           401  no tenant               405 not POST
//   413  body too large                   415  unsupported Content-Type or Content-Encoding
//   429  tenant over its ingestion rate   500  storage failed (the sender retries)
//
// 2.0 answers always carry the X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written
// headers, on errors too, so a 2.0 sender can tell a 2.0 receiver from a 1.0 one.

import type http from 'node:http';
import type http2 from 'node:http2';
import { IngestError } from '../../profiles/ingest/errors.js';
import { readBody } from '../../profiles/ingest/http-ingest.js';
import { type DecodedRequest } from './decoded-request.js';
import type { PushResult, TsdbDistributor } from './distributor.js';
import { LIMIT_FLAGS } from './limits.js';
import type { DistributorMetrics } from './metrics.js';
import { decodeWriteRequestV1 } from './remote-write-v1.js';
import { decodeWriteRequestV2 } from './remote-write-v2.js';
import type { SeriesCache } from './series-cache.js';
import { type TenantResolver } from './tenant.js';
import { SnappyError, snappyDecode, snappyDecodedLength } from './snappy-block.js';
import { RemoteWriteDecodeError } from './wire-reader.js';

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

export type ProtocolVersion = '1.0' | '2.0';

/** Thrown before the pipeline runs: a status and a message. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The protocol of a request from its Content-Type (the 2.0 spec's negotiation): the `proto`
 * parameter names the message; plain `application/x-protobuf` (or none at all, as old senders
 * do) is 1.0. Anything else is 415.
 */
export function protocolOf(contentType: string | undefined): ProtocolVersion {
  if (contentType === undefined || contentType.trim() === '') return '1.0';
  const [media, ...params] = contentType.split(';').map((p) => p.trim());
  if (media!.toLowerCase() !== 'application/x-protobuf') throw new Refusal(415, `unsupported content type ${JSON.stringify(contentType)}: expected application/x-protobuf`);
  let proto = 'prometheus.WriteRequest';
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    if (p.slice(0, eq).trim().toLowerCase() === 'proto') proto = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  if (proto === 'prometheus.WriteRequest') return '1.0';
  if (proto === 'io.prometheus.write.v2.Request') return '2.0';
  throw new Refusal(415, `unsupported remote-write message type ${JSON.stringify(proto)}: expected prometheus.WriteRequest or io.prometheus.write.v2.Request`);
}

function tooLarge(max: number, size?: number): Refusal {
  const sizeText = size === undefined ? '' : ` of ${size} bytes`;
  return new Refusal(
    413,
    `the incoming push request has been rejected because its message size${sizeText} is larger than the allowed limit of ${max} bytes (err-kiln-distributor-max-write-message-size). To adjust the related limit, configure -${LIMIT_FLAGS.maxRecvMsgSize}, or contact your service administrator.`,
  );
}

/**
 * `cache`: the tenant's known label sets (series-cache.ts), used for 1.0 bodies. `into`: a buffer
 * to decompress into when long enough (the decoded request then points into it).
 */
export function decodeBody(version: ProtocolVersion, compressed: Uint8Array, maxSize: number, metrics?: DistributorMetrics, cache?: SeriesCache, into?: Buffer): DecodedRequest {
  let body: Buffer;
  try {
    // The announced size is checked first: a bomb is refused before anything is allocated.
    const { length } = snappyDecodedLength(compressed);
    if (length > maxSize) throw tooLarge(maxSize, length);
    body = snappyDecode(compressed, maxSize, into);
  } catch (e) {
    if (e instanceof SnappyError) throw new Refusal(400, `${e.message}; remote write bodies are snappy block format (not framed)`);
    throw e;
  }
  metrics?.receivedBytes.inc({ kind: 'decompressed' }, body.length);
  try {
    return version === '1.0' ? decodeWriteRequestV1(body, cache) : decodeWriteRequestV2(body);
  } catch (e) {
    if (e instanceof RemoteWriteDecodeError) {
      const message = version === '1.0' ? 'prometheus.WriteRequest' : 'io.prometheus.write.v2.Request';
      throw new Refusal(400, `failed to decode ${message}: ${e.message}`);
    }
    throw e;
  }
}

export interface PushHandlerOptions {
  maxRecvMsgSize: number;
  tenantOf: TenantResolver;
}

export function createPushHandler(distributor: TsdbDistributor, metrics: DistributorMetrics, opts: PushHandlerOptions) {
  return async (req: Req, res: Res): Promise<void> => {
    let version: ProtocolVersion | 'unknown' = 'unknown';
    let result: PushResult;
    try {
      if (req.method !== 'POST') throw new Refusal(405, `method ${req.method} not allowed; use POST`);
      version = protocolOf(req.headers['content-type']);
      const encoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
      // Senders must say snappy; an absent header is read as snappy too (as Prometheus does).
      if (encoding !== '' && encoding !== 'snappy') throw new Refusal(415, `unsupported content encoding ${JSON.stringify(encoding)}: remote write bodies are snappy-compressed`);
      const tenant = opts.tenantOf(req);
      let body: Uint8Array;
      try {
        body = await readBody(req, opts.maxRecvMsgSize);
      } catch (e) {
        if (e instanceof IngestError && e.status === 413) throw tooLarge(opts.maxRecvMsgSize);
        throw e;
      }
      result = await decodeAndPush(distributor, metrics, opts, version, tenant, body);
    } catch (e) {
      if (e instanceof Refusal || e instanceof IngestError) result = { status: e.status, message: e.message, samplesWritten: 0, histogramsWritten: 0, exemplarsWritten: 0 };
      else result = { status: 500, message: `internal error: ${(e as Error).message}`, samplesWritten: 0, histogramsWritten: 0, exemplarsWritten: 0 };
    }
    respond(res, version, result);
    metrics.requests.inc({ version, status_code: String(result.status) });
  };
}

// Bodies are decompressed into one buffer reused by every request (up to SCRATCH_MAX_BYTES;
// larger ones get their own): a request's decompressed body is read only while decodeAndPush
// runs, synchronously — the decoders copy what they keep (strings, sample words, cache keys)
// and push() reads the body before it returns — so the next request may overwrite it.
const SCRATCH_MAX_BYTES = 4 << 20;
let scratch = Buffer.allocUnsafe(64 * 1024);

function scratchFor(compressed: Uint8Array, maxSize: number): Buffer | undefined {
  let length: number;
  try {
    length = snappyDecodedLength(compressed).length;
  } catch {
    return undefined; // decodeBody reports it
  }
  if (length > SCRATCH_MAX_BYTES || length > maxSize) return undefined;
  if (length > scratch.length) scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX_BYTES, Math.max(length, 2 * scratch.length)));
  return scratch;
}

/**
 * Not async: the body and the decoded request are referenced from no frame that waits for the
 * WAL write, so they can die young (the distributor keeps only what it needs; distributor.ts).
 */
function decodeAndPush(distributor: TsdbDistributor, metrics: DistributorMetrics, opts: PushHandlerOptions, version: ProtocolVersion, tenant: string, body: Uint8Array): Promise<PushResult> {
  metrics.receivedBytes.inc({ kind: 'compressed' }, body.length);
  const decoded = decodeBody(version, body, opts.maxRecvMsgSize, metrics, distributor.seriesCache(tenant), scratchFor(body, opts.maxRecvMsgSize));
  const pushed = distributor.push(tenant, decoded);
  // The body's buffer belongs to the next request from here on.
  decoded.body = undefined;
  return pushed;
}

function respond(res: Res, version: ProtocolVersion | 'unknown', result: PushResult): void {
  if (res.headersSent) return;
  const headers: Record<string, string> = {};
  if (version === '2.0') {
    headers['x-prometheus-remote-write-samples-written'] = String(result.samplesWritten);
    headers['x-prometheus-remote-write-histograms-written'] = String(result.histogramsWritten);
    headers['x-prometheus-remote-write-exemplars-written'] = String(result.exemplarsWritten);
  }
  if (result.retryAfterSeconds !== undefined) headers['retry-after'] = String(result.retryAfterSeconds);
  if (result.status === 405) headers['allow'] = 'POST';
  if (result.status === 200) {
    // Mimir answers 200; the 2.0 spec recommends 204 (no body either way).
    res.writeHead(version === '2.0' ? 204 : 200, headers).end();
    return;
  }
  headers['content-type'] = 'text/plain; charset=utf-8';
  res.writeHead(result.status, headers).end(`${result.message ?? ''}\n`);
}

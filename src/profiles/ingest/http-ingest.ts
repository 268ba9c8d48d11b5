// POST /ingest and /pyroscope/ingest: Pyroscope's legacy HTTP ingestion, as
// the Pyroscope SDKs (e.g. @pyroscope/nodejs) use it.

import type http from 'node:http';
import type http2 from 'node:http2';
import { encodePprof } from '../pprof/encode.js';
import type { Distributor, SeriesToPush } from './distributor.js';
import { IngestError } from './errors.js';
import { parseLegacyIngest } from './legacy-ingest.js';
import { type TenancyOptions, resolveTenant } from './tenant.js';

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

/** How much of a rejected request body is read and discarded before the connection is closed. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

export interface HttpIngestOptions {
  tenancy: TenancyOptions;
  maxRecvMsgSize: number;
  maxProfileSizeBytes: number;
}

/**
 * Reads the body, refusing more than `max` bytes (413) and a broken stream (408).
 * A refused body goes on being read and discarded, up to DRAIN_LIMIT, as Go's
 * net/http does: the client can finish sending and read the answer, and the
 * connection stays usable. Past that the connection is closed. (Leaving a body
 * unread on an open keep-alive connection would hang the client that reuses it.)
 */
export function readBody(req: Req, max: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const refuse = (message: string) => {
      settled = true;
      chunks.length = 0;
      reject(new IngestError(413, `${message} (err-kiln-distributor-max-write-message-size)`, 'request_size_limit'));
      req.removeListener('data', onData);
      let drained = 0;
      req.on('data', (chunk: Buffer) => {
        drained += chunk.length;
        if (drained > DRAIN_LIMIT) req.socket?.destroy();
      });
      req.resume();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) refuse(`request body too large: more than ${max} bytes`);
      else chunks.push(chunk);
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      refuse(`request body too large: ${declared} bytes, limit ${max}`);
      return;
    }
    // on, not once: `settled` guards each handler, and once() wraps every listener in another closure.
    req.on('data', onData);
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    const broken = (e?: Error) => {
      if (settled) return;
      settled = true;
      reject(new IngestError(408, `error reading request body: ${e?.message ?? 'connection closed before the body ended'}`, 'request_read_error'));
    };
    req.on('error', broken);
    req.on('close', broken);
  });
}

function sendError(res: Res, err: IngestError & { retryAfterSeconds?: number }): void {
  if (res.headersSent) return;
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds);
  res.writeHead(err.status, headers);
  res.end(`${err.message}\n`);
}

export function createIngestHandler(distributor: Distributor, opts: HttpIngestOptions) {
  /**
   * Reads, parses and hands one request to the distributor; the returned
   * promise settles when the push is durable or rejected. Its frame (body,
   * parsed request) ends before that wait, see Distributor.push.
   */
  const receive = async (req: Req, url: URL): Promise<void> => {
    if (req.method !== 'POST') throw new IngestError(405, `method ${req.method} not allowed; use POST`, 'invalid_request');
    const tenantHeader = req.headers['x-scope-orgid'];
    const tenant = resolveTenant(Array.isArray(tenantHeader) ? tenantHeader[0] : tenantHeader, opts.tenancy);
    const body = await readBody(req, opts.maxRecvMsgSize);
    const ingest = parseLegacyIngest(
      { query: url.searchParams, contentType: req.headers['content-type'], body },
      { maxProfileBytes: opts.maxProfileSizeBytes },
      new Date(),
    );
    // Pyroscope answers an empty profile with 200 and stores nothing.
    if (ingest.profiles.length === 0) return;
    const hasService = ingest.labels.some(([n]) => n === 'service_name');
    const series: SeriesToPush[] = ingest.profiles.map((p) => {
      const labels: [string, string][] = [...ingest.labels];
      if (hasService) {
        if (!ingest.labels.some(([n]) => n === 'app_name')) labels.push(['app_name', p.serviceName]);
      } else {
        labels.push(['service_name', p.serviceName]);
      }
      labels.push(['pyroscope_spy', ingest.spyName]);
      if (p.metricName) labels.push(['__name__', p.metricName]);
      const bytes = p.bytes ?? encodePprof(p.profile!);
      return { labels, profiles: [{ bytes }] };
    });
    return distributor.push(tenant, series, BigInt(ingest.from.getTime()) * 1_000_000n);
  };

  return async (req: Req, res: Res, url: URL): Promise<void> => {
    try {
      await receive(req, url);
      res.writeHead(200).end();
    } catch (e) {
      sendError(res, e instanceof IngestError ? e : new IngestError(500, (e as Error).message, 'internal'));
    }
  };
}

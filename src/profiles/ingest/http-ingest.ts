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

export interface HttpIngestOptions {
  tenancy: TenancyOptions;
  maxRecvMsgSize: number;
  maxProfileSizeBytes: number;
}

/** Reads the body, refusing more than `max` bytes (413) and a broken stream (408). */
async function readBody(req: Req, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    throw new IngestError(413, `request body too large: ${declared} bytes, limit ${max} (err-kiln-distributor-max-write-message-size)`, 'request_size_limit');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) {
        throw new IngestError(413, `request body too large: more than ${max} bytes (err-kiln-distributor-max-write-message-size)`, 'request_size_limit');
      }
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof IngestError) throw e;
    throw new IngestError(408, `error reading request body: ${(e as Error).message}`, 'request_read_error');
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

function sendError(req: Req, res: Res, err: IngestError & { retryAfterSeconds?: number }): void {
  if (res.headersSent) return;
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds);
  // The rest of an over-size body was never read, so this HTTP/1.1 connection cannot
  // carry another request: `Connection: close` makes Node close it after the response.
  if (!req.readableEnded && req.httpVersionMajor === 1) headers.connection = 'close';
  res.writeHead(err.status, headers);
  res.end(`${err.message}\n`);
}

export function createIngestHandler(distributor: Distributor, opts: HttpIngestOptions) {
  return async (req: Req, res: Res, url: URL): Promise<void> => {
    try {
      if (req.method !== 'POST') throw new IngestError(405, `method ${req.method} not allowed; use POST`, 'invalid_request');
      const tenantHeader = req.headers['x-scope-orgid'];
      const tenant = resolveTenant(Array.isArray(tenantHeader) ? tenantHeader[0] : tenantHeader, opts.tenancy);
      const body = await readBody(req, opts.maxRecvMsgSize);
      const ingest = await parseLegacyIngest(
        { query: url.searchParams, contentType: req.headers['content-type'], body },
        { maxProfileBytes: opts.maxProfileSizeBytes },
        new Date(),
      );
      if (ingest.profiles.length === 0) {
        // Pyroscope answers an empty profile with 200 and stores nothing.
        res.writeHead(200).end();
        return;
      }
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
      await distributor.push(tenant, series, BigInt(ingest.from.getTime()) * 1_000_000n);
      res.writeHead(200).end();
    } catch (e) {
      sendError(req, res, e instanceof IngestError ? e : new IngestError(500, (e as Error).message, 'internal'));
    }
  };
}

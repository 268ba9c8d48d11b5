// POST /ingest and /pyroscope/ingest: Pyroscope's legacy HTTP ingestion, as
// the Pyroscope SDKs (e.g. @pyroscope/nodejs) use it.

import type http from 'node:http';
import type http2 from 'node:http2';
import type { BufferedHandler, BufferedRequest, Respond } from '../../server/lean-http1.js';
import { encodePprof } from '../pprof/encode.js';
import type { Distributor, SeriesToPush } from './distributor.js';
import { IngestError, asIngestError } from './errors.js';
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
    // What the listeners below need until the body is read. They stay on req
    // as long as it lives (a push's request until it is answered), so once
    // the promise settles they drop the chunks and the promise.
    let pending: { chunks: Buffer[]; resolve: (body: Uint8Array) => void; reject: (e: Error) => void } | undefined = { chunks: [], resolve, reject };
    let size = 0;
    const settle = () => {
      const p = pending;
      pending = undefined;
      return p;
    };
    const refuse = (message: string) => {
      settle()?.reject(new IngestError(413, `${message} (err-kiln-distributor-max-write-message-size)`, 'request_size_limit'));
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
      else pending?.chunks.push(chunk);
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      refuse(`request body too large: ${declared} bytes, limit ${max}`);
      return;
    }
    // on, not once: `pending` guards each handler, and once() wraps every listener in another closure.
    req.on('data', onData);
    req.on('end', () => {
      const p = settle();
      p?.resolve(p.chunks.length === 1 ? p.chunks[0]! : Buffer.concat(p.chunks, size));
    });
    const broken = (e?: Error) => {
      settle()?.reject(new IngestError(408, `error reading request body: ${e?.message ?? 'connection closed before the body ended'}`, 'request_read_error'));
    };
    req.on('error', broken);
    req.on('close', broken);
  });
}

/** Answers with the error's status and message (500 for an unexpected error). */
function answerError(respond: Respond, e: unknown): void {
  const err: IngestError & { retryAfterSeconds?: number } = asIngestError(e);
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds);
  respond(err.status, headers, `${err.message}\n`);
}

/** Answers on a Node http or http2 response, unless something already did. */
function nodeRespond(res: Res): Respond {
  return (status, headers, body) => {
    if (!res.headersSent) res.writeHead(status, headers).end(body ?? '');
  };
}

export interface IngestHandler {
  /** A request on Node's http or http2 server: reads its body (under maxRecvMsgSize) and handles it. */
  handle(req: Req, res: Res, url: URL): void;
  /** A POST whose body has been read (the lean HTTP/1.1 path checks the size first). */
  handleRead: BufferedHandler;
}

export function createIngestHandler(distributor: Distributor, opts: HttpIngestOptions): IngestHandler {
  /** Parses one request's body and hands it to the distributor; resolves when the push is durable or rejected. */
  const receive = (request: BufferedRequest, tenant: string): Promise<void> => {
    const contentType = request.headers['content-type'];
    const ingest = parseLegacyIngest(
      { query: request.url.searchParams, contentType: Array.isArray(contentType) ? contentType[0] : contentType, body: request.body },
      { maxProfileBytes: opts.maxProfileSizeBytes },
      new Date(),
    );
    // Pyroscope answers an empty profile with 200 and stores nothing.
    if (ingest.profiles.length === 0) return Promise.resolve();
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

  /**
   * Plain callbacks, not async functions: a push waits hundreds of
   * milliseconds for its segment, and every async frame or promise layer
   * between the socket and that wait (with the request, its URL and body)
   * would live as long, be copied by young-generation GCs and promoted. What
   * waits here is the answering function and the two callbacks that call it.
   */
  const handleRead: BufferedHandler = (request, respond) => {
    let pushed: Promise<void>;
    try {
      const tenantHeader = request.headers['x-scope-orgid'];
      const tenant = resolveTenant(Array.isArray(tenantHeader) ? tenantHeader[0] : tenantHeader, opts.tenancy);
      pushed = receive(request, tenant);
    } catch (e) {
      answerError(respond, e);
      return;
    }
    answerWhenSettled(pushed, respond);
  };

  return {
    handleRead,
    handle(req, res, url) {
      if (req.method !== 'POST') {
        answerError(nodeRespond(res), new IngestError(405, `method ${req.method} not allowed; use POST`, 'invalid_request'));
        return;
      }
      readBody(req, opts.maxRecvMsgSize).then(
        (body) => handleRead({ url, headers: req.headers, body }, nodeRespond(res)),
        (e: unknown) => answerError(nodeRespond(res), e),
      );
    },
  };
}

/** Answers a push once it settles. A function of its own so that its callbacks hold the answering function alone, not the request's scope. */
function answerWhenSettled(pushed: Promise<void>, respond: Respond): void {
  pushed.then(
    () => respond(200),
    (e: unknown) => answerError(respond, e),
  );
}

// Serves Connect, gRPC and gRPC-Web routes from a ConnectRouter on a Node
// request handler, like connect-node's connectNodeAdapter, with one change:
// a request body that is not valid protobuf is answered invalid_argument (400),
// as connect-go (Pyroscope) answers it, instead of connect-es's internal (500).
// Bad input must get a 4xx (DESIGN.md invariant 6).

import type http from 'node:http';
import type http2 from 'node:http2';
import { Code, type ConnectRouter, ConnectError, createConnectRouter } from '@connectrpc/connect';
import type { UniversalServerResponse } from '@connectrpc/connect/protocol';
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from '@connectrpc/connect-node';
import type { RequestHandler } from './http-server.js';

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

export interface ConnectHandlerOptions {
  routes: (router: ConnectRouter) => void;
  readMaxBytes: number;
  /** Requests for paths that are not RPCs. */
  fallback: (req: Req, res: Res) => void;
  onError: (err: unknown, path: string) => void;
}

const PARSE_ERROR = 'parse binary:';

export function createConnectHandler(opts: ConnectHandlerOptions): RequestHandler {
  const router = createConnectRouter({ readMaxBytes: opts.readMaxBytes, acceptCompression: [compressionGzip, compressionBrotli] });
  opts.routes(router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    const path = (req.url ?? '').split('?', 1)[0]!;
    const handler = handlers.get(path);
    if (!handler) {
      opts.fallback(req, res);
      return;
    }
    const nodeRes = res as http.ServerResponse;
    handler(universalRequestFromNodeRequest(req as http.IncomingMessage, nodeRes, undefined, undefined))
      .then(async (u) => universalResponseToNodeResponse(await parseErrorsAsInvalidArgument(u), nodeRes))
      .catch((e: unknown) => {
        if (ConnectError.from(e).code !== Code.Aborted) opts.onError(e, path);
      });
  };
}

function isParseError(message: string | null | undefined): boolean {
  if (!message) return false;
  try {
    return decodeURIComponent(message).startsWith(PARSE_ERROR);
  } catch {
    return message.startsWith(PARSE_ERROR);
  }
}

/** Rewrites connect-es's `internal: parse binary: …` into invalid_argument, for Connect and gRPC. */
async function parseErrorsAsInvalidArgument(u: UniversalServerResponse): Promise<UniversalServerResponse> {
  const contentType = u.header?.get('content-type') ?? '';
  if (u.status === 500 && contentType.startsWith('application/json') && u.body) {
    // A Connect unary error: a small JSON body, read whole before the status is written.
    const chunks: Uint8Array[] = [];
    for await (const c of u.body) chunks.push(c);
    const text = Buffer.concat(chunks);
    let err: { code?: string; message?: string } = {};
    try {
      err = JSON.parse(text.toString('utf8')) as typeof err;
    } catch {
      // Not a Connect error body: pass it on unchanged.
    }
    const fixed = err.code === 'internal' && isParseError(err.message);
    const body = fixed ? Buffer.from(JSON.stringify({ ...err, code: 'invalid_argument' })) : text;
    const header = new Headers(u.header);
    header.set('content-length', String(body.length));
    return { ...u, status: fixed ? 400 : u.status, header, body: (async function* () { yield body; })() };
  }
  if (contentType.startsWith('application/grpc') && !contentType.startsWith('application/grpc-web')) {
    const fix = (h: Headers | undefined) => {
      if (h?.get('grpc-status') === String(Code.Internal) && isParseError(h.get('grpc-message'))) h.set('grpc-status', String(Code.InvalidArgument));
    };
    fix(u.header);
    const inner = u.body;
    if (!inner) return u;
    // gRPC puts the status in trailers, which are filled in while the body is produced.
    return { ...u, body: (async function* () {
      yield* inner;
      fix(u.trailer);
    })() };
  }
  return u;
}

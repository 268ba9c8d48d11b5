// One TCP port for HTTP/1.1 and cleartext HTTP/2 (h2c, prior knowledge).
// Node's http2 server with allowHTTP1 does not fall back to HTTP/1.1 on
// plaintext (spec/ecosystem.md §6), so we peek at the first bytes of each
// connection: the HTTP/2 preface goes to the http2 server, the rest to http,
// or first to the lean HTTP/1.1 path for pushes (lean-http1.ts) when routes
// are given for it.

import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { KEEP_ALIVE_TIMEOUT_MS, LeanConnection, type LeanRoutes } from './lean-http1.js';

export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export interface DualServer {
  readonly port: number;
  /** For tests: the HTTP/1.1 connections the server tracks. */
  h1ConnectionsForTest(): number;
  /** Stops accepting connections and closes idle ones; resolves when all are closed. */
  close(graceMs: number): Promise<void>;
}

export async function listenDual(handler: RequestHandler, host: string, port: number, lean?: LeanRoutes): Promise<DualServer> {
  // HTTP/1.1 sockets and their requests in flight, so a shutdown can close
  // idle keep-alive connections at once and the others after their response.
  const h1Active = new Map<net.Socket, number>();
  /** HTTP/1.1 sockets on the lean path (until one is handed to Node's server). */
  const leanConnections = new Map<net.Socket, LeanConnection>();
  let closing = false;
  // One listener for every response, not a closure per request: a push's
  // response waits hundreds of milliseconds, and all it keeps alive is copied
  // by young-generation GCs.
  function onResponseClose(this: http.ServerResponse) {
    const socket = this.req.socket;
    const n = h1Active.get(socket);
    // A client that went away while its push waited closes the socket first,
    // which drops it from the map; counting it again would keep it there for good.
    if (n === undefined) return;
    h1Active.set(socket, n - 1);
    if (closing && n === 1) socket.destroySoon();
  }
  const h1 = http.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (req, res) => {
    const socket = req.socket;
    h1Active.set(socket, (h1Active.get(socket) ?? 0) + 1);
    if (closing) res.setHeader('connection', 'close');
    res.on('close', onResponseClose);
    handler(req, res);
  });
  // Node's default of 10 MB buffered per HTTP/2 session resets streams that carry
  // large profiles (NGHTTP2_ENHANCE_YOUR_CALM); request sizes and in-flight bytes
  // are bounded by the distributor's limits instead.
  const h2 = http2.createServer({ maxSessionMemory: 512 }, handler);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });

  function toNodeHttp1(socket: net.Socket): void {
    h1Active.set(socket, 0);
    h1.emit('connection', socket);
  }
  const leanHooks = {
    closing: () => closing,
    handOver(socket: net.Socket) {
      leanConnections.delete(socket);
      toNodeHttp1(socket);
    },
  };

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      h1Active.delete(socket);
      leanConnections.delete(socket);
    });
    socket.once('readable', function route() {
      const head: Buffer | null = socket.read(H2_PREFACE.length) ?? socket.read();
      if (head === null) {
        // Fewer bytes than asked and nothing buffered yet: wait for more.
        socket.once('readable', route);
        return;
      }
      socket.unshift(head);
      const isH2 = head.length >= 3 && H2_PREFACE.subarray(0, Math.min(head.length, H2_PREFACE.length)).equals(head.subarray(0, Math.min(head.length, H2_PREFACE.length)));
      if (isH2) h2.emit('connection', socket);
      else if (lean) leanConnections.set(socket, new LeanConnection(socket, lean, leanHooks));
      else toNodeHttp1(socket);
    });
  });

  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, host || undefined, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  const address = tcp.address() as net.AddressInfo;

  return {
    port: address.port,
    h1ConnectionsForTest: () => h1Active.size + leanConnections.size,
    async close(graceMs: number) {
      closing = true;
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      // Idle keep-alive connections are closed outright (as Go's Shutdown does);
      // busy ones after their response; whatever is left when the grace period ends is cut.
      for (const [socket, active] of h1Active) if (active === 0) socket.destroy();
      for (const [socket, connection] of leanConnections) if (connection.idle) socket.destroy();
      for (const s of sessions) s.close();
      // Not unref'd: it must keep the process alive until stragglers are cut.
      const timer = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}

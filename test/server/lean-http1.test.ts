// The lean HTTP/1.1 push path: what it serves itself, and that everything
// else reaches Node's http server intact, over real loopback sockets.

import type http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type DualServer, listenDual } from '../../src/server/http-server.js';
import { type BufferedRequest, type LeanRoutes, type Respond, parseHead } from '../../src/server/lean-http1.js';

const MAX_BODY = 1024 * 1024;

let server: DualServer | undefined;
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close(100);
  server = undefined;
});

interface Seen {
  lean: { request: BufferedRequest; respond: Respond }[];
  node: { method: string; url: string; body: string }[];
}

/**
 * A server whose lean route records each push and, unless `hold`, answers it
 * 200 at once; Node's handler answers everything it gets with "node <path>".
 */
async function startServer(opts: { hold?: boolean } = {}): Promise<Seen> {
  const seen: Seen = { lean: [], node: [] };
  const push = (request: BufferedRequest, respond: Respond) => {
    seen.lean.push({ request, respond });
    if (!opts.hold) respond(200);
  };
  const routes: LeanRoutes = { post: new Map([['/ingest', push]]), maxBodyBytes: MAX_BODY };
  const nodeHandler = (req: http.IncomingMessage | http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.node.push({ method: req.method!, url: req.url!, body: Buffer.concat(chunks).toString() });
      const text = `node ${req.url}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(text.length) }).end(text);
    });
  };
  server = await listenDual(nodeHandler as never, '127.0.0.1', 0, routes);
  return seen;
}

/** A raw client: writes bytes, collects everything the server sends. */
async function connect(): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  const socket = net.connect(server!.port, '127.0.0.1');
  sockets.push(socket);
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, received: () => data, closed };
}

const until = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
};

const push = (body: string, extra = '') => `POST /ingest?name=app HTTP/1.1\r\nHost: x\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** The HTTP responses in a byte stream, in order: status and body. */
function responses(stream: string): { status: number; headers: string; body: string }[] {
  const out = [];
  let rest = stream;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.slice(0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    const status = Number(head.split(' ')[1]);
    if (status === 100) {
      out.push({ status, headers: head, body: '' });
      rest = rest.slice(end + 4);
      continue;
    }
    out.push({ status, headers: head, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

describe('parseHead', () => {
  const routes: LeanRoutes = { post: new Map([['/ingest', () => undefined]]), maxBodyBytes: 100 };
  const head = (lines: string[]) => parseHead(lines.join('\r\n'), routes);
  const ok = ['POST /ingest?name=a%7Bb%3Dc%7D HTTP/1.1', 'Host: x', 'Content-Length: 5', 'X-Scope-OrgID:  tenant-1 ', 'Content-Type: binary/octet-stream'];

  it('takes a plain push: query, lower-case header names, trimmed values', () => {
    const h = head(ok)!;
    expect(h.url.searchParams.get('name')).toBe('a{b=c}');
    expect(h.length).toBe(5);
    expect(h.headers['x-scope-orgid']).toBe('tenant-1');
    expect(h.headers['content-type']).toBe('binary/octet-stream');
    expect(h.close).toBe(false);
    expect(head([...ok, 'Connection: keep-alive, close'])!.close).toBe(true);
    expect(head([...ok, 'Expect: 100-Continue'])!.expectContinue).toBe(true);
    expect(head(['POST /ingest HTTP/1.1', 'Host: x', 'Content-Length: 0'])!.length).toBe(0);
  });

  it.each([
    ['another method', ['GET /ingest HTTP/1.1', 'Host: x', 'Content-Length: 5']],
    ['HTTP/1.0', ['POST /ingest HTTP/1.0', 'Host: x', 'Content-Length: 5']],
    ['another path', ['POST /ingest/ HTTP/1.1', 'Host: x', 'Content-Length: 5']],
    ['an absolute URL', ['POST http://x/ingest HTTP/1.1', 'Host: x', 'Content-Length: 5']],
    ['two spaces in the request line', ['POST  /ingest HTTP/1.1', 'Host: x', 'Content-Length: 5']],
    ['no Content-Length', ['POST /ingest HTTP/1.1', 'Host: x']],
    ['a signed Content-Length', ['POST /ingest HTTP/1.1', 'Host: x', 'Content-Length: +5']],
    ['a body over the limit', ['POST /ingest HTTP/1.1', 'Host: x', 'Content-Length: 101']],
    ['a repeated header', [...ok, 'Content-Length: 5']],
    ['chunked', [...ok, 'Transfer-Encoding: chunked']],
    ['an upgrade', [...ok, 'Upgrade: h2c', 'Connection: Upgrade']],
    ['another expectation', [...ok, 'Expect: something']],
    ['no Host', ['POST /ingest HTTP/1.1', 'Content-Length: 5']],
    ['a space before the colon', [...ok, 'X-Bad : 1']],
    ['a line without a colon', [...ok, 'nonsense']],
    ['obsolete line folding', [...ok, ' folded']],
    ['a control character in a value', [...ok, 'X-Bad: a\x01b']],
    ['a bare LF', [...ok, 'X-Bad: a\nX-Other: b']],
  ])('leaves %s to Node', (_what, lines) => {
    expect(head(lines)).toBeUndefined();
  });
});

describe('lean HTTP/1.1 path', () => {
  it('serves pushes on a kept connection, one after another, with their bodies and headers', async () => {
    const seen = await startServer();
    const c = await connect();
    for (let i = 0; i < 3; i++) {
      c.socket.write(push(`body-${i}`, 'X-Scope-OrgID: t1\r\n'));
      await until(() => responses(c.received()).length === i + 1, `answer ${i}`);
    }
    expect(responses(c.received()).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(responses(c.received())[0]!.headers).toMatch(/\r\ndate: .+ GMT\r\n/);
    expect(seen.lean.map((p) => Buffer.from(p.request.body).toString())).toEqual(['body-0', 'body-1', 'body-2']);
    expect(seen.lean[0]!.request.headers['x-scope-orgid']).toBe('t1');
    expect(seen.lean[0]!.request.url.searchParams.get('name')).toBe('app');
    expect(seen.node).toEqual([]);
    expect(server!.h1ConnectionsForTest()).toBe(1);
  });

  it('reads a head and body that arrive a byte at a time', async () => {
    const seen = await startServer();
    const c = await connect();
    const bytes = Buffer.from(push('0123456789'.repeat(30)));
    for (const b of bytes) {
      c.socket.write(Buffer.of(b));
      await new Promise((r) => setImmediate(r));
    }
    await until(() => responses(c.received()).length === 1, 'the answer');
    expect(Buffer.from(seen.lean[0]!.request.body).toString()).toBe('0123456789'.repeat(30));
  });

  it('answers pipelined pushes in order, the next read only once the one before is answered', async () => {
    const seen = await startServer({ hold: true });
    const c = await connect();
    c.socket.write(push('first') + push('second'));
    await until(() => seen.lean.length === 1, 'the first push');
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.lean.length).toBe(1);
    seen.lean[0]!.respond(429, { 'retry-after': '3' }, 'slow down\n');
    await until(() => seen.lean.length === 2, 'the second push');
    seen.lean[1]!.respond(200);
    await until(() => responses(c.received()).length === 2, 'both answers');
    const [a, b] = responses(c.received());
    expect([a!.status, a!.body, b!.status]).toEqual([429, 'slow down\n', 200]);
    expect(a!.headers).toMatch(/\r\nretry-after: 3\r\n/);
    expect(Buffer.from(seen.lean[1]!.request.body).toString()).toBe('second');
  });

  it('answers 20,000 pipelined pushes sent in one write, in order', async () => {
    const seen = await startServer();
    const c = await connect();
    const n = 20_000;
    c.socket.write(Array.from({ length: n }, (_, i) => push(String(i))).join(''));
    await until(() => seen.lean.length === n && responses(c.received()).length === n, 'all answers');
    expect(seen.lean.every((p, i) => Buffer.from(p.request.body).toString() === String(i))).toBe(true);
  });

  it('sends 100 Continue to a client that expects it, then reads the body', async () => {
    const seen = await startServer();
    const c = await connect();
    c.socket.write('POST /ingest HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n');
    await until(() => c.received().startsWith('HTTP/1.1 100 Continue\r\n\r\n'), '100 Continue');
    c.socket.write('body');
    await until(() => responses(c.received()).length === 2, 'the answer');
    expect(responses(c.received())[1]!.status).toBe(200);
    expect(Buffer.from(seen.lean[0]!.request.body).toString()).toBe('body');
  });

  it('closes the connection after answering a request that asked for it', async () => {
    await startServer();
    const c = await connect();
    c.socket.write(push('x', 'Connection: close\r\n'));
    await c.closed;
    expect(responses(c.received())[0]!.headers).toMatch(/\r\nconnection: close\r\n/);
  });

  it('hands a chunked push to Node, which reads it', async () => {
    const seen = await startServer();
    const c = await connect();
    c.socket.write('POST /ingest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    await until(() => responses(c.received()).length === 1, 'the answer');
    expect(seen.node).toEqual([{ method: 'POST', url: '/ingest', body: 'hello' }]);
    expect(seen.lean).toEqual([]);
  });

  it('hands the connection to Node at its first other request, with the bytes pipelined behind it', async () => {
    const seen = await startServer();
    const c = await connect();
    c.socket.write(push('one'));
    await until(() => responses(c.received()).length === 1, 'the push');
    // A GET and a push behind it in one write: Node serves both, in order.
    c.socket.write(`GET /ready HTTP/1.1\r\nHost: x\r\n\r\n${push('two')}`);
    await until(() => responses(c.received()).length === 3, 'both answers');
    expect(responses(c.received()).map((r) => [r.status, r.body])).toEqual([[200, ''], [200, 'node /ready'], [200, 'node /ingest?name=app']]);
    expect(seen.node.map((n) => n.body)).toEqual(['', 'two']);
    expect(seen.lean.length).toBe(1);
    expect(server!.h1ConnectionsForTest()).toBe(1);
  });

  it('leaves malformed and oversized heads to Node, which refuses them', async () => {
    await startServer();
    const junk = await connect();
    junk.socket.write('\x16\x03\x01 not http at all\r\n\r\n');
    const big = await connect();
    big.socket.write(`POST /ingest HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nContent-Length: 1\r\n\r\nx`);
    await Promise.all([junk.closed, big.closed]);
    expect(junk.received()).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(big.received()).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large/);
  });

  it('answers 500 when the route throws, and keeps serving the connection', async () => {
    const routes: LeanRoutes = {
      post: new Map([['/ingest', (r: BufferedRequest, respond: Respond) => (r.body.length === 0 ? respond(200) : (() => { throw new Error('boom'); })())]]),
      maxBodyBytes: MAX_BODY,
    };
    server = await listenDual(() => undefined, '127.0.0.1', 0, routes);
    const c = await connect();
    c.socket.write(push('x') + push(''));
    await until(() => responses(c.received()).length === 2, 'both answers');
    expect(responses(c.received()).map((r) => r.status)).toEqual([500, 200]);
  });

  it('forgets a client that left while its push waited, and answering it later is harmless', async () => {
    const seen = await startServer({ hold: true });
    const c = await connect();
    c.socket.write(push('x'));
    await until(() => seen.lean.length === 1, 'the push');
    c.socket.destroy();
    await until(() => server!.h1ConnectionsForTest() === 0, 'the connection to be forgotten');
    seen.lean[0]!.respond(200);
    expect(server!.h1ConnectionsForTest()).toBe(0);
  });

  it('on shutdown closes idle connections at once and busy ones after their answer', async () => {
    const seen = await startServer({ hold: true });
    const idle = await connect();
    idle.socket.write(push('answered'));
    await until(() => seen.lean.length === 1, 'the first push');
    seen.lean[0]!.respond(200);
    await until(() => responses(idle.received()).length === 1, 'its answer');
    const busy = await connect();
    busy.socket.write(push('waiting'));
    await until(() => seen.lean.length === 2, 'the second push');
    expect(server!.h1ConnectionsForTest()).toBe(2);
    const closing = server!.close(5_000);
    await idle.closed;
    expect(busy.socket.destroyed).toBe(false);
    seen.lean[1]!.respond(200);
    await busy.closed;
    await closing;
    server = undefined;
    const [answer] = responses(busy.received());
    expect(answer!.status).toBe(200);
    expect(answer!.headers).toMatch(/\r\nconnection: close\r\n/);
  });
});

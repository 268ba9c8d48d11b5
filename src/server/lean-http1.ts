// A lean HTTP/1.1 path for pushes. A push waits hundreds of milliseconds for
// its segment, and while it waits Node's http server keeps an IncomingMessage,
// a ServerResponse and their streams' state per request, which young-generation
// GCs copy and promote: on the ingest benchmark's load that server cost about
// twice the CPU per request of reading the same requests off the socket here.
//
// This path serves only the plain shape every push SDK sends: HTTP/1.1
// `POST <listed path>` with a Content-Length within the limit. It reads the
// whole body, hands it to the route and writes the route's answer. The first
// request on a connection that is anything else (another method or path,
// chunked, an upgrade, odd or oversized headers, a body over the limit) is
// handed, with the connection and every byte not yet used, to Node's http
// server, which serves that connection from then on, errors included. So this
// file parses nothing that it does not also accept.

import http from 'node:http';
import type net from 'node:net';

/** A request whose body has been read. Header names are lower case. */
export interface BufferedRequest {
  url: URL;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Uint8Array;
}

/** Answers a request (once): status, headers, body text. */
export type Respond = (status: number, headers?: Readonly<Record<string, string>>, body?: string) => void;

export type BufferedHandler = (request: BufferedRequest, respond: Respond) => void;

export interface LeanRoutes {
  /** Handlers of `POST <path>` by exact path (other spellings go to Node's server). */
  post: ReadonlyMap<string, BufferedHandler>;
  /** A larger declared body goes to Node's server, whose handler refuses it. */
  maxBodyBytes: number;
}

/** What the connection needs from the server it belongs to. */
export interface LeanServerHooks {
  /** Set once the server stops: answers close their connection. */
  closing(): boolean;
  /** Takes over a connection (Node's http server), its unread bytes already unshifted. */
  handOver(socket: net.Socket): void;
}

/** Node's default --max-http-header-size: a longer head goes to Node, which answers 431. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Idle and slow connections are closed after this long (Node's server in listenDual keeps idle ones as long). */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Bytes buffered behind a request that waits for its answer before the socket is paused. */
const MAX_BUFFERED_WHILE_WAITING = 64 * 1024;

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n');
const REQUEST_LINE = /^POST (\/[\x21-\x7e]*) HTTP\/1\.1$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters Node rejects in a header value (tab is allowed). */
// eslint-disable-next-line no-control-regex -- finding them is the point
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

/** A parsed head this path serves. */
interface Head {
  handler: BufferedHandler;
  url: URL;
  headers: Record<string, string>;
  length: number;
  close: boolean;
  expectContinue: boolean;
}

/**
 * Parses a request head (without its final blank line); undefined when this
 * path does not serve it and Node's server must.
 */
export function parseHead(text: string, routes: LeanRoutes): Head | undefined {
  const lines = text.split('\r\n');
  const target = REQUEST_LINE.exec(lines[0]!)?.[1];
  if (target === undefined) return undefined;
  const q = target.indexOf('?');
  const handler = routes.post.get(q < 0 ? target : target.slice(0, q));
  if (!handler) return undefined;
  // Null prototype: a header named __proto__ is data like any other.
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    // A repeated header, a bare CR or LF, obsolete line folding: Node decides.
    if (!TOKEN.test(name) || BAD_VALUE.test(value) || name in headers) return undefined;
    headers[name] = value;
  }
  const declared = headers['content-length'];
  if (declared === undefined || !/^\d{1,15}$/.test(declared) || Number(declared) > routes.maxBodyBytes) return undefined;
  if (headers.host === undefined || headers['transfer-encoding'] !== undefined || headers.upgrade !== undefined) return undefined;
  const expect = headers.expect?.toLowerCase();
  if (expect !== undefined && expect !== '100-continue') return undefined;
  let close = false;
  for (const option of (headers.connection ?? '').split(',')) {
    const o = option.trim().toLowerCase();
    if (o === 'close') close = true;
    else if (o !== 'keep-alive' && o !== '') return undefined;
  }
  return { handler, url: new URL(target, 'http://kiln'), headers, length: Number(declared), close, expectContinue: expect !== undefined };
}

/** One HTTP/1.1 connection on the lean path, one request at a time. */
export class LeanConnection {
  /** Bytes received and not yet used, from the start of the next request. */
  private unread: Buffer | null = null;
  /** How far `unread` was searched for the end of the head. */
  private scanned = 0;
  /** The request whose body is arriving, and its body so far. */
  private head: Head | undefined;
  private body: Buffer | undefined;
  private bodyAt = 0;
  /** A request is with its handler. */
  private waiting = false;
  /** Within readRequests: an answer given synchronously lets its loop go on, rather than recursing. */
  private reading = false;
  /** Closed or handed over: nothing more is read here. */
  private done = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly routes: LeanRoutes,
    private readonly hooks: LeanServerHooks,
  ) {
    socket.on('data', this.onData);
    socket.on('error', onSocketError);
    socket.on('timeout', this.onTimeout);
    socket.setTimeout(KEEP_ALIVE_TIMEOUT_MS);
    socket.resume();
  }

  /** Between requests, nothing received: a shutdown may close it at once. */
  get idle(): boolean {
    return !this.waiting && this.head === undefined && this.unread === null;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.done) return;
    if (this.head) {
      const take = Math.min(chunk.length, this.head.length - this.bodyAt);
      chunk.copy(this.body!, this.bodyAt, 0, take);
      this.bodyAt += take;
      if (take < chunk.length) this.unread = chunk.subarray(take);
      if (this.bodyAt === this.head.length) {
        const head = this.head;
        this.head = undefined;
        this.dispatch(head, this.body!);
        this.body = undefined;
      }
    } else {
      this.unread = this.unread === null ? chunk : Buffer.concat([this.unread, chunk]);
    }
    if (!this.waiting) this.readRequests();
    else if (this.unread !== null && this.unread.length > MAX_BUFFERED_WHILE_WAITING) this.socket.pause();
  };

  private readonly onTimeout = (): void => {
    // A request with its handler is answered in its own time (a segment's flush has its own timeouts).
    if (!this.waiting) this.socket.destroy();
  };

  /** Reads the requests in `unread`, while none waits for its answer. */
  private readRequests(): void {
    if (this.reading) return;
    this.reading = true;
    try {
      this.readRequestsNow();
    } finally {
      this.reading = false;
    }
  }

  private readRequestsNow(): void {
    while (this.unread !== null && !this.waiting && !this.done) {
      const buf = this.unread;
      const end = buf.indexOf(HEAD_END, Math.max(0, this.scanned - 3));
      if (end < 0) {
        this.scanned = buf.length;
        if (buf.length > MAX_HEAD_BYTES) this.handOverConnection();
        return;
      }
      const head = end > MAX_HEAD_BYTES ? undefined : parseHead(buf.toString('latin1', 0, end), this.routes);
      if (!head) return this.handOverConnection();
      this.scanned = 0;
      const rest = buf.subarray(end + HEAD_END.length);
      if (rest.length >= head.length) {
        this.unread = rest.length > head.length ? rest.subarray(head.length) : null;
        this.dispatch(head, rest.subarray(0, head.length));
      } else {
        if (head.expectContinue) this.socket.write(CONTINUE);
        // Its own buffer: the body outlives the chunks it arrives in.
        this.body = Buffer.allocUnsafeSlow(head.length);
        rest.copy(this.body);
        this.bodyAt = rest.length;
        this.head = head;
        this.unread = null;
      }
    }
  }

  private dispatch(head: Head, body: Uint8Array): void {
    this.waiting = true;
    const respond = this.responder(head.close);
    try {
      head.handler({ url: head.url, headers: head.headers, body }, respond);
    } catch {
      respond(500, { 'content-type': 'text/plain' }, 'internal error\n');
    }
  }

  /**
   * The answering function of a request: it waits as long as the push does,
   * so it holds a flag, not the request's head (its URL and headers would be
   * copied by young-generation GCs and promoted, for every push waiting).
   */
  private responder(closeRequested: boolean): Respond {
    let answered = false;
    return (status, headers, text) => {
      if (answered) return;
      answered = true;
      this.answer(status, headers, text, closeRequested);
    };
  }

  private answer(status: number, headers: Readonly<Record<string, string>> | undefined, text: string | undefined, closeRequested: boolean): void {
    const socket = this.socket;
    // The client left while its request waited.
    if (socket.destroyed || !socket.writable) return;
    const close = closeRequested || this.hooks.closing();
    refreshDate();
    socket.write(status === 200 && !headers && !text && !close ? okBytes : response(status, headers, text ?? '', close));
    this.waiting = false;
    if (close) {
      this.done = true;
      socket.end();
      return;
    }
    if (socket.isPaused()) socket.resume();
    this.readRequests();
  }

  /** Gives the connection, from the request at hand, to Node's http server. */
  private handOverConnection(): void {
    this.done = true;
    const socket = this.socket;
    socket.removeListener('data', this.onData);
    socket.removeListener('error', onSocketError);
    socket.removeListener('timeout', this.onTimeout);
    socket.setTimeout(0);
    socket.pause();
    if (this.unread !== null) socket.unshift(this.unread);
    this.unread = null;
    this.hooks.handOver(socket);
    socket.resume();
  }
}

/** Resets and broken pipes end the connection; its socket's close does the bookkeeping. */
function onSocketError(this: net.Socket): void {
  this.destroy();
}

/** The Date header's value, made once a second as Node does, and the bytes of a bare 200 on a kept connection (the answer to nearly every push). */
let dateSecond = -1;
let dateValue = '';
let okBytes = Buffer.alloc(0);

function refreshDate(): void {
  const second = Math.floor(Date.now() / 1000);
  if (second === dateSecond) return;
  dateSecond = second;
  dateValue = new Date(second * 1000).toUTCString();
  okBytes = Buffer.from(response(200, undefined, '', false), 'latin1');
}

/** A response's text; refreshDate() first. */
function response(status: number, headers: Readonly<Record<string, string>> | undefined, text: string, close: boolean): string {
  let head = `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Unknown'}\r\ndate: ${dateValue}\r\n`;
  for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
  head += close ? 'connection: close\r\n' : `connection: keep-alive\r\nkeep-alive: timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}\r\n`;
  return `${head}content-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

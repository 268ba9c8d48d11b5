// A loopback remote-write receiver for tests: records every request (headers, decoded series)
// and answers what the test's responder says (204 by default).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeWriteRequest, type RemoteWriteSeries } from '../../../src/profiles/exporter/remote-write-encoding.js';
import { snappyUncompress } from '../../../src/profiles/exporter/snappy.js';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Uint8Array;
  series: RemoteWriteSeries[];
}

export interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Destroy the socket instead of answering (a network error for the sender). */
  destroy?: boolean;
}

export type Responder = (req: ReceivedRequest, n: number) => Answer;

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  respond: Responder;
  close(): Promise<void>;
}

export async function startReceiver(respond: Responder = () => ({ status: 204 })): Promise<Receiver> {
  const receiver: Receiver = { url: '', requests: [], respond, close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = new Uint8Array(Buffer.concat(chunks));
      let series: RemoteWriteSeries[] = [];
      try {
        series = decodeWriteRequest(snappyUncompress(body, 64 * 1024 * 1024));
      } catch {
        // The test asserts on what arrived; an undecodable body shows as no series.
      }
      const rec: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, series };
      receiver.requests.push(rec);
      const answer = receiver.respond(rec, receiver.requests.length);
      if (answer.destroy) {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  receiver.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

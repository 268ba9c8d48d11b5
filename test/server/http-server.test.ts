// The dual HTTP/1.1 + h2c listener's connection bookkeeping, over real
// loopback sockets.

import type http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type DualServer, listenDual } from '../../src/server/http-server.js';

let server: DualServer | undefined;

afterEach(async () => {
  await server?.close(100);
  server = undefined;
});

/** A server whose handler holds every response until the test answers it. */
async function holdingServer(): Promise<{ server: DualServer; held: http.ServerResponse[]; arrived: () => Promise<void> }> {
  const held: http.ServerResponse[] = [];
  let wake: () => void = () => undefined;
  const s = await listenDual(
    (_req, res) => {
      held.push(res as http.ServerResponse);
      wake();
    },
    '127.0.0.1',
    0,
  );
  const arrived = () => new Promise<void>((resolve) => (held.length > 0 ? resolve() : (wake = resolve)));
  return { server: s, held, arrived };
}

function rawRequest(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi');
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('listenDual', () => {
  it('forgets a connection whose client left before its response was sent', async () => {
    const h = await holdingServer();
    server = h.server;
    const client = await rawRequest(server.port);
    await h.arrived();
    expect(server.h1ConnectionsForTest()).toBe(1);
    // The client gives up while its request waits (an SDK's timeout), then the server answers.
    client.destroy();
    const res = h.held[0]!;
    await until(() => res.socket === null || res.socket.destroyed);
    res.writeHead(200).end();
    await until(() => server!.h1ConnectionsForTest() === 0);
    expect(server.h1ConnectionsForTest()).toBe(0);
  });

  it('keeps counting a connection that stays open across its responses', async () => {
    const h = await holdingServer();
    server = h.server;
    const client = await rawRequest(server.port);
    const answered = new Promise<string>((resolve) => client.once('data', (d) => resolve(d.toString())));
    await h.arrived();
    h.held[0]!.writeHead(200).end();
    expect(await answered).toMatch(/^HTTP\/1\.1 200/);
    // Answered but open (keep-alive): still tracked, idle.
    expect(server.h1ConnectionsForTest()).toBe(1);
    client.destroy();
    await until(() => server!.h1ConnectionsForTest() === 0);
    expect(server.h1ConnectionsForTest()).toBe(0);
  });
});

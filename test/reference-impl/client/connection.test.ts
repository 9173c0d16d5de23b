// The SDK's connection against a fake provider: replies matched by `re` (PROTO-012) and a provider
// frame that violates its schema surfaced as a ParleyError, not a crash (spec/framing.md).
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { WebSocketServer, type WebSocket } from 'ws';
import { Connection } from '../../../reference-impl/client/connection.ts';
import type { ParleyError } from '../../../reference-impl/client/errors.ts';

describe('client connection', () => {
  let server: WebSocketServer;
  let url: string;
  let onFrame: (socket: WebSocket, frame: Record<string, unknown>) => void;

  beforeEach(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('connection', (socket) =>
      socket.on('message', (data) =>
        onFrame(socket, JSON.parse(data.toString()) as Record<string, unknown>),
      ),
    );
  });
  afterEach(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise((r) => server.close(r));
  });

  it('matches replies to requests by re even when they arrive in reverse order', async () => {
    const held: { socket: WebSocket; id: unknown }[] = [];
    onFrame = (socket, frame) => {
      held.push({ socket, id: frame.id });
      if (held.length === 2) {
        for (const h of held.reverse())
          h.socket.send(JSON.stringify({ v: 1, type: 'pong', re: h.id }));
      }
    };
    const connection = await Connection.open(url, { requestTimeoutMs: 2000 });
    const [a, b] = await Promise.all([
      connection.request('ping', { type: 'ping' }),
      connection.request('ping', { type: 'ping' }),
    ]);
    expect(a.re).to.not.equal(b.re);
    connection.close();
  });

  it('rejects a request with SCHEMA_VIOLATION when the provider’s reply violates its schema', async () => {
    onFrame = (socket, frame) =>
      socket.send(JSON.stringify({ v: 1, type: 'pong', re: frame.id, smuggled: true }));
    const connection = await Connection.open(url, { requestTimeoutMs: 2000 });
    let error: ParleyError | undefined;
    await connection.request('ping', { type: 'ping' }).catch((e: ParleyError) => (error = e));
    expect(error?.code).to.equal('SCHEMA_VIOLATION');
    expect(error?.pointer).to.equal('/smuggled');
    expect(connection.isOpen).to.equal(true);
    connection.close();
  });

  it('reports a malformed push as a problem and keeps the connection open', async () => {
    onFrame = (socket, frame) => {
      socket.send(JSON.stringify({ v: 1, type: 'message', id: 'd1', body: 42 }));
      socket.send('not json');
      socket.send(JSON.stringify({ v: 1, type: 'pong', re: frame.id }));
    };
    const connection = await Connection.open(url, { requestTimeoutMs: 2000 });
    const problems: ParleyError[] = [];
    connection.on('problem', (e) => problems.push(e));
    await connection.request('ping', { type: 'ping' });
    expect(problems.map((p) => p.code)).to.deep.equal(['SCHEMA_VIOLATION', 'BAD_JSON']);
    connection.close();
  });

  it('rejects pending requests with UNAVAILABLE when the provider drops the connection', async () => {
    onFrame = (socket) => socket.terminate();
    const connection = await Connection.open(url, { requestTimeoutMs: 2000 });
    let error: ParleyError | undefined;
    await connection.request('ping', { type: 'ping' }).catch((e: ParleyError) => (error = e));
    expect(error?.code).to.equal('UNAVAILABLE');
  });

  it('refuses to send a frame larger than the advertised maxFrameBytes', async () => {
    onFrame = () => undefined;
    const connection = await Connection.open(url, { requestTimeoutMs: 2000, maxFrameBytes: 64 });
    let error: ParleyError | undefined;
    await connection
      .request('report', {
        type: 'report',
        address: 'mallory@chat.example',
        reason: 'other',
        comment: 'x'.repeat(100),
      })
      .catch((e: ParleyError) => (error = e));
    expect(error?.code).to.equal('FRAME_TOO_LARGE');
    connection.close();
  });
});

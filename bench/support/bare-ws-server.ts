/**
 * The baseline for connection memory: a bare `ws` server on node:http that accepts WebSocket
 * connections on loopback and holds them, with no protocol, no validation and no store. Run in its
 * own process (`node --import tsx bench/support/bare-ws-server.ts`); it logs the same JSON
 * `listening` line as `parley serve`, and exits on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

const held = new Set<WebSocket>();
const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  held.add(ws);
  ws.on('error', () => undefined);
  ws.on('close', () => held.delete(ws));
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stderr.write(`${JSON.stringify({ event: 'listening', port })}\n`);
});
process.once('SIGTERM', () => {
  for (const ws of held) ws.terminate();
  wss.close();
  server.close(() => process.exit(0));
});

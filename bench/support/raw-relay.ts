/**
 * The relay benchmark's baseline: a minimal `ws` forwarder with no validation, no crypto checks and
 * no persistence. A client names itself in the URL (`/?as=<address>`); a `message.send` is answered
 * `message.accepted` and its body forwarded as a `message` push to the connection of `to`, if any;
 * a `message.ack` is answered `message.acked`. Run as its own process:
 * `node --import tsx bench/support/raw-relay.ts`; it logs `{"event":"listening","port":N}` on stderr.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

interface SendFrame {
  type: string;
  id?: string;
  to?: string;
  deliveryIds?: unknown[];
  messages?: { type: string; body: string }[];
}

const byAddress = new Map<string, WebSocket>();
let seq = 0;

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const as = new URL(req.url ?? '/', 'http://localhost').searchParams.get('as') ?? '';
  byAddress.set(as, ws);
  ws.on('close', () => {
    if (byAddress.get(as) === ws) byAddress.delete(as);
  });
  ws.on('message', (data) => {
    const f = JSON.parse(String(data)) as SendFrame;
    if (f.type === 'message.send') {
      const messageId = `m.${++seq}`;
      const now = Date.now();
      ws.send(
        JSON.stringify({
          v: 1,
          type: 'message.accepted',
          re: f.id,
          messageId,
          serverTimestamp: now,
          duplicate: false,
        }),
      );
      const m = f.messages?.[0];
      byAddress.get(f.to ?? '')?.send(
        JSON.stringify({
          v: 1,
          type: 'message',
          id: `d.${seq}`,
          messageId,
          from: as,
          fromDevice: 1,
          ciphertextType: m?.type,
          body: m?.body,
          serverTimestamp: now,
        }),
      );
    } else if (f.type === 'message.ack') {
      ws.send(
        JSON.stringify({ v: 1, type: 'message.acked', re: f.id, count: f.deliveryIds?.length }),
      );
    }
  });
});
wss.on('listening', () => {
  const { port } = wss.address() as AddressInfo;
  process.stderr.write(`${JSON.stringify({ event: 'listening', port })}\n`);
});
process.once('SIGTERM', () => process.exit(0));

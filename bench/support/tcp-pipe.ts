/**
 * The floor of any proxy written in Node, for bench:proxy: a bare TCP pipe on loopback that connects
 * each accepted socket to the upstream port and pipes the two both ways (TCP_NODELAY on both),
 * reading nothing, signing nothing, logging nobody in. Run in its own process
 * (`node --import tsx bench/support/tcp-pipe.ts <upstream port>`); it logs the same JSON `listening`
 * line as `parley serve`, and exits on SIGTERM.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

const upstreamPort = Number(process.argv[2]);
if (!Number.isInteger(upstreamPort) || upstreamPort <= 0)
  throw new Error('usage: tcp-pipe.ts <upstream port>');
const open = new Set<Socket>();
const server = createServer((client) => {
  const upstream = connect({ host: '127.0.0.1', port: upstreamPort });
  for (const socket of [client, upstream]) {
    socket.setNoDelay(true);
    open.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      open.delete(socket);
      client.destroy();
      upstream.destroy();
    });
  }
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stderr.write(`${JSON.stringify({ event: 'listening', port })}\n`);
});
process.once('SIGTERM', () => {
  for (const socket of open) socket.destroy();
  server.close(() => process.exit(0));
});

// Tests of the transport as the runner uses it (conformance/transport/peer.ts, target.ts): every
// received frame is schema-checked and a fault fails the case; replies match by `re`; probes.
import { expect } from 'chai';
import { WebSocketServer } from 'ws';
import { defineCase } from '../../../conformance/runner/case.ts';
import { runCases } from '../../../conformance/runner/run.ts';
import { probe } from '../../../conformance/transport/target.ts';
import { fakeTarget, validator } from './support.ts';

/** A fake provider answering every request with `reply(request)`. */
async function fakeServer(
  reply: (req: Record<string, unknown>) => unknown[],
): Promise<{ url: string; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  wss.on('connection', (ws) =>
    ws.on('message', (data) => {
      for (const frame of reply(JSON.parse(String(data)) as Record<string, unknown>))
        ws.send(JSON.stringify(frame));
    }),
  );
  const port = (wss.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}/parley/v1`,
    close: () => new Promise((r) => wss.close(() => r())),
  };
}

const greet = defineCase({
  id: 'PROTO-019-greet',
  title: 'hello is answered',
  requirements: ['PROTO-019'],
  level: 'MUST',
  quote: 'q',
  sends: 'hello, ping',
  async run({ world }) {
    const { peer } = await world.greeted('alice');
    await peer.request('ping');
  },
});

describe('conformance transport', () => {
  it('fails a case whose target sends a frame that breaks its schema, naming the fault', async () => {
    const server = await fakeServer((req) =>
      req.type === 'hello'
        ? [{ v: 1, type: 'welcome', re: req.id, version: 1 }]
        : [
            { v: 1, type: 'pong', re: req.id },
            { v: 1, type: 'error', code: 'NO_SUCH_CODE', message: 'x' },
          ],
    );
    try {
      const target = { ...(await fakeTarget()), url: server.url };
      const end = await runCases([greet], { target, validator, seed: 1 });
      const [r] = end.results;
      expect(r).to.include({ outcome: 'fail', failedRequirement: 'PROTO-019' });
      expect(r!.schemaFaults.map((f) => f.type)).to.include.members(['welcome']);
      expect(r!.actual).to.match(/welcome/);
      expect(r!.transcript.some((t) => t.dir === 'received')).to.equal(true);
    } finally {
      await server.close();
    }
  });

  it('matches replies by re whatever their order of arrival', async () => {
    const server = await fakeServer((req) =>
      req.type === 'hello'
        ? []
        : [
            { v: 1, type: 'pong', re: 'other' },
            { v: 1, type: 'pong', re: req.id },
          ],
    );
    try {
      const target = { ...(await fakeTarget()), url: server.url };
      const c = defineCase({
        ...greet,
        id: 'PROTO-012-re',
        async run({ world }) {
          const peer = await world.raw('alice');
          peer.send({ v: 1, type: 'ping', id: 'other' }); // so that re "other" names a request
          const reply = await peer.request('ping');
          if (reply.re !== 'alice.1') throw new Error(`matched ${String(reply.re)}`);
        },
      });
      const end = await runCases([c], { target, validator, seed: 1 });
      expect(end.results[0]!.outcome).to.equal('pass');
    } finally {
      await server.close();
    }
  });

  it('fails PROTO-051 when a frame answers a request never sent on that connection', async () => {
    const server = await fakeServer((req) =>
      req.type === 'hello' ? [] : [{ v: 1, type: 'pong', re: `${String(req.id)}.x` }],
    );
    try {
      const target = { ...(await fakeTarget()), url: server.url };
      const c = defineCase({
        ...greet,
        id: 'PROTO-010-x',
        async run({ world }) {
          const peer = await world.raw('alice');
          peer.send({ v: 1, type: 'ping', id: 'p1' });
          await peer.next((f) => f.type === 'pong');
        },
      });
      const [r] = (await runCases([c], { target, validator, seed: 1 })).results;
      expect(r).to.include({ outcome: 'fail', failedRequirement: 'PROTO-051' });
      expect(r!.actual).to.equal('pong: re p1.x names no request sent on this connection');
    } finally {
      await server.close();
    }
  });

  it('probes a listening target as reachable and a closed port as not', async () => {
    const server = await fakeServer(() => []);
    expect(await probe(server.url, validator, 1000)).to.equal(true);
    await server.close();
    expect(await probe(server.url, validator, 1000)).to.equal(false);
  });
});

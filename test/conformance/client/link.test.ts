// Tests of the driver protocol's suite end (conformance/client/link.ts, protocol.ts): framing,
// matching answers to requests, validation of everything a driver writes, and a driver that is
// silent, speaks another protocol or dies: each a harness error, never a result.
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { DriverLink, DriverRefusal, spawnDriver } from '../../../conformance/client/link.ts';
import { DRIVER_PROTOCOL_VERSION } from '../../../conformance/client/protocol.ts';
import { HarnessError, HarnessTimeout } from '../../../conformance/runner/signals.ts';

const READY = {
  event: 'ready',
  protocol: DRIVER_PROTOCOL_VERSION,
  driver: { name: 'fake', version: '1' },
};

/** A link to a fake driver: `requests` collects what the suite wrote; `say` writes driver lines. */
function fakeDriver(): {
  link: DriverLink;
  requests: Record<string, unknown>[];
  say: (line: unknown) => void;
  end: () => void;
} {
  const toDriver = new PassThrough();
  const fromDriver = new PassThrough();
  const requests: Record<string, unknown>[] = [];
  toDriver.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
      requests.push(JSON.parse(line) as Record<string, unknown>);
  });
  const link = new DriverLink(fromDriver, toDriver, 'fake');
  const say = (line: unknown): void =>
    void fromDriver.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`);
  return { link, requests, say, end: () => fromDriver.end() };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('driver protocol: framing and answers', () => {
  it('writes each request as one JSON line with an id, method and params', async () => {
    const d = fakeDriver();
    const call = d.link.call('sendText', { to: 'bob@x.example', text: 'hi' }, 1000);
    await tick();
    expect(d.requests).to.deep.equal([
      { id: 1, method: 'sendText', params: { to: 'bob@x.example', text: 'hi' } },
    ]);
    d.say({ id: 1, result: {} });
    expect(await call).to.deep.equal({});
  });

  it('matches answers to requests by id, whatever order they come in', async () => {
    const d = fakeDriver();
    const first = d.link.call('inbox', {}, 1000);
    const second = d.link.call('reset', {}, 1000);
    await tick();
    d.say({ id: 2, result: {} });
    d.say({ id: 1, result: { chats: [] } });
    expect(await first).to.deep.equal({ chats: [] });
    expect(await second).to.deep.equal({});
  });

  it('waits for the ready event and refuses a driver of another protocol version', async () => {
    const good = fakeDriver();
    good.say(READY);
    expect((await good.link.ready(1000)).driver.name).to.equal('fake');
    const other = fakeDriver();
    other.say({ ...READY, protocol: DRIVER_PROTOCOL_VERSION + 1 });
    const error = await other.link.ready(1000).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(HarnessError);
    expect((error as Error).message).to.match(/protocol 2/);
  });

  it('ends the wait for ready with a timeout when the driver writes nothing', async () => {
    const error = await fakeDriver()
      .link.ready(30)
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(HarnessTimeout);
  });

  it('rejects with DriverRefusal carrying the code when the driver answers with an error', async () => {
    const d = fakeDriver();
    const call = d.link.call(
      'sendAttachment',
      { to: 'b@x', kind: 'image', data: '', mediaType: 'image/png' },
      1000,
    );
    await tick();
    d.say({ id: 1, error: { code: 'UNSUPPORTED', message: 'no attachments in this client' } });
    const error = await call.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(DriverRefusal);
    expect(error).to.include({ code: 'UNSUPPORTED', method: 'sendAttachment' });
  });

  it('queues events for the case that waits for them and times out to undefined', async () => {
    const d = fakeDriver();
    d.say({ event: 'received', messageId: 'm1', from: 'b@x', fromDevice: 1, content: { v: 1 } });
    const got = await d.link.nextEvent('received', (e) => e.messageId === 'm1', 1000);
    expect(got?.from).to.equal('b@x');
    expect(await d.link.nextEvent('received', () => true, 20)).to.equal(undefined);
  });
});

describe('driver protocol: bad driver output is a harness error', () => {
  it('rejects a call whose result fails the method result schema, naming where', async () => {
    const d = fakeDriver();
    const call = d.link.call(
      'connect',
      {
        url: 'ws://x',
        address: 'a@x',
        deviceId: 1,
        auth: { method: 'register', registrationToken: 't' },
      },
      1000,
    );
    await tick();
    d.say({ id: 1, result: { address: 'a@x', deviceId: 0 } });
    const error = await call.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(HarnessError);
    expect((error as Error).message).to.match(/result of connect\/deviceId/);
  });

  it('rejects a call answered with neither result nor a registered error code', async () => {
    const d = fakeDriver();
    const call = d.link.call('reset', {}, 1000);
    await tick();
    d.say({ id: 1, error: { code: 'OOPS', message: 'x' } });
    expect(await call.catch((e: unknown) => e)).to.be.instanceOf(HarnessError);
  });

  it('records a line that is not JSON, an unknown event and an answer to nothing as protocol faults', async () => {
    const d = fakeDriver();
    d.say('this is not json');
    d.say({ event: 'telepathy', message: 'x' });
    d.say({ event: 'received', messageId: 'm1' });
    d.say({ id: 99, result: {} });
    await tick();
    expect(d.link.faults).to.have.length(4);
    expect(d.link.faults.join('\n'))
      .to.match(/not JSON/)
      .and.match(/telepathy/)
      .and.match(/no pending request/);
  });

  it('ends a call the driver does not answer with a timeout', async () => {
    const d = fakeDriver();
    const error = await d.link.call('inbox', {}, 20).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(HarnessTimeout);
    expect((error as Error).message).to.match(/did not answer inbox/);
  });

  it('lets a case abandon a call that later fails without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const d = fakeDriver();
      void d.link.call('sendText', { to: 'b@x', text: 'x' }, 1000); // never awaited
      await tick();
      d.say({ id: 1, error: { code: 'FAILED', message: 'not connected' } });
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      process.off('unhandledRejection', listener);
    }
    expect(unhandled).to.deep.equal([]);
  });

  it('fails pending and later calls when the driver closes its output', async () => {
    const d = fakeDriver();
    const call = d.link.call('inbox', {}, 5000);
    d.end();
    const error = await call.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(HarnessError);
    expect(d.link.dead).to.match(/closed its output/);
    expect(await d.link.call('reset', {}, 1000).catch((e: unknown) => e)).to.be.instanceOf(
      HarnessError,
    );
  });
});

describe('driver protocol: a spawned driver process', function () {
  this.timeout(30_000);

  it('reports the exit code and the tail of stderr when the process dies during a call', async () => {
    const fixture = new URL('./fixtures/dying-driver.mjs', import.meta.url).pathname;
    const link = spawnDriver(`node ${fixture}`);
    try {
      await link.ready(10_000);
      expect(await link.call('reset', {}, 5000)).to.deep.equal({});
      const error = await link
        .call(
          'connect',
          {
            url: 'ws://x',
            address: 'a@x',
            deviceId: 1,
            auth: { method: 'register', registrationToken: 't' },
          },
          5000,
        )
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(HarnessError);
      expect((error as Error).message).to.match(/died during connect/);
      expect(link.dead).to.match(/crashed while connecting|code 3/);
    } finally {
      await link.close(1000);
    }
  });

  it('refuses a command that does not start', async () => {
    const link = spawnDriver('exit 7');
    const error = await link.ready(10_000).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(HarnessError);
    await link.close(100);
  });
});

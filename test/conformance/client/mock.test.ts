// Tests of the mock provider of client cases (conformance/client/mock-provider.ts) with the
// reference client: it answers enrolment as a provider would, validates what the client sends,
// refuses a device proof that does not verify, and takes and serves attachment blobs.
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import WebSocket from 'ws';
import { startClientTarget, type ClientTarget } from '../../../conformance/client/target.ts';
import { ClientWorld } from '../../../conformance/client/world.ts';
import { Rng } from '../../../conformance/runner/rng.ts';
import { validator } from '../runner/support.ts';

/** Opens a raw WebSocket to the mock and returns a function that sends a frame and awaits its reply. */
async function raw(
  url: string,
): Promise<{ ask: (f: object) => Promise<Record<string, unknown>>; ws: WebSocket }> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const ask = (f: object): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>));
      ws.send(JSON.stringify(f));
    });
  return { ask, ws };
}

describe('the mock provider of client cases', function () {
  this.timeout(30_000);
  let target: ClientTarget;
  let world: ClientWorld;

  before(async () => (target = await startClientTarget({ waitMs: 10_000 })));
  after(async () => target.close());
  beforeEach(async () => (world = await ClientWorld.open(target, new Rng(3), validator, 2000)));
  afterEach(async () => void (await world.close()));

  it('answers the reference client’s hello, partner auth and keys.publish, with no schema fault either way', async () => {
    const session = await world.connect();
    expect(session.address).to.match(/^client\..+@client\.partner\.example$/);
    const types = world.mock.received.map((f) => f.type);
    expect(types.slice(0, 3)).to.deep.equal(['hello', 'auth', 'keys.publish']);
    expect(world.mock.published?.oneTimePreKeys.length).to.be.above(0);
    expect(world.faults).to.deep.equal([]);
    expect(world.mock.authFailures).to.deep.equal([]);
  });

  it('enrols a first-party client by registration and device auth', async () => {
    const session = await world.connect({ as: 'first-party' });
    expect(session.address.endsWith(`@${world.mock.domain}`)).to.equal(true);
    expect(world.mock.received.map((f) => f.type)).to.include.members(['account.register', 'auth']);
  });

  it('records a schema fault for a frame of the client that breaks its schema', async () => {
    const { ask, ws } = await raw(world.mock.url);
    const reply = await ask({ v: 1, type: 'hello', id: 'h1', versions: 'one' });
    ws.close();
    expect(reply.type).to.equal('error');
    expect(world.faults.map((f) => `${f.type} ${f.pointer}`)).to.deep.equal(['hello /versions']);
  });

  it('refuses, AUTH_FAILED, a partner auth whose device proof does not verify, and says why', async () => {
    await world.connect();
    const { ask, ws } = await raw(world.mock.url);
    await ask({ v: 1, type: 'hello', id: 'h1', versions: [1] });
    const auth = world.mock.received.find((f) => f.type === 'auth')!;
    const reply = await ask({ ...auth, id: 'a1' }); // the other connection's proof: another challenge
    ws.close();
    expect(reply).to.include({ type: 'error', code: 'AUTH_FAILED' });
    expect(world.mock.authFailures.join()).to.match(/device proof|token/);
  });

  it('takes an attachment upload of the client and serves the same ciphertext at the download URL', async () => {
    await world.connect();
    const bob = world.peer('bob');
    const data = Buffer.from('a small document, encrypted by the client before upload');
    const reply = world.drive('sendAttachment', {
      to: bob.address,
      kind: 'document',
      data: data.toString('base64'),
      mediaType: 'application/pdf',
      fileName: 'doc.pdf',
    });
    const send = await world.mock.nextSend(bob.address);
    await reply;
    const [opened] = await world.open(bob, send);
    const pointer = world.contentOf(opened!.plaintext)?.attachments?.[0] as {
      blobId: string;
      digest: string;
      downloadUrl: string;
    };
    const blob = world.mock.blobs.get(pointer.blobId)!;
    expect(blob.complete).to.equal(true);
    expect(createHash('sha256').update(blob.bytes).digest('base64url')).to.equal(pointer.digest);
    expect(blob.bytes.includes(data)).to.equal(false);
    const got = Buffer.from(await (await fetch(pointer.downloadUrl)).arrayBuffer());
    expect(got.equals(blob.bytes)).to.equal(true);
    const ranged = await fetch(pointer.downloadUrl, { headers: { range: 'bytes=0-9' } });
    expect(ranged.status).to.equal(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(blob.bytes.subarray(0, 10))).to.equal(
      true,
    );
  });
});

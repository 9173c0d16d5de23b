// Issue 15, findings 3 and 6, as an attacker meets them on a real `parley serve` process: a removed
// device keeps its open connection and signs in again (with the identity key every device holds,
// or its own key), and a leaked partner token works with any device key (spec/auth.md "Device
// keys", "Token binding": AUTH-033, AUTH-035, AUTH-036, AUTH-037).
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { IdentityKeyPair } from '../../../reference-impl/crypto/index.ts';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
import { authInput } from '../../../reference-impl/server/auth.ts';
import {
  Device,
  firstParty,
  freshDeviceKey,
  makePartner,
  partnerToken,
  TOKEN,
  type AnyFrame,
  type Partner,
} from './support/harness.ts';

const BIN = new URL('../../../bin/parley.js', import.meta.url).pathname;
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** `parley serve` on a free port with a file database and one enlisted partner. */
async function serve(
  dir: string,
  partner: Partner,
): Promise<{ child: ChildProcess; provider: RunningProvider }> {
  const enlisted = join(dir, 'partner.pub.json');
  writeFileSync(enlisted, JSON.stringify(partner.enlisted));
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      ...['--port', '0', '--db', join(dir, 'p.db'), '--domain', 'wa.example'],
      ...['--registration-token', TOKEN, '--enlist', enlisted],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const event = JSON.parse(line) as { event: string; port?: number };
      if (event.event === 'listening') resolve(event.port!);
    });
    child.on('exit', () => reject(new Error('parley serve exited before listening')));
  });
  const provider = {
    wsUrl: `ws://127.0.0.1:${port}/parley/v1`,
    httpUrl: `http://127.0.0.1:${port}`,
    port,
    domain: 'wa.example',
  };
  return { child, provider: provider as unknown as RunningProvider };
}

/** `device` on a new connection signs in as `deviceId` of its account with `key`. */
async function signIn(
  provider: RunningProvider,
  device: Device,
  deviceId: number,
  key: IdentityKeyPair,
): Promise<AnyFrame> {
  const welcome = await device.connect(provider);
  const challenge = Buffer.from(welcome.challenge as string, 'base64url');
  return device.wire.request('auth', {
    method: 'device',
    address: device.address,
    deviceId,
    signature: b64(key.sign(authInput(challenge, device.address, deviceId))),
  });
}

describe('parley serve against a removed device and a leaked partner token (issue 15, findings 3 and 6)', function () {
  this.timeout(30_000);
  let dir: string;
  let served: { child: ChildProcess; provider: RunningProvider };
  let partner: Partner;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-revocation-'));
    partner = await makePartner();
    served = await serve(dir, partner);
  });
  after(async () => {
    const exited = new Promise((resolve) => served.child.once('exit', resolve));
    served.child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('closes the removed phone’s open connection with DEVICE_REMOVED and 4410 at once, so it cannot add a device of its own (AUTH-035)', async () => {
    const alice = await firstParty(served.provider, 'alice', 0);
    const { reply, device: phone } = await alice.addSibling();
    expect(reply.type).to.equal('device.added');
    await phone.connect(served.provider);
    expect((await phone.authDevice()).type).to.equal('auth.ok');
    expect((await alice.wire.request('device.remove', { deviceId: phone.deviceId })).type).to.equal(
      'device.removed',
    );
    const error = await phone.wire.next((f) => f.type === 'error');
    expect(error).to.include({ code: 'DEVICE_REMOVED' });
    expect(await phone.wire.closed).to.equal(4410);
    // What the removed phone did before the fix: add a device for itself on its open connection.
    // Nothing was added: alice's next device gets the phone's id back, the lowest free (AUTH-032).
    phone.wire.send({
      v: 1,
      type: 'device.add',
      id: 'x',
      registrationId: 5,
      deviceKey: freshDeviceKey(),
    });
    expect((await alice.addSibling()).reply).to.include({
      type: 'device.added',
      deviceId: phone.deviceId,
    });
    alice.wire.close();
  });

  it('never signs the removed phone in again, with its own key or the identity key it holds, as its id, as device 1, or under its id reused by a new tablet (AUTH-033, AUTH-036)', async () => {
    const alice = await firstParty(served.provider, 'carla', 0);
    const { device: phone } = await alice.addSibling();
    await phone.connect(served.provider);
    expect((await phone.authDevice()).type).to.equal('auth.ok');
    phone.wire.close();
    await alice.wire.request('device.remove', { deviceId: phone.deviceId });
    const attempts: [number, IdentityKeyPair][] = [
      [phone.deviceId, phone.authKey],
      [1, phone.authKey],
      [phone.deviceId, phone.identity],
      [1, phone.identity],
    ];
    for (const [deviceId, key] of attempts)
      expect((await signIn(served.provider, phone, deviceId, key)).code).to.equal('AUTH_FAILED');
    const { reply, device: tablet } = await alice.addSibling();
    expect(reply).to.include({ type: 'device.added', deviceId: phone.deviceId });
    for (const [deviceId, key] of attempts)
      expect((await signIn(served.provider, phone, deviceId, key)).code).to.equal('AUTH_FAILED');
    expect((await signIn(served.provider, tablet, tablet.deviceId, tablet.authKey)).type).to.equal(
      'auth.ok',
    );
    tablet.wire.close();
    alice.wire.close();
  });

  it('refuses bob’s leaked partner token to mallory, who proves possession of her own identity key (AUTH-037)', async () => {
    const bob = new Device('bob@chat.example', 1, IdentityKeyPair.generate());
    const token = await partnerToken(partner, {
      sub: bob.address,
      identityKey: bob.identity.publicKey,
    });
    const mallory = new Device(bob.address, 1, IdentityKeyPair.generate());
    await mallory.connect(served.provider);
    const stolen = await mallory.wire.request('auth', {
      method: 'partner',
      token,
      deviceId: 1,
      registrationId: mallory.registrationId,
      identityKey: mallory.identityKey,
      signature: mallory.identityProof(),
    });
    expect(stolen).to.include({ type: 'error', code: 'AUTH_FAILED' });
    await bob.connect(served.provider);
    expect((await bob.authPartner(partner)).type).to.equal('auth.ok');
    bob.wire.close();
  });
});

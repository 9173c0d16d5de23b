// The provider as a process (`parley serve`, `parley keygen`): crash safety of accepted messages
// (spec/messages.md DELIV-008), SIGTERM shutdown (spec/framing.md PROTO-036) and partner key files.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { importJWK, type CryptoKey } from 'jose';
import { main } from '../../../conformance/cli/main.ts';
import { readPartnerKeys } from '../../../conformance/cli/serve.ts';
import { IdentityKeyPair } from '../../../reference-impl/crypto/index.ts';
import type { RunningProvider } from '../../../reference-impl/server/index.ts';
import {
  Device,
  firstParty,
  startTestProvider,
  TOKEN,
  Wire,
  type AnyFrame,
  type Partner,
} from './support/harness.ts';

const BIN = new URL('../../../bin/parley.js', import.meta.url).pathname;

interface Served {
  child: ChildProcess;
  provider: RunningProvider;
  exited: Promise<number | null>;
}

async function serve(db: string, args?: string[]): Promise<Served> {
  const defaults = ['--port', '0', '--db', db, '--domain', 'wa.example'];
  const child = spawn(
    process.execPath,
    [BIN, 'serve', ...(args ?? [...defaults, '--registration-token', TOKEN])],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      const event = JSON.parse(line) as { event: string; port?: number };
      if (event.event === 'listening') resolve(event.port!);
    });
    child.on('exit', () => reject(new Error('the provider exited before listening')));
  });
  const wsUrl = `ws://127.0.0.1:${port}/parley/v1`;
  const provider = { wsUrl, httpUrl: `http://127.0.0.1:${port}`, port, domain: 'wa.example' };
  return { child, exited, provider: provider as unknown as RunningProvider };
}

describe('parley serve as a process', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'parley-serve-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('delivers every message acknowledged as accepted after a SIGKILL mid-stream and a restart, none twice (DELIV-008)', async () => {
    const db = join(dir, 'parley.db');
    const first = await serve(db);
    const bob = await firstParty(first.provider, 'bob', 3);
    bob.wire.close();
    const alice = await firstParty(first.provider, 'alice', 0);
    await alice.startSessions(bob.address);
    const devices = [{ deviceId: 1, registrationId: bob.registrationId }];
    const frames: AnyFrame[] = [];
    for (let i = 0; i < 300; i++) {
      const messages = await alice.ciphertexts(bob.address, devices, `message ${i}`);
      frames.push({
        v: 1,
        type: 'message.send',
        id: `s${i}`,
        to: bob.address,
        idempotencyKey: `k${i}`,
        messages,
      });
    }
    const accepted = new Set<string>();
    const killed = new Promise<void>((resolve) => {
      alice.wire.ws.on('message', (data) => {
        const f = JSON.parse(String(data)) as AnyFrame;
        if (f.type !== 'message.accepted') return;
        accepted.add(f.messageId);
        if (accepted.size === 40) {
          first.child.kill('SIGKILL');
          resolve();
        }
      });
    });
    for (const f of frames) alice.wire.send(f);
    await killed;
    await first.exited;
    expect(accepted.size).to.be.within(40, 299);

    const second = await serve(db);
    await bob.connect(second.provider);
    expect((await bob.authDevice()).type).to.equal('auth.ok');
    await bob.wire.next((f) => f.type === 'queue.empty', 10_000);
    const delivered = bob.wire.frames
      .filter((f) => f.type === 'message')
      .map((f) => f.messageId as string);
    expect(new Set(delivered).size).to.equal(delivered.length);
    for (const id of accepted) expect(delivered).to.include(id);
    second.child.kill('SIGTERM');
    expect(await second.exited).to.equal(0);
  });

  it('on SIGTERM sends UNAVAILABLE, closes every connection with 1012 and exits 0 (PROTO-036)', async () => {
    const served = await serve(join(dir, 'p.db'));
    const wire = await Wire.open(served.provider.wsUrl);
    await wire.request('hello', { versions: [1] });
    served.child.kill('SIGTERM');
    expect((await wire.next((f) => f.type === 'error')).code).to.equal('UNAVAILABLE');
    expect(await wire.closed).to.equal(1012);
    expect(await served.exited).to.equal(0);
  });
});

describe('parley serve --config', function () {
  this.timeout(30_000);
  it('takes port, database, domain, registration tokens and enlisted partners from a JSON file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-config-'));
    try {
      const io = { out: () => {}, err: () => {} };
      const key = join(dir, 'partner.json');
      await main(
        ['node', 'parley', 'keygen', 'partner', '--domain', 'chat.example', '--out', key],
        io,
      );
      const config = join(dir, 'parley.json');
      writeFileSync(
        config,
        JSON.stringify({
          port: 0,
          db: join(dir, 'c.db'),
          domain: 'wa.example',
          registrationTokens: [TOKEN],
          enlist: [join(dir, 'partner.pub.json')],
        }),
      );
      const served = await serve('', ['--config', config]);
      const alice = await firstParty(served.provider, 'configured', 0);
      expect(alice.address).to.equal('configured@wa.example');
      const priv = JSON.parse(readFileSync(key, 'utf8')) as Record<string, string>;
      const partner: Partner = {
        domain: 'chat.example',
        kid: priv.kid!,
        privateKey: (await importJWK(priv, 'EdDSA')) as CryptoKey,
        enlisted: readPartnerKeys(join(dir, 'partner.pub.json'))[0]!,
      };
      const bob = new Device('bob@chat.example', 1, IdentityKeyPair.generate());
      await bob.connect(served.provider);
      expect((await bob.authPartner(partner)).type).to.equal('auth.ok');
      alice.wire.close();
      served.child.kill('SIGTERM');
      expect(await served.exited).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parley keygen partner', () => {
  it('writes a private JWK with mode 0600 and a public half that a provider enlists and accepts tokens for', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-keygen-'));
    try {
      const out = join(dir, 'partner.json');
      const io = { out: () => {}, err: () => {} };
      expect(
        await main(
          ['node', 'parley', 'keygen', 'partner', '--domain', 'chat.example', '--out', out],
          io,
        ),
      ).to.equal(0);
      expect(statSync(out).mode & 0o777).to.equal(0o600);
      const priv = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string>;
      expect(priv).to.include({ kty: 'OKP', crv: 'Ed25519', domain: 'chat.example', alg: 'EdDSA' });
      expect(priv.d).to.be.a('string');
      const [pub] = readPartnerKeys(join(dir, 'partner.pub.json'));
      expect(pub).not.to.have.property('d');
      expect(pub!.kid).to.equal(priv.kid);
      const partner: Partner = {
        domain: 'chat.example',
        kid: priv.kid!,
        privateKey: (await importJWK(priv, 'EdDSA')) as CryptoKey,
        enlisted: pub!,
      };
      const provider = await startTestProvider([partner]);
      const bob = new Device('bob@chat.example', 1, IdentityKeyPair.generate());
      await bob.connect(provider);
      expect((await bob.authPartner(partner)).type).to.equal('auth.ok');
      await provider.close();
      expect(() => readPartnerKeys(out)).to.throw(/private key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown kind with the usage exit code', async () => {
    const io = { out: () => {}, err: () => {} };
    expect(
      await main(['node', 'parley', 'keygen', 'server', '--domain', 'chat.example'], io),
    ).to.equal(2);
  });
});

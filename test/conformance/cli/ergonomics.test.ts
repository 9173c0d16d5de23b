// The command line as people expect it (issue 14): a mistake is one line naming it and exit 2,
// never a stack trace, and a start that fails prints no registration token.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { missingProgram } from '../../../conformance/cli/conform.ts';
import type { CliIo } from '../../../conformance/cli/context.ts';
import { writePartnerKey } from '../../../conformance/cli/keygen.ts';
import { main } from '../../../conformance/cli/main.ts';

async function parley(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(['node', 'parley', ...args], io);
  return { code, out, err };
}

/** Exit 2 and exactly one line on stderr containing every phrase, with no stack frame. */
function expectOneLine(
  run: { code: number; err: string; out: string },
  ...phrases: string[]
): void {
  expect(run.code, run.err).to.equal(2);
  expect(run.err.trimEnd().split('\n'), run.err).to.have.length(1);
  expect(run.err).to.not.match(/\n\s+at /);
  for (const p of phrases) expect(run.err).to.include(p);
}

describe('parley command line mistakes', function () {
  this.timeout(20_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'parley-cli-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('parley serve with an --enlist file that is missing, not JSON or private: one line naming it, exit 2', async () => {
    expectOneLine(
      await parley('serve', '--port', '0', '--enlist', join(dir, 'none.json')),
      '--enlist',
      'none.json',
      'no such key file',
    );
    writeFileSync(join(dir, 'bad.json'), '{oops');
    expectOneLine(
      await parley('serve', '--port', '0', '--enlist', join(dir, 'bad.json')),
      'bad.json',
      'not a JSON',
    );
    await writePartnerKey('p.example', join(dir, 'p.json'));
    expectOneLine(
      await parley('serve', '--port', '0', '--enlist', join(dir, 'p.json')),
      'p.json',
      'holds a private key',
    );
  });

  it('parley serve with a missing or malformed --config: one line naming it, exit 2', async () => {
    expectOneLine(
      await parley('serve', '--config', join(dir, 'nope.json')),
      '--config',
      'nope.json',
      'no such file',
    );
    writeFileSync(join(dir, 'list.json'), '[1]');
    expectOneLine(await parley('serve', '--config', join(dir, 'list.json')), 'not a JSON object');
  });

  it('parley serve with a --tls-cert or --tls-key file that is missing: one line naming it, exit 2', async () => {
    writeFileSync(join(dir, 'cert.pem'), 'not read: the key is missing first');
    expectOneLine(
      await parley(
        'serve',
        '--port',
        '0',
        '--tls-cert',
        join(dir, 'cert.pem'),
        '--tls-key',
        join(dir, 'none.key'),
      ),
      '--tls-key',
      'none.key',
      'no such file',
    );
    expectOneLine(
      await parley(
        'serve',
        '--port',
        '0',
        '--tls-cert',
        join(dir, 'none.pem'),
        '--tls-key',
        join(dir, 'cert.pem'),
      ),
      '--tls-cert',
      'none.pem',
      'no such file',
    );
  });

  it('parley keygen never overwrites a key file and names an --out it cannot write', async () => {
    const out = join(dir, 'kept.json');
    expect(
      (await parley('keygen', 'partner', '--domain', 'p.example', '--out', out)).code,
    ).to.equal(0);
    const before = readFileSync(out, 'utf8');
    expectOneLine(
      await parley('keygen', 'partner', '--domain', 'p.example', '--out', out),
      'kept.json exists',
    );
    expect(readFileSync(out, 'utf8')).to.equal(before);
    expectOneLine(
      await parley(
        'keygen',
        'partner',
        '--domain',
        'p.example',
        '--out',
        join(dir, 'no', 'dir.json'),
      ),
      '--out',
      'dir.json',
      'ENOENT',
    );
  });

  it('parley serve on a port in use: one line naming the port, exit 2, and no registration token printed', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const run = await parley('serve', '--port', String(port), '--db', join(dir, 'p.db'));
      expectOneLine(run, `port ${port} on 127.0.0.1 is in use`);
      expect(run.err + run.out).to.not.include('registration.token');
    } finally {
      server.close();
    }
  });

  it('parley serve refuses an unknown --log-level and documents the option', async () => {
    expectOneLine(
      await parley('serve', '--log-level', 'loud'),
      '--log-level must be debug, info, warn or error',
    );
    expect((await parley('serve', '--help')).out).to.include('--log-level <level>');
  });

  it('parley conform refuses an http:// --target, naming the schemes it takes', async () => {
    const key = join(dir, 'k.json');
    await writePartnerKey('k.example', key);
    const run = await parley(
      'conform',
      '--target',
      'http://127.0.0.1:8080/parley/v1',
      '--registration-token',
      't',
      '--partner-key',
      key,
      '--report-dir',
      join(dir, 'r'),
    );
    expectOneLine(run, '--target', 'ws:// or wss://', 'not http://');
  });

  it('parley conform says a --client-cmd or --operator-cmd program was not found', async () => {
    expectOneLine(
      await parley(
        'conform',
        '--client-cmd',
        'no-such-driver-xyz --flag',
        '--report-dir',
        join(dir, 'r'),
      ),
      '--client-cmd',
      'no-such-driver-xyz was not found',
    );
    expect(missingProgram('node --import tsx x.ts')).to.equal(undefined);
    expect(missingProgram('./nowhere/driver.sh')).to.equal('./nowhere/driver.sh');
    expect(missingProgram('FOO=1 my-driver')).to.equal(undefined);
  });
});

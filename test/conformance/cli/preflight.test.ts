// The preflight of `parley conform` (issue 14): a setup mistake (a wrong registration token, a
// partner key the target never enlisted, an unreachable target, a report directory that cannot be
// written, a signing key that does not load) ends the run before any case, with exit 2 and one
// line naming the mistake; the target is judged on nothing.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { CliIo } from '../../../conformance/cli/context.ts';
import { writePartnerKey } from '../../../conformance/cli/keygen.ts';
import { main } from '../../../conformance/cli/main.ts';
import { readPartnerKeys } from '../../../conformance/cli/serve.ts';
import {
  silentLogger,
  startProvider,
  type RunningProvider,
} from '../../../reference-impl/server/index.ts';

const TOKEN = 'preflight-test-token';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error()),
      );
    });
  });
}

describe('parley conform preflight', function () {
  this.timeout(20_000);
  let dir: string;
  let partnerFile: string;
  let strangerFile: string;
  let provider: RunningProvider;
  let runs = 0;

  async function conform(
    overrides: Record<string, string>,
  ): Promise<{ code: number; out: string; err: string; reportDir: string; ms: number }> {
    const reportDir = overrides['--report-dir'] ?? join(dir, `run-${++runs}`);
    const options: Record<string, string> = {
      '--target': provider.wsUrl,
      '--registration-token': TOKEN,
      '--partner-key': partnerFile,
      '--seed': '3',
      '--only': 'PROTO-018*',
      ...overrides,
      '--report-dir': reportDir,
    };
    let out = '';
    let err = '';
    const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t) };
    const started = Date.now();
    const code = await main(['node', 'parley', 'conform', ...Object.entries(options).flat()], io);
    return { code, out, err, reportDir, ms: Date.now() - started };
  }

  /** The run ended in preflight: exit 2, one stderr line, no case run, no report written. */
  function expectSetupFailure(
    run: Awaited<ReturnType<typeof conform>>,
    ...phrases: string[]
  ): void {
    expect(run.code, run.err + run.out).to.equal(2);
    expect(run.out, 'no case ran').to.equal('');
    expect(run.err.trimEnd().split('\n'), run.err).to.have.length(1);
    for (const phrase of phrases) expect(run.err).to.include(phrase);
    expect(existsSync(join(run.reportDir, 'report.json'))).to.equal(false);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-preflight-'));
    partnerFile = join(dir, 'partner.json');
    strangerFile = join(dir, 'stranger.json');
    await writePartnerKey('conform.partner.example', partnerFile);
    await writePartnerKey('stranger.partner.example', strangerFile);
    provider = await startProvider({
      port: 0,
      host: '127.0.0.1',
      dbPath: join(dir, 'provider.db'),
      domain: 'preflight.example',
      registrationTokens: [TOKEN],
      partners: readPartnerKeys(join(dir, 'partner.pub.json')),
      logger: silentLogger,
    });
  });

  after(async () => {
    await provider?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the selected cases once the target accepts the token and the partner key', async () => {
    const run = await conform({});
    expect(run.code, run.err + run.out).to.equal(0);
    expect(run.err).to.equal('');
    expect(existsSync(join(run.reportDir, 'report.json'))).to.equal(true);
  });

  it('fails a run with --fail-on unchecked when a selected MUST was skipped, and prints the SKIP with its level and reason', async () => {
    const plain = await conform({ '--only': 'PROTO-036*' });
    expect(plain.code, plain.out).to.equal(0);
    expect(plain.out).to.match(
      /SKIP\s+PROTO-036-\S+ \(\d+ ms\) — MUST not checked: needs the operator hook restart/,
    );
    expect(plain.out).to.match(
      /selected MUSTs not checked in this run: \d+\n {2}PROTO-036\b.*: skipped: needs the operator hook restart/,
    );
    expect(plain.out).to.match(/requirements: \d+\/\d+ have a case; 0\/\d+ checked in this run/);
    const strict = await conform({ '--only': 'PROTO-036*', '--fail-on': 'unchecked' });
    expect(strict.code, strict.out).to.equal(1);
    expect(strict.out).to.match(/--fail-on unchecked: \d+ selected MUSTs were not checked/);
    const html = readFileSync(join(strict.reportDir, 'report.html'), 'utf8');
    expect(html).to.include(': INCOMPLETE</b>');
  });

  it('ends with exit 2 and one line naming --registration-token when the target refuses the token', async () => {
    const run = await conform({ '--registration-token': 'not-the-token' });
    expectSetupFailure(run, 'preflight', '--registration-token', 'REGISTRATION_REFUSED');
    expect(run.err).to.not.include('not-the-token');
  });

  it('ends with exit 2 and one line naming --partner-key and its issuer when the target never enlisted the key', async () => {
    const run = await conform({ '--partner-key': strangerFile });
    expectSetupFailure(run, 'preflight', '--partner-key', 'stranger.partner.example', 'enlisted');
  });

  it('ends with exit 2 and one line naming the target when nothing listens there', async () => {
    const url = `ws://127.0.0.1:${await freePort()}/parley/v1`;
    const run = await conform({ '--target': url });
    expectSetupFailure(run, 'preflight', 'unreachable', url);
    expect(run.ms).to.be.below(5000);
  });

  it('ends with exit 2 naming --report-dir when it cannot be written, before reaching the target', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const run = await conform({ '--report-dir': join(file, 'reports') });
    expectSetupFailure(run, '--report-dir', join(file, 'reports'));
  });

  it('ends with exit 2 naming --sign-key when the key file is missing, not JSON or a public key only', async () => {
    const missing = await conform({ '--sign-key': join(dir, 'nowhere.json') });
    expectSetupFailure(missing, '--sign-key', 'nowhere.json', 'no such key file');
    const garbage = join(dir, 'garbage.json');
    writeFileSync(garbage, 'not json {');
    expectSetupFailure(await conform({ '--sign-key': garbage }), 'garbage.json', 'not a JSON');
    const pub = join(dir, 'partner.pub.json');
    expect(JSON.parse(readFileSync(pub, 'utf8'))).to.not.have.property('d');
    expectSetupFailure(await conform({ '--sign-key': pub }), 'partner.pub.json', 'no private key');
  });

  it('ends with exit 2 naming --partner-key when its file is missing or malformed', async () => {
    const missing = await conform({ '--partner-key': join(dir, 'absent.json') });
    expectSetupFailure(missing, '--partner-key', 'absent.json', 'no such key file');
    const garbage = join(dir, 'bad-partner.json');
    writeFileSync(garbage, '[1, 2');
    expectSetupFailure(
      await conform({ '--partner-key': garbage }),
      'bad-partner.json',
      'not a JSON',
    );
  });
});

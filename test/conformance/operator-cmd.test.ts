// Tests of `parley conform --operator-cmd` (conformance/operator/, cli/conform.ts): with the
// reference operator driver the cases that need an operator pass against `parley serve` in its own
// process; without a driver they skip naming the hook; a driver that dies, writes a bad line or
// refuses makes the case an error; a driver that never says hello ends the run with exit 2.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { CliIo } from '../../conformance/cli/context.ts';
import { writePartnerKey } from '../../conformance/cli/keygen.ts';
import { main } from '../../conformance/cli/main.ts';
import { readPartnerKeys } from '../../conformance/cli/serve.ts';
import { OperatorValidator } from '../../conformance/operator/protocol.ts';
import type { Report } from '../../conformance/reporters/report.ts';
import {
  silentLogger,
  startProvider,
  type RunningProvider,
} from '../../reference-impl/server/index.ts';

const TOKEN = 'operator-cmd-test-token';
const REFERENCE_OPERATOR = 'node --import tsx conformance/operator/reference-operator.ts';

/** The cases that need an operator hook, each with the hook it asks for first (DELIV-028 is checked by DELIV-027's case). */
const OPERATOR_CASES: Readonly<Record<string, string>> = {
  'PROTO-036-unavailable-on-shutdown': 'restart',
  'ATT-016-quota-exceeded': 'attachmentQuotaBytes',
  'ATT-032-deleted-at-expiry': 'setClockAhead',
  'ATT-033-quota-released': 'attachmentQuotaBytes',
  'DELIV-008-accepted-survives-restart': 'restart',
  'DELIV-027-kept-for-queue-ttl': 'setClockAhead',
};
const ONLY = Object.keys(OPERATOR_CASES)
  .map((id) => `${id.split('-').slice(0, 2).join('-')}*`)
  .join(',');

/** A fake operator driver: says hello offering `restart`, then answers every request with `reply`. */
function fakeDriver(reply: string): string {
  return `import { createInterface } from 'node:readline';
const say = (m) => process.stdout.write((typeof m === 'string' ? m : JSON.stringify(m)) + '\\n');
say({ event: 'hello', protocol: 1, driver: { name: 'fake', version: '1' }, hooks: ['restart'] });
createInterface({ input: process.stdin }).on('line', (line) => {
  const request = JSON.parse(line);
  ${reply}
});
`;
}

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

describe('parley conform --operator-cmd', function () {
  this.timeout(30_000);
  let dir: string;
  let partnerFile: string;
  let provider: RunningProvider;
  let runs = 0;

  /** Runs `parley conform --target <url> …` in this process; returns its exit code, output and report. */
  async function conform(
    url: string,
    args: string[],
  ): Promise<{ code: number; out: string; report: () => Report }> {
    const reportDir = join(dir, `run-${++runs}`);
    let out = '';
    const io: CliIo = { out: (t) => void (out += t), err: (t) => void (out += t) };
    const code = await main(
      [
        'node',
        'parley',
        'conform',
        '--target',
        url,
        '--registration-token',
        TOKEN,
        '--partner-key',
        partnerFile,
        '--seed',
        '5',
        '--report-dir',
        reportDir,
        ...args,
      ],
      io,
    );
    return {
      code,
      out,
      report: () => JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8')) as Report,
    };
  }

  /** Writes a fake driver script and returns the command that runs it. */
  function driverCommand(name: string, source: string): string {
    const file = join(dir, `${name}.mjs`);
    writeFileSync(file, source);
    return `node ${file}`;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-operator-cmd-'));
    partnerFile = join(dir, 'partner.json');
    await writePartnerKey('conform.partner.example', partnerFile);
    // The target of the runs without the reference operator: a provider of its own in this process.
    provider = await startProvider({
      port: 0,
      host: '127.0.0.1',
      dbPath: join(dir, 'plain.db'),
      domain: 'plain.example',
      registrationTokens: [TOKEN],
      partners: readPartnerKeys(join(dir, 'partner.pub.json')),
      logger: silentLogger,
    });
  });

  after(async () => {
    await provider?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes every operator case against parley serve run by the reference operator driver, and leaves no process behind', async function () {
    this.timeout(120_000);
    const port = await freePort();
    const command = [
      REFERENCE_OPERATOR,
      `--port ${port}`,
      `--db ${join(dir, 'served.db')}`,
      `--registration-token ${TOKEN}`,
      `--enlist ${join(dir, 'partner.pub.json')}`,
    ].join(' ');
    const run = await conform(`ws://127.0.0.1:${port}/parley/v1`, [
      '--operator-cmd',
      command,
      '--only',
      `${ONLY},ATT-013*,AUTH-004*`,
      // Every clock move restarts a provider process: a few seconds each on a shared machine.
      '--timeout-factor',
      '3',
    ]);
    const results = run.report().results;
    const outcomes = Object.fromEntries(results.map((r) => [r.id, r.outcome]));
    expect(outcomes, run.out).to.deep.equal({
      ...Object.fromEntries(Object.keys(OPERATOR_CASES).map((id) => [id, 'pass'])),
      // The stated first-party limits (ATT-013) come from the driver's hello.
      'ATT-013-limits-not-below-first-party': 'pass',
      // Its clock moves restart the provider, so a challenge cannot go stale on an open connection.
      'AUTH-004-stale-challenge': 'skip',
    });
    expect(results.find((r) => r.id === 'AUTH-004-stale-challenge')!.message).to.include(
      'without a restart',
    );
    expect(run.code, run.out).to.equal(0);
    // The driver stopped its provider: the port is free again.
    await new Promise<void>((resolve, reject) => {
      const server = createServer().once('error', reject);
      server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
    });
  });

  it('skips every operator case without --operator-cmd, naming the hook it needs', async () => {
    const run = await conform(provider.wsUrl, ['--only', ONLY]);
    const results = run.report().results;
    expect(results.map((r) => r.id).sort()).to.deep.equal(Object.keys(OPERATOR_CASES).sort());
    for (const r of results) {
      expect(r.outcome, r.id).to.equal('skip');
      expect(r.message, r.id).to.include(`needs the operator hook ${OPERATOR_CASES[r.id]}`);
    }
  });

  it('makes the case an error, never a pass, when the operator driver exits during restart; a hook it does not offer skips', async () => {
    const run = await conform(provider.wsUrl, [
      '--operator-cmd',
      driverCommand('exits', fakeDriver('process.exit(3);')),
      '--only',
      'PROTO-036*,DELIV-027*',
    ]);
    const [deliv, proto] = run.report().results;
    expect(proto!.outcome, run.out).to.equal('error');
    expect(proto!.message).to.match(/operator driver .*restart.*exited \(code 3\)/);
    expect(deliv!.outcome).to.equal('skip');
    expect(deliv!.message).to.include('needs the operator hook setClockAhead');
    expect(run.code).to.not.equal(0);
  });

  it('makes the case an error when the operator driver answers with a line that is not JSON', async () => {
    const run = await conform(provider.wsUrl, [
      '--operator-cmd',
      driverCommand('garbles', fakeDriver("say('restarted, probably');")),
      '--only',
      'PROTO-036*',
    ]);
    const [proto] = run.report().results;
    expect(proto!.outcome, run.out).to.equal('error');
    expect(proto!.message).to.include('not JSON: restarted, probably');
    expect(run.code).to.not.equal(0);
  });

  it('makes the case an error when the operator driver answers ok:false, quoting its message', async () => {
    const run = await conform(provider.wsUrl, [
      '--operator-cmd',
      driverCommand(
        'refuses',
        fakeDriver("say({ id: request.id, ok: false, message: 'maintenance window closed' });"),
      ),
      '--only',
      'PROTO-036*',
    ]);
    const [proto] = run.report().results;
    expect(proto!.outcome, run.out).to.equal('error');
    expect(proto!.message).to.include('could not restart: maintenance window closed');
    expect(run.code).to.not.equal(0);
  });

  it('exits 2 naming the operator driver when its hello never comes', async () => {
    const run = await conform(provider.wsUrl, [
      '--operator-cmd',
      driverCommand('silent', 'setInterval(() => {}, 1000);\n'),
      '--only',
      'PROTO-036*',
      // The hello wait is scaled: 1 s instead of 20.
      '--timeout-factor',
      '0.05',
    ]);
    expect(run.code, run.out).to.equal(2);
    expect(run.out).to.match(/operator driver \(--operator-cmd\) could not start: .*no hello/);
  });

  it('refuses --operator-cmd without --target as a usage error naming the option', async () => {
    let err = '';
    const code = await main(['node', 'parley', 'conform', '--operator-cmd', 'true'], {
      out: () => undefined,
      err: (t) => void (err += t),
    });
    expect(code).to.equal(2);
    expect(err).to.include('--operator-cmd needs --target');
  });
});

describe('operator driver protocol: lines', () => {
  const validator = new OperatorValidator();

  it('accepts a hello that offers only some hooks and states no facts', () => {
    const hello = { event: 'hello', protocol: 1, driver: { name: 'ops', version: '2' }, hooks: [] };
    expect(validator.checkHello(hello)).to.deep.equal({ ok: true });
  });

  it('refuses a hello offering a hook the protocol does not have, naming the member', () => {
    const check = validator.checkHello({
      event: 'hello',
      protocol: 1,
      driver: { name: 'ops', version: '2' },
      hooks: ['reboot'],
    });
    expect(check.ok).to.equal(false);
    expect(check.ok ? '' : check.message).to.include('hello/hooks/0');
  });

  it('refuses a reply of ok:false that does not say why', () => {
    expect(validator.checkReply({ id: 1, ok: false }).ok).to.equal(false);
    expect(validator.checkReply({ id: 1, ok: false, message: 'no' }).ok).to.equal(true);
  });

  it('refuses a clock move backwards in a request, naming params/ms', () => {
    const check = validator.checkRequest({ id: 4, method: 'setClockAhead', params: { ms: -1 } });
    expect(check.ok ? '' : check.message).to.include('request setClockAhead/params/ms');
  });
});

describe('parley serve clockAheadMs (test only)', () => {
  it('refuses a negative clockAheadMs in --config as a usage error naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-clock-'));
    try {
      const config = join(dir, 'serve.json');
      writeFileSync(config, JSON.stringify({ clockAheadMs: -5 }));
      let err = '';
      const code = await main(
        ['node', 'parley', 'serve', '--port', '0', '--db', join(dir, 'p.db'), '--config', config],
        { out: () => undefined, err: (t) => void (err += t) },
      );
      expect(code).to.equal(2);
      expect(err).to.include('clockAheadMs');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

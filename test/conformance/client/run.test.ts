// Tests of client-under-test runs (conformance/client/, runner/run.ts, cli/conform.ts): the
// embedded reference client passes every client case, in-process and spawned; a driver that
// writes bad output or dies makes cases error, never pass; subjects pick the cases and show in
// every report.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ALL_CASES } from '../../../conformance/cases/index.ts';
import type { CliIo } from '../../../conformance/cli/context.ts';
import { main } from '../../../conformance/cli/main.ts';
import { DriverLink } from '../../../conformance/client/link.ts';
import { startClientTarget, type ClientTarget } from '../../../conformance/client/target.ts';
import { defineClientCase, subjectOf, type ClientCase } from '../../../conformance/runner/case.ts';
import { runCases } from '../../../conformance/runner/run.ts';
import { loadCatalogue } from '../../../conformance/spec-model/catalogue.ts';
import { fakeCase, validator } from '../runner/support.ts';

const SPEC_DIR = fileURLToPath(new URL('../../../spec', import.meta.url));
const levels = new Map(loadCatalogue(SPEC_DIR).requirements.map((r) => [r.id, r.level]));
const CLIENT_CASES = ALL_CASES.filter((c): c is ClientCase => subjectOf(c) === 'client');
const REFERENCE_DRIVER = 'node --import tsx conformance/client/reference-driver.ts';

async function runClient(
  client: ClientTarget,
  cases: readonly ClientCase[] = CLIENT_CASES,
  waitMs?: number,
) {
  try {
    return await runCases(cases, {
      client,
      validator,
      seed: 11,
      levels,
      ...(waitMs ? { waitMs } : {}),
    });
  } finally {
    await client.close();
  }
}

/** A driver in this process that answers `reset` and then whatever `answer` says. */
function scriptedDriver(answer: (method: string, id: number) => unknown): DriverLink {
  const toDriver = new PassThrough();
  const fromDriver = new PassThrough();
  const write = (m: unknown): void => void fromDriver.write(`${JSON.stringify(m)}\n`);
  write({ event: 'ready', protocol: 1, driver: { name: 'scripted', version: '1' } });
  toDriver.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as { id: number; method: string };
      const out =
        r.method === 'reset' || r.method === 'shutdown'
          ? { id: r.id, result: {} }
          : answer(r.method, r.id);
      if (out !== undefined)
        fromDriver.write(`${typeof out === 'string' ? out : JSON.stringify(out)}\n`);
    }
  });
  return new DriverLink(fromDriver, toDriver, 'scripted');
}

const connecting = defineClientCase({
  id: 'ENC-001-harness-connects',
  title: 'a harness case that only connects the client',
  requirements: ['ENC-001'],
  level: 'MUST',
  quote: 'A client MUST encrypt every `body`.',
  sends: 'driver: connect',
  async run({ client }) {
    await client.connect();
  },
});

describe('client runs: the reference client', function () {
  this.timeout(120_000);

  it('has client cases, each with subject client and requirements that bind clients', () => {
    const catalogue = new Map(loadCatalogue(SPEC_DIR).requirements.map((r) => [r.id, r]));
    expect(CLIENT_CASES.length).to.be.above(0);
    for (const c of CLIENT_CASES)
      expect(
        c.requirements.some((r) => catalogue.get(r)?.binds.includes('client')),
        c.id,
      ).to.equal(true);
  });

  it('neither fails nor errors on any client case against the embedded reference client (in-process driver)', async () => {
    const end = await runClient(await startClientTarget({ waitMs: 10_000 }));
    const bad = end.results.filter((r) => r.outcome !== 'pass' && r.outcome !== 'skip');
    expect(end.results.filter((r) => r.outcome === 'pass').length).to.be.above(0);
    expect(bad.map((r) => `${r.id} ${r.outcome}: ${r.message ?? r.actual}`)).to.deep.equal([]);
    expect(end.results.every((r) => r.subject === 'client')).to.equal(true);
  });

  it('shares the client cases among several instances of the client, each case on one', async () => {
    const first = await startClientTarget({ waitMs: 10_000 });
    const second = await startClientTarget({ waitMs: 10_000 });
    const connects = new Map<unknown, number>();
    for (const t of [first, second]) {
      const call = t.link.call.bind(t.link);
      t.link.call = ((method, params, waitMs) => {
        if (method === 'connect') connects.set(t, (connects.get(t) ?? 0) + 1);
        return call(method, params, waitMs);
      }) as typeof t.link.call;
    }
    const cases = CLIENT_CASES.filter((c) => c.id.startsWith('ENC-0')).slice(0, 6);
    try {
      const end = await runCases(cases, {
        client: first,
        moreClients: [second],
        validator,
        seed: 11,
        levels,
      });
      expect(end.results.map((r) => r.outcome)).to.deep.equal(cases.map(() => 'pass'));
    } finally {
      await first.close();
      await second.close();
    }
    expect(connects.size).to.equal(2);
  });

  it('passes the client cases against the reference driver spawned as a process', async () => {
    const end = await runClient(
      await startClientTarget({ command: REFERENCE_DRIVER, waitMs: 20_000 }),
      CLIENT_CASES.filter((c) => c.id.startsWith('ENC-0')).slice(0, 3),
    );
    expect(end.results.map((r) => r.outcome)).to.deep.equal(['pass', 'pass', 'pass']);
  });
});

describe('client runs: a broken driver is an error, never a pass', function () {
  this.timeout(60_000);

  it('ends the case as error when the driver answers connect with an invalid result', async () => {
    const link = scriptedDriver((_, id) => ({ id, result: { address: 42 } }));
    const end = await runClient(await startClientTarget({ link, waitMs: 2000 }), [connecting]);
    expect(end.results[0]).to.include({ outcome: 'error' });
    expect(end.results[0]!.message).to.match(/invalid result of connect/);
  });

  it('ends the case as error when the driver writes a line that is not JSON', async () => {
    const link = scriptedDriver((method, id) =>
      method === 'connect' ? 'garbage' : { id, result: {} },
    );
    const end = await runClient(await startClientTarget({ link, waitMs: 200 }), [connecting], 100);
    expect(end.results[0]).to.include({ outcome: 'error' });
    expect(end.results[0]!.message).to.match(/did not answer connect/);
  });

  it('ends the case as error, then the remaining client cases, when the driver process dies', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/dying-driver.mjs', import.meta.url));
    const second = { ...connecting, id: 'ENC-001-harness-connects-again' };
    const end = await runClient(
      await startClientTarget({ command: `node ${fixture}`, waitMs: 10_000 }),
      [connecting, second],
    );
    expect(end.results.map((r) => r.outcome)).to.deep.equal(['error', 'error']);
    expect(end.breaker).to.match(/driver is gone/);
    expect(end.results.map((r) => r.message).join('\n')).to.match(
      /crashed while connecting|code 3/,
    );
  });

  it('skips client cases when no client is under test, and provider cases when no provider is', async () => {
    const end = await runCases([connecting, fakeCase('PROTO-027-ping')], { validator, seed: 1 });
    expect(end.results.map((r) => [r.subject, r.outcome])).to.deep.equal([
      ['client', 'skip'],
      ['provider', 'skip'],
    ]);
  });
});

describe('parley conform: subjects', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'parley-client-cli-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function conform(args: string[]): Promise<{ code: number; out: string }> {
    let out = '';
    const io: CliIo = { out: (t) => void (out += t), err: (t) => void (out += t) };
    const code = await main(['node', 'parley', 'conform', '--report-dir', dir, ...args], io);
    return { code, out };
  }

  const report = (): {
    results: { id: string; subject: string }[];
    target: Record<string, unknown>;
  } => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as never;

  it('runs provider and client cases with no target flag, and the reports show each subject', async () => {
    const { code, out } = await conform(['--only', 'ENC-039*,PROTO-027*', '--seed', '3']);
    expect(code, out).to.equal(0);
    const subjects = new Set(report().results.map((r) => r.subject));
    expect([...subjects].sort()).to.deep.equal(['client', 'provider']);
    expect(report().target.client).to.include({ embedded: true });
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).to.include(
      'classname="parley.client.ENC"',
    );
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).to.include('[client]');
    expect(out).to.match(/PASS +client ENC-039/);
  });

  it('runs only client cases with --client-cmd alone', async () => {
    const { code, out } = await conform([
      '--client-cmd',
      REFERENCE_DRIVER,
      '--only',
      'ENC-039*,PROTO-027*',
    ]);
    expect(code, out).to.equal(0);
    expect(report().results.map((r) => r.subject)).to.deep.equal(['client']);
  });

  it('lists the subject of every case with --list', async () => {
    const { code, out } = await conform(['--list', '--only', 'ENC-039*']);
    expect(code).to.equal(0);
    expect(out).to.match(/ENC-039-client-fresh-content-ids +client +MUST/);
  });
});

// The suite against the embedded reference provider, through the CLI as a child process: green
// (0 fail, 0 error, exit 0), signed and verifiable, plus --list, usage errors and an unreachable target.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { writePartnerKey } from '../../../conformance/cli/keygen.ts';
import type { Report } from '../../../conformance/reporters/report.ts';
import { loadCatalogue } from '../../../conformance/spec-model/catalogue.ts';

const BIN = join(process.cwd(), 'bin', 'parley.js');

function parley(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('parley conform against the embedded reference provider', function () {
  // The whole suite (about 230 cases) runs in here: minutes on a loaded 2-core machine.
  this.timeout(180_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'parley-conform-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes every case with no fail and no error, exits 0 and writes signed reports', async () => {
    const key = join(dir, 'lab.json');
    await writePartnerKey('lab.example', key);
    const out = join(dir, 'run');
    // Doubled waits: this test checks the verdicts and the signed reports; `npm start` runs the
    // suite at its own timing.
    const run = await parley([
      'conform',
      '--report-dir',
      out,
      '--seed',
      '7',
      '--sign-key',
      key,
      '--timeout-factor',
      '2',
    ]);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
    expect(
      report.summary.fail,
      JSON.stringify(
        report.results.filter((r) => r.outcome !== 'pass').map((r) => [r.id, r.actual, r.message]),
      ),
    ).to.equal(0);
    expect(report.summary.error).to.equal(0);
    expect(report.summary.total).to.be.greaterThan(50);
    expect(report.target.embedded).to.equal(true);
    // pass, fail, warn, skip, error, total: skips are allowed (a case that needs a long wait).
    expect(run.stdout).to.match(/all\s+\d+\s+0\s+0\s+\d+\s+0\s+\d+/);
    expect(run.stdout).to.not.include('\u001b[');
    const verify = await parley(['verify-report', out, '--public-key', join(dir, 'lab.pub.json')]);
    expect(verify.code).to.equal(0);
  });

  it('lists selected cases with the requirements they name and those that have a case', async () => {
    const list = await parley(['conform', '--list', '--only', 'ENC-*']);
    expect(list.code).to.equal(0);
    expect(list.stdout).to.include('ENC-003-conversation-byte-exact');
    expect(list.stdout).to.not.include('PROTO-004-bad-json');
    const total = loadCatalogue(join(process.cwd(), 'spec')).requirements.length;
    expect(list.stdout).to.match(
      new RegExp(
        `cases selected, naming \\d+ requirements; requirements that have a case \\d+/${total}, none \\d+`,
      ),
    );
  });

  it('exits 2 on a usage error', async () => {
    expect((await parley(['conform', '--concurrency', '0'])).code).to.equal(2);
    expect((await parley(['conform', '--target', 'ws://127.0.0.1:9/x'])).code).to.equal(2);
  });

  it('exits 2 when the target does not accept connections', async () => {
    const key = join(dir, 'partner.json');
    await writePartnerKey('partner.example', key);
    const run = await parley([
      'conform',
      '--target',
      'ws://127.0.0.1:9/parley/v1',
      '--registration-token',
      'x',
      '--partner-key',
      key,
      '--report-dir',
      join(dir, 'down'),
    ]);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(/preflight: the target .* is unreachable/);
  });

  it('fails the run when an expected failure passes', async () => {
    const list = join(dir, 'xfail.txt');
    await import('node:fs').then((fs) => fs.writeFileSync(list, 'PROTO-027\n'));
    const run = await parley([
      'conform',
      '--only',
      'PROTO-027*',
      '--expect-failures',
      list,
      '--report-dir',
      join(dir, 'x'),
    ]);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.include('UNEXPECTED PASS');
  });
});

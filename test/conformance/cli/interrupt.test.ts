// Interrupts and secrets (issue 14): Ctrl-C during `parley conform` writes a partial report marked
// interrupted and exits 130; the run's temporary directories are private (0700, the key file in
// them 0600) and gone afterwards, on every way out.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { expect } from 'chai';
import { startClientTarget } from '../../../conformance/client/target.ts';
import type { Report } from '../../../conformance/reporters/report.ts';
import { liveTempDirs, makeTempDir, removeAllTempDirs } from '../../../conformance/runner/temp.ts';
import { startEmbeddedTarget } from '../../../conformance/transport/embedded.ts';

describe('parley conform interrupted, and its temporary files', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'parley-interrupt-test-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a partial report marked interrupted on Ctrl-C, exits 130 and leaves no temporary directory behind', async () => {
    const tmp = join(dir, 'tmp');
    const reportDir = join(dir, 'reports');
    await import('node:fs').then((fs) => fs.mkdirSync(tmp));
    const child = spawn(
      process.execPath,
      ['bin/parley.js', 'conform', '--seed', '1', '--concurrency', '1', '--report-dir', reportDir],
      { env: { ...process.env, TMPDIR: tmp, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    child.stdout.on('data', (d: Buffer) => {
      out += String(d);
      if (!sent && /\[\s*3\/\d+\]/.test(out)) {
        sent = true;
        expect(readdirSync(tmp).filter((f) => f.startsWith('parley-'))).to.not.deep.equal([]);
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(sent, out + err).to.equal(true);
    expect(code, out + err).to.equal(130);
    expect(err).to.include('SIGINT: finishing the cases in flight');
    const report = JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8')) as Report;
    expect(report.interrupted).to.equal(true);
    expect(report.exitCode).to.equal(130);
    const notRun = report.results.filter((r) => r.message === 'not run: the run was interrupted');
    expect(notRun.length).to.be.above(10);
    expect(report.results.filter((r) => r.outcome === 'pass').length).to.be.above(1);
    expect(readFileSync(join(reportDir, 'report.html'), 'utf8')).to.include(
      'INCOMPLETE</b> — the run was interrupted',
    );
    expect(readdirSync(tmp).filter((f) => f.startsWith('parley-'))).to.deep.equal([]);
  });

  it('creates temporary directories 0700 with the client partner key 0600, and removes them all at exit', async () => {
    const made = makeTempDir('parley-mode-test-');
    expect(statSync(made).mode & 0o777).to.equal(0o700);
    const client = await startClientTarget({ waitMs: 10_000 });
    try {
      expect(statSync(client.partner.keyFile).mode & 0o777).to.equal(0o600);
      const keyDir = join(client.partner.keyFile, '..');
      expect(statSync(keyDir).mode & 0o777).to.equal(0o700);
      expect(liveTempDirs()).to.include(keyDir);
    } finally {
      await client.close();
    }
    expect(liveTempDirs()).to.include(made);
    removeAllTempDirs(); // what the 'exit' listener runs
    expect(liveTempDirs()).to.deep.equal([]);
    expect(() => statSync(made)).to.throw();
  });
  it("keeps the embedded provider's store private: its SQLite file, WAL and shared memory 0600, in 0700", async () => {
    const target = await startEmbeddedTarget();
    let dir: string | undefined;
    try {
      dir = liveTempDirs().find((d) => basename(d).startsWith('parley-conform-'));
      expect(dir, 'the embedded target made a parley-conform- directory').to.be.a('string');
      const modes = Object.fromEntries(
        readdirSync(dir!).map((name) => [name, statSync(join(dir!, name)).mode & 0o777]),
      );
      expect(modes).to.include({ 'provider.db': 0o600, 'provider.db-wal': 0o600 });
      for (const [name, mode] of Object.entries(modes))
        expect(mode, name).to.equal(statSync(join(dir!, name)).isDirectory() ? 0o700 : 0o600);
    } finally {
      await target.stop();
    }
    expect(() => statSync(dir!)).to.throw();
  });
});

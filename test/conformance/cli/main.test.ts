// The `parley` program itself: version, help and the exit code 2 for usage errors, run in-process
// through `main` and once as the real binary.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { main } from '../../../conformance/cli/main.ts';
import type { CliIo } from '../../../conformance/cli/context.ts';
import { REPO, runParley } from '../spec-fixtures.ts';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(['node', 'parley', ...args], io);
  return { code, out, err };
}

describe('parley command line', function () {
  this.timeout(30_000);

  it('prints the package version for --version and exits 0', async function () {
    const pkg = JSON.parse(readFileSync(`${REPO}/package.json`, 'utf8')) as { version: string };
    const result = await run('--version');
    expect(result.code).to.equal(0);
    expect(result.out.trim()).to.equal(pkg.version);
  });

  it('lists the spec command and the exit codes in --help and exits 0', async function () {
    const result = await run('--help');
    expect(result.code).to.equal(0);
    expect(result.out).to.include('spec').and.include('Exit codes');
  });

  it('documents --spec-dir and --out in the help of spec docs', async function () {
    const result = await run('spec', 'docs', '--help');
    expect(result.code).to.equal(0);
    expect(result.out)
      .to.include('--spec-dir')
      .and.include('--out')
      .and.include('reports/spec-docs');
  });

  it('exits 2 with a usage hint on stderr for an unknown subcommand', async function () {
    const result = await run('frobnicate');
    expect(result.code).to.equal(2);
    expect(result.err).to.include("unknown command 'frobnicate'").and.include('parley --help');
    expect(result.out).to.equal('');
  });

  it('exits 2 for an unknown option of spec check', async function () {
    const result = await run('spec', 'check', '--no-such-option');
    expect(result.code).to.equal(2);
    expect(result.err).to.include("unknown option '--no-such-option'");
  });

  it('exits 2 when spec is given without a subcommand', async function () {
    const result = await run('spec');
    expect(result.code).to.equal(2);
    expect(result.err).to.include('check').and.include('docs');
  });

  it('exits 2 from the real binary for an unknown subcommand', async function () {
    const result = await runParley(['frobnicate']);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('unknown command');
  });
});

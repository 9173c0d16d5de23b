// tools/build.js (`npm run build`, the `prepare` script): the JavaScript it compiles runs the
// `parley` command line by itself, without tsx, and carries a stamp that makes it current.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { distIsCurrent, sourceFiles, STAMP_FILE } from '../../bin/dist-state.js';
import { REPO } from '../conformance/spec-fixtures.ts';

const run = promisify(execFile);

/** Runs the compiled CLI's `main` from `out` in a plain node (no loader), as bin/parley.js does. */
async function compiledParley(
  out: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const script =
    `const { main } = await import(${JSON.stringify(join(out, 'conformance', 'cli', 'main.js'))});` +
    `process.exitCode = await main(['node', 'parley', ...${JSON.stringify(args)}]);`;
  try {
    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: REPO,
      timeout: 120_000,
      // No loader inherited from mocha: what runs is the compiled JavaScript or nothing.
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('tools/build.js', function () {
  this.timeout(240_000);
  // Inside the package (so that the compiled modules find its package.json as dist/'s do), in the
  // ignored dist/ (so that lint and format never see it), beside a real build, not in it.
  const outDir = join('dist', `.test-${process.pid}`);
  const out = join(REPO, outDir);

  before(async function () {
    await run(process.execPath, ['tools/build.js', '--out', outDir], {
      cwd: REPO,
      timeout: 200_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
  });
  after(function () {
    rmSync(out, { recursive: true, force: true });
  });

  it('compiles every source of schemas/, reference-impl/ and conformance/ to a .js file', function () {
    const sources = sourceFiles(REPO, ['schemas', 'reference-impl', 'conformance']);
    expect(sources.length).to.be.greaterThan(200);
    const missing = sources.filter((f) => !existsSync(join(out, f.replace(/\.ts$/, '.js'))));
    expect(missing).to.deep.equal([]);
    const stamp = JSON.parse(readFileSync(join(out, STAMP_FILE), 'utf8')) as { dirs: string[] };
    expect(stamp.dirs).to.deep.equal(['schemas', 'reference-impl', 'conformance']);
    expect(distIsCurrent(REPO, outDir)).to.equal(true);
  });

  it('rewrites the .ts extensions of relative imports, static and dynamic, to .js', function () {
    const options = readFileSync(join(out, 'conformance', 'cli', 'conform-options.js'), 'utf8');
    expect(options).to.match(/import\(["']\.\/conform\.js["']\)/);
    const main = readFileSync(join(out, 'conformance', 'cli', 'main.js'), 'utf8');
    expect(main).to.match(/from ["']\.\/conform-options\.js["']/);
    expect(main).not.to.match(/from ["'][^"']*\.ts["']/);
  });

  it('makes JavaScript that answers parley --version without tsx', async function () {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      version: string;
    };
    const result = await compiledParley(out, ['--version']);
    expect(result).to.deep.include({ code: 0, stderr: '' });
    expect(result.stdout.trim()).to.equal(pkg.version);
  });

  it('makes JavaScript that finds the spec and the schemas from one level deeper (parley spec check)', async function () {
    const result = await compiledParley(out, ['spec', 'check']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^spec check: 0 problems in /);
  });
});

// `parley spec docs` run as a child process: writes index.html and index.md that name every
// message and every error code, and the HTML loads nothing from the network.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { ERROR_CODE_LIST } from '../../../schemas/errors.ts';
import { ASYNCAPI_FILE } from '../../../conformance/spec-model/asyncapi.ts';
import { SourceSet } from '../../../conformance/spec-model/sources.ts';
import { runParley, SPEC_DIR, type RunResult } from '../spec-fixtures.ts';

/** The `name` (else the key) of every message of every channel, read from the raw YAML. */
function messageNames(): string[] {
  const root = join(SPEC_DIR, ASYNCAPI_FILE);
  const raw = parse(readFileSync(root, 'utf8')) as {
    channels: Record<string, { messages?: Record<string, unknown> }>;
  };
  const sources = new SourceSet();
  return Object.entries(raw.channels).flatMap(([channel, { messages }]) =>
    Object.keys(messages ?? {}).map((key) => {
      const at = sources.locate({ file: root, segments: ['channels', channel, 'messages', key] });
      const value = sources.valueAt(at) as { name?: string };
      return value.name ?? key;
    }),
  );
}

describe('parley spec docs', function () {
  this.timeout(60_000);
  let out: string;
  let run: RunResult;
  let html: string;
  let markdown: string;

  before(async function () {
    out = mkdtempSync(join(tmpdir(), 'parley-docs-'));
    run = await runParley(['spec', 'docs', '--out', out]);
    html = readFileSync(join(out, 'index.html'), 'utf8');
    markdown = readFileSync(join(out, 'index.md'), 'utf8');
  });

  after(() => rmSync(out, { recursive: true, force: true }));

  it('exits 0 and says which files it wrote', function () {
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include('index.html').and.include('index.md');
  });

  it('names every message of the AsyncAPI document in both files', function () {
    const names = messageNames();
    expect(names.length).to.be.greaterThan(10);
    for (const name of names) {
      expect(html, name).to.include(`<code>${name}</code>`);
      expect(markdown, name).to.include(`\`${name}\``);
    }
  });

  it('lists every error code of the registry in both files', function () {
    for (const code of ERROR_CODE_LIST) {
      expect(html, code).to.include(`<code>${code}</code>`);
      expect(markdown, code).to.include(`\`${code}\``);
    }
  });

  it('loads no resource from the network and runs no script', function () {
    expect(html).to.match(/^<!doctype html>/);
    expect(html).not.to.match(/<(link|script|iframe|object|embed)\b/i);
    expect(html).not.to.match(
      /<(img|source|video|audio|input)\b[^>]*\bsrc\s*=\s*["']?(https?:)?\/\//i,
    );
    expect(html).not.to.match(/url\(\s*["']?(https?:)?\/\//i);
    expect(html).not.to.match(/@import/i);
  });

  it('lists the requirements grouped by area with their level', function () {
    expect(html).to.match(/<h3 id="req-enc">ENC<\/h3>/);
    expect(markdown).to.match(/^\| ENC-\d{3} \| (MUST|SHOULD|MAY) \|/m);
  });
  it('names an --out it cannot write in one line and exits 2', async function () {
    const file = join(out, 'index.md'); // a file, so no directory can be made below it
    const failed = await runParley(['spec', 'docs', '--out', join(file, 'docs')]);
    expect(failed.code, failed.stderr).to.equal(2);
    expect(failed.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(failed.stderr).to.include('--out').and.include('index.md').and.include('ENOTDIR');
  });
});

// The AsyncAPI and OpenAPI documents lint without an error or a warning under Spectral's own
// `spectral:asyncapi` and `spectral:oas` rulesets (issue 14), run through Spectral's CLI as
// `npm run spec:lint` does; a document with an unused component schema is caught.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { copySpec, editYaml, REPO, SPEC_DIR } from '../conformance/spec-fixtures.ts';

const SPECTRAL = join(REPO, 'node_modules', '.bin', 'spectral');

interface SpectralResult {
  code: string;
  path: string[];
  message: string;
  /** 0 error, 1 warning, 2 information, 3 hint. */
  severity: number;
}

/** Lints one document with one of tools/spectral/'s rulesets; the errors and warnings found. */
async function lint(document: string, ruleset: 'asyncapi' | 'oas'): Promise<string[]> {
  const args = [
    'lint',
    '--format',
    'json',
    '--quiet',
    '--ruleset',
    join(REPO, 'tools', 'spectral', `${ruleset}.yaml`),
    document,
  ];
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(SPECTRAL, args, { cwd: REPO, timeout: 120_000 }));
  } catch (error) {
    // Spectral exits 1 when it found an error; the JSON is on stdout either way.
    const e = error as { code?: unknown; stdout?: string };
    if (e.code !== 1 || !e.stdout) throw error;
    stdout = e.stdout;
  }
  const results = JSON.parse(stdout || '[]') as SpectralResult[];
  return results
    .filter((r) => r.severity <= 1)
    .map((r) => `${r.code} at ${r.path.join('.')}: ${r.message}`);
}

describe('the spec documents under Spectral', function () {
  this.timeout(180_000);

  it('lints spec/parley.asyncapi.yaml without an error or a warning under spectral:asyncapi', async function () {
    expect(await lint(join(SPEC_DIR, 'parley.asyncapi.yaml'), 'asyncapi')).to.deep.equal([]);
  });

  it('lints spec/openapi/attachments.yaml without an error or a warning under spectral:oas', async function () {
    expect(await lint(join(SPEC_DIR, 'openapi', 'attachments.yaml'), 'oas')).to.deep.equal([]);
  });

  it('reports an unused component schema in the AsyncAPI document as a warning', async function () {
    const copy = copySpec();
    try {
      const file = join(copy.specDir, 'parley.asyncapi.yaml');
      editYaml(file, (doc) => doc.setIn(['components', 'schemas', 'Unused'], { type: 'string' }));
      expect(await lint(file, 'asyncapi')).to.deep.equal([
        'asyncapi-unused-components-schema at components.schemas.Unused: Potentially unused components schema has been detected.',
      ]);
    } finally {
      copy.remove();
    }
  });
});

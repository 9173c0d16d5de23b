// The OpenAPI check: version 3.1.x, and error codes of responses known to the registry with
// the registry's HTTP status.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { checkOpenApi } from '../../../conformance/spec-model/openapi.ts';
import { SPEC_DIR } from '../spec-fixtures.ts';

function specWith(openapi: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-openapi-'));
  mkdirSync(join(dir, 'openapi'));
  writeFileSync(join(dir, 'openapi', 'attachments.yaml'), openapi);
  return dir;
}

const doc = (version: string, code: string, status: number): string => `openapi: ${version}
info: { title: t, version: '1' }
paths:
  /blobs/{id}:
    put:
      responses:
        '${status}':
          description: refused
          content:
            application/json:
              example: { code: ${code}, message: no }
`;

describe('the OpenAPI check', function () {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const check = (text: string): string[] => {
    const dir = specWith(text);
    dirs.push(dir);
    return checkOpenApi(dir).diagnostics.map((d) => `${d.path ?? ''}: ${d.message}`);
  };

  it('finds nothing wrong with the real attachments document', function () {
    const { diagnostics, summary } = checkOpenApi(SPEC_DIR);
    expect(diagnostics).to.deep.equal([]);
    expect(summary.version).to.match(/^3\.1\./);
  });

  it('accepts a registered code under its registry status', function () {
    expect(check(doc('3.1.0', 'DIGEST_MISMATCH', 422))).to.deep.equal([]);
  });

  it('refuses OpenAPI 3.0', function () {
    expect(check(doc('3.0.3', 'DIGEST_MISMATCH', 422))).to.deep.equal([
      'openapi: openapi must be 3.1.x, found "3.0.3"',
    ]);
  });

  it('names an error code the registry does not know', function () {
    const [line] = check(doc('3.1.0', 'TEAPOT', 418));
    expect(line).to.match(
      /^paths\.\/blobs\/\{id\}\.put\.responses\.418\..*TEAPOT is not in the registry/,
    );
  });

  it('names a code answered with a status other than the registry’s', function () {
    expect(check(doc('3.1.0', 'DIGEST_MISMATCH', 400))[0]).to.include(
      'HTTP 400, the registry says 422',
    );
  });

  it('reports a missing document', function () {
    const dir = mkdtempSync(join(tmpdir(), 'parley-openapi-'));
    dirs.push(dir);
    expect(checkOpenApi(dir).diagnostics[0]?.message).to.equal('the OpenAPI document is missing');
  });
});

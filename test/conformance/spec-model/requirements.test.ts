// The requirement side of spec check: the real catalogue loads, and the error table of
// spec/errors.md agrees with the registry (a changed status is named with its line).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  areaOf,
  checkErrorTable,
  loadRequirements,
} from '../../../conformance/spec-model/requirements.ts';
import { SPEC_DIR } from '../spec-fixtures.ts';

describe('the requirement and error-table checks', function () {
  it('loads the real catalogue without a diagnostic', function () {
    const view = loadRequirements(SPEC_DIR);
    expect(view.diagnostics).to.deep.equal([]);
    expect(view.requirements.length).to.be.greaterThan(0);
    expect(new Set(view.requirements.map(areaOf))).to.include('ENC');
  });

  it('finds the real error table in agreement with the registry', function () {
    expect(checkErrorTable(SPEC_DIR)).to.deep.equal([]);
  });

  it('names the code and line when the table gives DIGEST_MISMATCH another HTTP status', function () {
    const dir = mkdtempSync(join(tmpdir(), 'parley-errors-'));
    try {
      copyFileSync(join(SPEC_DIR, 'errors.md'), join(dir, 'errors.md'));
      const lines = readFileSync(join(dir, 'errors.md'), 'utf8').split('\n');
      const index = lines.findIndex((l) => l.startsWith('| `DIGEST_MISMATCH`'));
      lines[index] = (lines[index] ?? '').replace('| 422 ', '| 400 ');
      writeFileSync(join(dir, 'errors.md'), lines.join('\n'));
      const [diagnostic] = checkErrorTable(dir);
      expect(diagnostic).to.include({ line: index + 1, path: 'DIGEST_MISMATCH' });
      expect(diagnostic?.message).to.include('HTTP status');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

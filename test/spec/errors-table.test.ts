// Checks the error table of spec/errors.md#registry against the registry in schemas/errors.ts.
import { expect } from 'chai';
import { extractErrorTable } from '../../conformance/spec-model/prose.ts';
import { ERROR_CODES, ERROR_CODE_LIST } from '../../schemas/errors.ts';
import type { ErrorCodeInfo } from '../../schemas/errors.ts';

describe('the error table of spec/errors.md', () => {
  const { rows, diagnostics } = extractErrorTable('spec');
  const info = (code: string): ErrorCodeInfo =>
    (ERROR_CODES as Record<string, ErrorCodeInfo>)[code] as ErrorCodeInfo;

  it('parses without diagnostics', () => {
    expect(diagnostics).to.deep.equal([]);
  });

  it('lists exactly the codes of the registry, in registry order', () => {
    expect(rows.map((row) => row.code)).to.deep.equal(ERROR_CODE_LIST);
  });

  it('gives every code the carriers, HTTP status, survival and close code of the registry', () => {
    for (const row of rows) {
      const entry = info(row.code);
      expect(
        {
          carriers: row.carriers,
          httpStatus: row.httpStatus,
          connectionSurvives: row.connectionSurvives,
          closeCode: row.closeCode,
        },
        row.code,
      ).to.deep.equal({
        carriers: [...entry.carriers],
        httpStatus: entry.httpStatus,
        connectionSurvives: entry.connectionSurvives,
        closeCode: entry.closeCode,
      });
    }
  });

  it('states the meaning and the occasion of every code as the registry does', () => {
    for (const row of rows) {
      const entry = info(row.code);
      expect([row.meaning, row.sentWhen], row.code).to.deep.equal([entry.meaning, entry.sentWhen]);
    }
  });

  it('gives a close code exactly to the codes that end the connection', () => {
    for (const row of rows) {
      expect(row.closeCode === undefined, row.code).to.equal(row.connectionSurvives);
    }
  });
});

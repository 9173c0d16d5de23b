// The requirement side of the spec as spec check and the docs see it: the catalogue
// (spec/requirements.yaml, catalogue.ts), its agreement with the prose, and spec/errors.md's table.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, type ErrorCodeInfo } from '../../schemas/errors.ts';
import {
  checkCatalogueAgainstProse,
  loadCatalogue,
  type CatalogueRequirement,
} from './catalogue.ts';
import type { Diagnostic } from './diagnostics.ts';
import { extractErrorTable, normaliseWhitespace } from './prose.ts';

/** One catalogue entry (catalogue.ts owns the type). */
export type Requirement = CatalogueRequirement;

/** What the requirement side of the spec yields for the check and the docs. */
export interface RequirementsView {
  requirements: Requirement[];
  /** Catalogue faults (duplicate IDs, bad fields), prose disagreements, errors-table disagreements. */
  diagnostics: Diagnostic[];
}

/** The requirement's area: the ID's prefix (`ENC` of `ENC-003`). */
export function areaOf(requirement: Pick<Requirement, 'id'>): string {
  return requirement.id.replace(/-\d+$/, '');
}

function same(a: string, b: string): boolean {
  const plain = (s: string): string => normaliseWhitespace(s.replace(/\\\|/g, '|'));
  return plain(a) === plain(b);
}

/**
 * Compares the error table of spec/errors.md with the registry (schemas/errors.ts): the same
 * codes, and per code the same meaning, sending condition, carriers, HTTP status, survival, close code.
 */
export function checkErrorTable(
  specDir: string,
  registry: Readonly<Record<string, ErrorCodeInfo>> = ERROR_CODES,
): Diagnostic[] {
  const file = join(specDir, 'errors.md');
  if (!existsSync(file)) return [{ file, message: 'the error chapter errors.md is missing' }];
  const { rows, diagnostics } = extractErrorTable(specDir);
  const out: Diagnostic[] = [...diagnostics];
  const seen = new Set<string>();
  for (const row of rows) {
    const where = { file, line: row.line, path: row.code };
    seen.add(row.code);
    const info = registry[row.code];
    if (!info) {
      out.push({
        ...where,
        message: `error code ${row.code} is not in the registry (schemas/errors.ts)`,
      });
      continue;
    }
    const differs = (what: string, table: unknown, reg: unknown): void =>
      void out.push({
        ...where,
        message: `${what} of ${row.code} differs from the registry: table ${JSON.stringify(table)}, registry ${JSON.stringify(reg)}`,
      });
    if (!same(row.meaning, info.meaning)) differs('meaning', row.meaning, info.meaning);
    if (!same(row.sentWhen, info.sentWhen)) differs('"sent when"', row.sentWhen, info.sentWhen);
    if ([...row.carriers].sort().join(',') !== [...info.carriers].sort().join(','))
      differs('carriers', row.carriers, info.carriers);
    if (row.httpStatus !== info.httpStatus) differs('HTTP status', row.httpStatus, info.httpStatus);
    if (row.connectionSurvives !== info.connectionSurvives)
      differs('connection survival', row.connectionSurvives, info.connectionSurvives);
    if (row.closeCode !== info.closeCode) differs('close code', row.closeCode, info.closeCode);
  }
  for (const code of Object.keys(registry)) {
    if (!seen.has(code))
      out.push({ file, message: `registry code ${code} is missing from the error table` });
  }
  return out;
}

/**
 * Loads the catalogue and runs the prose and errors-table checks. Never throws: a helper that
 * fails becomes a diagnostic on the catalogue file.
 */
export function loadRequirements(specDir: string): RequirementsView {
  const catalogueFile = join(specDir, 'requirements.yaml');
  const diagnostics: Diagnostic[] = [];
  let requirements: Requirement[] = [];
  try {
    const loaded = loadCatalogue(specDir);
    requirements = loaded.requirements;
    diagnostics.push(...loaded.diagnostics, ...checkCatalogueAgainstProse(specDir));
  } catch (error) {
    diagnostics.push({
      file: catalogueFile,
      message: `the catalogue checks failed: ${(error as Error).message}`,
    });
  }
  try {
    diagnostics.push(...checkErrorTable(specDir));
  } catch (error) {
    diagnostics.push({
      file: join(specDir, 'errors.md'),
      message: `the errors-table check failed: ${(error as Error).message}`,
    });
  }
  return { requirements, diagnostics };
}

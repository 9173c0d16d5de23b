// report.json: the report model as pretty JSON, written once; its exact bytes are what
// report.json.sig signs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from './report.ts';

export const REPORT_JSON = 'report.json';

/** The bytes of report.json. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Writes `dir/report.json`; returns its path. */
export function writeJsonReport(dir: string, report: Report): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, REPORT_JSON);
  writeFileSync(file, renderJson(report));
  return file;
}

// Expected failures: a JSON list or a text file (one ID per line, `#` comments) of case IDs or
// requirement IDs whose failure is known; a listed case that passes fails the run instead.
import { readFileSync } from 'node:fs';

/** Parses the file's text: a JSON array of strings, or lines of IDs. Throws on a malformed JSON list. */
export function parseExpectedFailures(text: string): Set<string> {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    const list = JSON.parse(trimmed) as unknown;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string'))
      throw new Error('an expected-failures JSON file must be an array of ID strings');
    return new Set(list.map((x) => x.trim()));
  }
  return new Set(
    text
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim())
      .filter((line) => line !== ''),
  );
}

export function loadExpectedFailures(file: string): Set<string> {
  return parseExpectedFailures(readFileSync(file, 'utf8'));
}

/** Whether a result of `caseId` covering `requirements` (failing on `failed`) is listed. */
export function isListed(
  listed: ReadonlySet<string>,
  caseId: string,
  requirements: readonly string[],
  failed?: string,
): boolean {
  if (listed.has(caseId)) return true;
  if (failed !== undefined) return listed.has(failed);
  return requirements.some((r) => listed.has(r));
}

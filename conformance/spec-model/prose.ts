// Reads the normative prose of spec/*.md: requirement items, heading anchors and the error table.
// Realises the conventions of spec/README.md#conventions and the registry table of spec/errors.md.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnostic } from './diagnostics.ts';

/** A normative sentence of the prose, carrying its requirement ID. */
export interface ProseRequirement {
  id: string;
  /** The sentence without its bold ID, whitespace-normalised. */
  text: string;
  /** File name relative to the spec folder, for example `crypto.md`. */
  file: string;
  /** GitHub anchor of the nearest heading above the item (empty before the first heading). */
  anchor: string;
  line: number;
}

export type Level = 'MUST' | 'SHOULD' | 'MAY';

export const REQUIREMENT_ID = /^(PROTO|AUTH|KEYS|ENC|ATT|CONSENT|DELIV|GROUP)-\d{3}$/;

// A top-level list item that opens with a bold word shaped like an ID, well-formed or not.
const ITEM_START = /^[-*] \*\*([A-Z][A-Z0-9]*-[^*\s]*)\*\*(?:\s+(.*))?$/;
const ANY_ITEM = /^\s*(?:[-*+]|\d+[.)])\s/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const FENCE = /^\s*(```|~~~)/;
const KEYWORDS =
  /\b(MUST NOT|MUST|SHOULD NOT|SHOULD|MAY|SHALL NOT|SHALL|REQUIRED|RECOMMENDED|OPTIONAL)\b/g;

/** Collapses runs of whitespace to one space and trims. */
export function normaliseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Removes inline code spans, so that key words quoted as code do not count. */
function stripCode(text: string): string {
  return text.replace(/(`+)[\s\S]*?\1/g, '');
}

/** The strongest BCP 14 key word of a sentence (MUST NOT counts as MUST), outside code spans. */
export function strongestLevel(text: string): Level | undefined {
  const words = new Set(stripCode(text).match(KEYWORDS) ?? []);
  if (words.has('MUST') || words.has('MUST NOT')) return 'MUST';
  if (words.has('SHOULD') || words.has('SHOULD NOT')) return 'SHOULD';
  if (words.has('MAY')) return 'MAY';
  return undefined;
}

/** GitHub's heading anchor (github-slugger without the de-duplication suffix). */
export function slugify(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The markdown files of the spec folder (not its subfolders), sorted. */
export function proseFiles(specDir: string): string[] {
  return readdirSync(specDir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => entry.name)
    .sort();
}

/** Every heading anchor of a markdown text, with GitHub's `-1`, `-2` suffixes for repeats. */
export function headingAnchors(markdown: string): string[] {
  const anchors: string[] = [];
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (FENCE.test(line)) inFence = !inFence;
    if (inFence) continue;
    const heading = HEADING.exec(line);
    if (!heading) continue;
    anchors.push(uniqueSlug(heading[2] ?? '', seen));
  }
  return anchors;
}

function uniqueSlug(heading: string, seen: Map<string, number>): string {
  const base = slugify(heading);
  const count = seen.get(base) ?? 0;
  seen.set(base, count + 1);
  return count === 0 ? base : `${base}-${count}`;
}

/**
 * Extracts the requirement items of every spec/*.md file. Diagnostics report malformed or
 * duplicate IDs, items without a key word or final full stop, and key words outside items.
 */
export function extractProseRequirements(specDir: string): {
  requirements: ProseRequirement[];
  diagnostics: Diagnostic[];
} {
  const requirements: ProseRequirement[] = [];
  const diagnostics: Diagnostic[] = [];
  const firstSeen = new Map<string, ProseRequirement>();
  for (const name of proseFiles(specDir)) {
    const file = join(specDir, name);
    const found = extractFromMarkdown(readFileSync(file, 'utf8'), name, file, diagnostics);
    for (const requirement of found) {
      const earlier = firstSeen.get(requirement.id);
      if (earlier) {
        diagnostics.push({
          file,
          path: requirement.id,
          line: requirement.line,
          message: `duplicate requirement ID ${requirement.id} (first in ${earlier.file} line ${earlier.line})`,
        });
        continue;
      }
      firstSeen.set(requirement.id, requirement);
      requirements.push(requirement);
    }
  }
  return { requirements, diagnostics };
}

function extractFromMarkdown(
  markdown: string,
  name: string,
  file: string,
  diagnostics: Diagnostic[],
): ProseRequirement[] {
  const lines = markdown.split('\n');
  const result: ProseRequirement[] = [];
  const seen = new Map<string, number>();
  let anchor = '';
  let inFence = false;
  let open: { id: string; parts: string[]; line: number } | undefined;

  const close = (): void => {
    if (!open) return;
    const text = normaliseWhitespace(open.parts.join(' '));
    const where = { file, path: open.id, line: open.line };
    if (strongestLevel(text) === undefined) {
      diagnostics.push({ ...where, message: `${open.id} has no BCP 14 key word` });
    }
    if (!text.endsWith('.')) {
      diagnostics.push({ ...where, message: `${open.id} does not end with a full stop` });
    }
    result.push({ id: open.id, text, file: name, anchor, line: open.line });
    open = undefined;
  };

  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (FENCE.test(line)) {
      close();
      inFence = !inFence;
      return;
    }
    if (inFence) return;
    const heading = HEADING.exec(line);
    if (heading) {
      close();
      anchor = uniqueSlug(heading[2] ?? '', seen);
      checkStrayKeywords(line, file, lineNo, diagnostics);
      return;
    }
    const item = ITEM_START.exec(line);
    if (item) {
      close();
      const id = item[1] ?? '';
      if (!REQUIREMENT_ID.test(id)) {
        diagnostics.push({ file, line: lineNo, message: `malformed requirement ID "${id}"` });
        return;
      }
      open = { id, parts: [item[2] ?? ''], line: lineNo };
      return;
    }
    if (open && line.trim() !== '' && /^\s/.test(line) && !ANY_ITEM.test(line)) {
      open.parts.push(line);
      return;
    }
    close();
    checkStrayKeywords(line, file, lineNo, diagnostics);
  });
  close();
  return result;
}

function checkStrayKeywords(
  line: string,
  file: string,
  lineNo: number,
  diagnostics: Diagnostic[],
): void {
  const words = stripCode(line).match(KEYWORDS);
  if (words) {
    diagnostics.push({
      file,
      line: lineNo,
      message: `key word ${words[0]} outside a requirement item`,
    });
  }
}

/** One row of the registry table in spec/errors.md. */
export interface ErrorTableRow {
  code: string;
  meaning: string;
  sentWhen: string;
  carriers: string[];
  httpStatus?: number;
  connectionSurvives: boolean;
  closeCode?: number;
  line: number;
}

const ERROR_TABLE_HEADER = [
  'code',
  'meaning',
  'sent when',
  'carrier',
  'http status',
  'connection survives',
  'close code',
];

/** Splits a markdown table row into trimmed cells, honouring `\|` escapes. */
function tableCells(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

function optionalNumber(cell: string): number | undefined | null {
  if (cell === '—' || cell === '-' || cell === '') return undefined;
  return /^\d+$/.test(cell) ? Number(cell) : null;
}

/** Reads the error-code table of spec/errors.md (the table whose header starts with "Code"). */
export function extractErrorTable(specDir: string): {
  rows: ErrorTableRow[];
  diagnostics: Diagnostic[];
} {
  const file = join(specDir, 'errors.md');
  const rows: ErrorTableRow[] = [];
  const diagnostics: Diagnostic[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((line) => {
    const cells = line.trim().startsWith('|') ? tableCells(line) : [];
    return cells.map((cell) => cell.toLowerCase()).join('|') === ERROR_TABLE_HEADER.join('|');
  });
  if (start < 0) {
    diagnostics.push({ file, message: 'no error table with the expected header' });
    return { rows, diagnostics };
  }
  for (let index = start + 2; index < lines.length; index++) {
    const line = lines[index] ?? '';
    if (!line.trim().startsWith('|')) break;
    const lineNo = index + 1;
    const cells = tableCells(line);
    if (cells.length !== ERROR_TABLE_HEADER.length) {
      diagnostics.push({ file, line: lineNo, message: `expected 7 cells, found ${cells.length}` });
      continue;
    }
    const [code, meaning, sentWhen, carrier, status, survives, close] = cells as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const httpStatus = optionalNumber(status);
    const closeCode = optionalNumber(close);
    if (httpStatus === null || closeCode === null || !/^(yes|no)$/.test(survives)) {
      diagnostics.push({ file, line: lineNo, message: `unreadable row for ${code}` });
      continue;
    }
    rows.push({
      code: code.replace(/^`|`$/g, ''),
      meaning,
      sentWhen,
      carriers: carrier.split(',').map((part) => part.trim()),
      ...(httpStatus === undefined ? {} : { httpStatus }),
      connectionSurvives: survives === 'yes',
      ...(closeCode === undefined ? {} : { closeCode }),
      line: lineNo,
    });
  }
  return { rows, diagnostics };
}

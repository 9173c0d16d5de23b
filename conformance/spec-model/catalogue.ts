// Loads and validates the requirement catalogue spec/requirements.yaml and checks it against the
// normative prose. Realises spec/README.md#requirement-catalogue; `parley spec check` reuses it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import {
  REQUIREMENT_ID,
  extractProseRequirements,
  headingAnchors,
  normaliseWhitespace,
  strongestLevel,
} from './prose.ts';
import type { Diagnostic } from './diagnostics.ts';
import type { Level } from './prose.ts';

export type { Level, ProseRequirement } from './prose.ts';

export const CATALOGUE_FILE = 'requirements.yaml';
export const LEVELS: readonly Level[] = ['MUST', 'SHOULD', 'MAY'];
export const DMA_PROVISIONS = ['7(2)', '7(2)(b)', '7(3)', '7(7)', '7(8)'] as const;
export const PARTIES = ['provider', 'client'] as const;

export type DmaProvision = (typeof DMA_PROVISIONS)[number];
export type Party = (typeof PARTIES)[number];

/** One entry of spec/requirements.yaml. */
export interface CatalogueRequirement {
  id: string;
  level: Level;
  text: string;
  /** `file.md#anchor`, relative to the spec folder. */
  section: string;
  dma: DmaProvision[];
  binds: Party[];
  /** 1-based line of the entry in the catalogue file. */
  line?: number;
}

const MEMBERS = ['id', 'level', 'text', 'section', 'dma', 'binds'];
const SECTION = /^([a-z0-9][a-z0-9._-]*\.md)#([\p{L}\p{M}\p{N}_-]+)$/u;

/**
 * Parses and validates the catalogue. Entries with a fault are reported in `diagnostics` and left
 * out of `requirements`.
 */
export function loadCatalogue(specDir: string): {
  requirements: CatalogueRequirement[];
  diagnostics: Diagnostic[];
} {
  const file = join(specDir, CATALOGUE_FILE);
  const requirements: CatalogueRequirement[] = [];
  const diagnostics: Diagnostic[] = [];
  if (!existsSync(file)) {
    diagnostics.push({ file, message: 'the requirement catalogue is missing' });
    return { requirements, diagnostics };
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(readFileSync(file, 'utf8'), { lineCounter, prettyErrors: false });
  const lineOf = (node: Node | null | undefined): number | undefined =>
    node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  for (const error of document.errors) {
    diagnostics.push({
      file,
      line: error.linePos?.[0]?.line,
      message: `YAML: ${error.message}`,
    });
  }
  if (document.errors.length > 0) return { requirements, diagnostics };
  const root = document.contents;
  if (!isSeq(root)) {
    diagnostics.push({ file, message: 'the catalogue must be a YAML list of requirements' });
    return { requirements, diagnostics };
  }

  const ids = new Map<string, number | undefined>();
  root.items.forEach((item, index) => {
    const path = `/${index}`;
    const line = lineOf(item as Node);
    const report = (member: string | undefined, message: string, at = line): void => {
      diagnostics.push({ file, path: member ? `${path}/${member}` : path, line: at, message });
    };
    if (!isMap(item)) {
      report(undefined, 'entry is not a mapping');
      return;
    }
    const value = item.toJSON() as Record<string, unknown>;
    const memberLine = (member: string): number | undefined =>
      lineOf(item.get(member, true) as Node | undefined) ?? line;
    let valid = true;
    const fail = (member: string | undefined, message: string): void => {
      valid = false;
      report(member, message, member ? memberLine(member) : line);
    };

    for (const key of Object.keys(value)) {
      if (!MEMBERS.includes(key)) fail(key, `unknown member "${key}"`);
    }
    const { id, level, text, section, dma, binds } = value;
    if (typeof id !== 'string' || !REQUIREMENT_ID.test(id)) {
      fail('id', `id must match ${REQUIREMENT_ID.source}`);
    } else if (ids.has(id)) {
      fail('id', `duplicate id ${id} (first at line ${ids.get(id) ?? '?'})`);
    } else {
      ids.set(id, line);
    }
    if (typeof level !== 'string' || !(LEVELS as readonly string[]).includes(level)) {
      fail('level', `level must be one of ${LEVELS.join(', ')}`);
    }
    if (typeof text !== 'string' || normaliseWhitespace(text) === '') {
      fail('text', 'text must be a non-empty string');
    }
    if (typeof section !== 'string' || !SECTION.test(section)) {
      fail('section', 'section must be "<file>.md#<anchor>"');
    }
    if (!isNonEmptySubset(dma, DMA_PROVISIONS)) {
      fail(
        'dma',
        `dma must be a non-empty list of distinct values among ${DMA_PROVISIONS.join(', ')}`,
      );
    }
    if (!isNonEmptySubset(binds, PARTIES)) {
      fail(
        'binds',
        `binds must be a non-empty list of distinct values among ${PARTIES.join(', ')}`,
      );
    }
    if (!valid) return;
    requirements.push({
      id: id as string,
      level: level as Level,
      text: normaliseWhitespace(text as string),
      section: section as string,
      dma: dma as DmaProvision[],
      binds: binds as Party[],
      ...(line === undefined ? {} : { line }),
    });
  });
  return { requirements, diagnostics };
}

function isNonEmptySubset(value: unknown, allowed: readonly string[]): boolean {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((entry) => typeof entry === 'string' && allowed.includes(entry)) &&
    new Set(value).size === value.length
  );
}

/**
 * Checks catalogue and prose against each other: the same IDs on both sides, the same sentence,
 * the level of the sentence's strongest key word, and a section that exists and holds the
 * sentence. Also returns the prose's extraction diagnostics, but not loadCatalogue's own (callers
 * that want those call loadCatalogue), so that the two can be combined without duplicates.
 */
export function checkCatalogueAgainstProse(specDir: string): Diagnostic[] {
  const catalogue = loadCatalogue(specDir);
  const prose = extractProseRequirements(specDir);
  const diagnostics = [...prose.diagnostics];
  const file = join(specDir, CATALOGUE_FILE);
  const proseById = new Map(prose.requirements.map((r) => [r.id, r]));
  const catalogued = new Set(catalogue.requirements.map((r) => r.id));
  const anchorCache = new Map<string, Set<string> | undefined>();
  const anchorsOf = (name: string): Set<string> | undefined => {
    if (!anchorCache.has(name)) {
      const path = join(specDir, name);
      anchorCache.set(
        name,
        existsSync(path) ? new Set(headingAnchors(readFileSync(path, 'utf8'))) : undefined,
      );
    }
    return anchorCache.get(name);
  };

  for (const entry of catalogue.requirements) {
    const where = {
      file,
      path: entry.id,
      ...(entry.line === undefined ? {} : { line: entry.line }),
    };
    const [sectionFile = '', sectionAnchor = ''] = entry.section.split('#');
    const anchors = anchorsOf(sectionFile);
    const sectionExists = anchors?.has(sectionAnchor) ?? false;
    if (!anchors) {
      diagnostics.push({ ...where, message: `section file ${sectionFile} does not exist` });
    } else if (!sectionExists) {
      diagnostics.push({ ...where, message: `${sectionFile} has no heading #${sectionAnchor}` });
    }
    const sentence = proseById.get(entry.id);
    if (!sentence) {
      diagnostics.push({ ...where, message: `${entry.id} does not appear in the prose` });
      continue;
    }
    if (sentence.text !== entry.text) {
      diagnostics.push({
        ...where,
        message: `text of ${entry.id} differs from the prose (${sentence.file} line ${sentence.line})`,
      });
    }
    const level = strongestLevel(sentence.text);
    if (level !== entry.level) {
      diagnostics.push({
        ...where,
        message: `level of ${entry.id} is ${entry.level} but its sentence says ${level ?? 'nothing'}`,
      });
    }
    const actual = `${sentence.file}#${sentence.anchor}`;
    if (sectionExists && actual !== entry.section) {
      diagnostics.push({
        ...where,
        message: `section of ${entry.id} is ${entry.section} but the sentence is in ${actual}`,
      });
    }
  }
  for (const sentence of prose.requirements) {
    if (!catalogued.has(sentence.id)) {
      diagnostics.push({
        file: join(specDir, sentence.file),
        path: sentence.id,
        line: sentence.line,
        message: `${sentence.id} is missing from ${CATALOGUE_FILE}`,
      });
    }
  }
  return diagnostics;
}

// Case selection (BRIEF.md, conformance suite): `--only` and `--exclude` ID globs over case IDs
// and requirement IDs; IDs are never positional.
import type { AnyCase } from './case.ts';

/** A glob over IDs: `*` any run of characters, `?` one; case-insensitive, whole ID. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.+()|{}[\]]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

/** Splits repeated and comma-separated glob options into a list. */
export function parseGlobs(values: readonly string[]): string[] {
  return values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** Whether any glob matches the case's ID or one of its requirement IDs. */
export function matchesAny(c: AnyCase, globs: readonly RegExp[]): boolean {
  return globs.some((g) => g.test(c.id) || c.requirements.some((r) => g.test(r)));
}

/** The cases selected by `only` (all when empty) minus those matched by `exclude`, in ID order. */
export function selectCases<C extends AnyCase>(
  cases: readonly C[],
  only: readonly string[] = [],
  exclude: readonly string[] = [],
): C[] {
  const o = only.map(globToRegExp);
  const x = exclude.map(globToRegExp);
  return cases
    .filter((c) => (o.length === 0 || matchesAny(c, o)) && !matchesAny(c, x))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Faults of a case list: duplicate IDs, missing requirements, requirement IDs unknown to the catalogue. */
export function checkCases(cases: readonly AnyCase[], known?: ReadonlySet<string>): string[] {
  const faults: string[] = [];
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.id)) faults.push(`duplicate case ID ${c.id}`);
    seen.add(c.id);
    if (c.requirements.length === 0) faults.push(`${c.id} names no requirement`);
    if (known)
      for (const r of c.requirements)
        if (!known.has(r)) faults.push(`${c.id} names ${r}, which is not in the catalogue`);
  }
  return faults;
}

// Where this package's files are on disk, the same whether a module runs from its TypeScript
// source (tsx) or from the JavaScript that `npm run build` compiled into dist/ (one level deeper).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root directory: the nearest directory above this module that holds a
 * package.json (dist/ has none, so compiled modules find the same root as their sources).
 */
export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

/** A path inside the package: `packagePath('spec')` is the spec directory. */
export function packagePath(...segments: string[]): string {
  return join(PACKAGE_ROOT, ...segments);
}

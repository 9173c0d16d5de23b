// Whether dist/ holds exactly what `npm run build` (tools/build.js) compiled from the sources now on
// disk. The build records the size and modification time of every source it compiled (and of the
// tsconfig files) in dist/.build-stamp.json, taken before compiling; dist/ is current only while
// the same files exist with the same size and time. Plain JavaScript: it runs before any build.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The stamp file inside the output directory; written last, so a failed build leaves none. */
export const STAMP_FILE = '.build-stamp.json';

/** The package root, the directory above bin/. */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The files besides the sources whose change makes a build stale. */
export const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json'];

/** Every TypeScript source under `dirs` (declaration files aside), as sorted '/'-separated paths. */
export function sourceFiles(root, dirs) {
  const files = [];
  for (const dir of dirs) {
    for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
      const parent = entry.parentPath ?? entry.path;
      files.push(join(parent, entry.name).slice(root.length + (root.endsWith(sep) ? 0 : 1)));
    }
  }
  return files.map((f) => f.split(sep).join('/')).sort();
}

/** `{ file: [size, mtimeMs] }` for each path relative to root; a missing file maps to null. */
export function fileStates(root, files) {
  const states = {};
  for (const file of files) {
    try {
      const s = statSync(join(root, file));
      states[file] = [s.size, s.mtimeMs];
    } catch {
      states[file] = null;
    }
  }
  return states;
}

/**
 * True when `<root>/<outDir>` was built from exactly the files now under the stamp's source
 * directories, none of them changed since (size and modification time), and neither tsconfig.
 */
export function distIsCurrent(root = PACKAGE_ROOT, outDir = 'dist') {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(root, outDir, STAMP_FILE), 'utf8'));
  } catch {
    return false;
  }
  if (!Array.isArray(stamp?.dirs) || typeof stamp.files !== 'object' || stamp.files === null)
    return false;
  let now;
  try {
    now = fileStates(root, [...CONFIG_FILES, ...sourceFiles(root, stamp.dirs)]);
  } catch {
    return false; // a source directory went away
  }
  const names = Object.keys(now);
  if (names.length !== Object.keys(stamp.files).length) return false;
  return names.every((name) => {
    const [was, is] = [stamp.files[name], now[name]];
    return Array.isArray(was) && is !== null && was[0] === is[0] && was[1] === is[1];
  });
}

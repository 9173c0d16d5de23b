// Types of bin/dist-state.js (plain JavaScript, since it runs before any build).

/** The stamp file inside the output directory. */
export const STAMP_FILE: string;
/** The package root, the directory above bin/. */
export const PACKAGE_ROOT: string;
/** The files besides the sources whose change makes a build stale. */
export const CONFIG_FILES: readonly string[];
/** Every TypeScript source under `dirs` (declaration files aside), sorted, '/'-separated. */
export function sourceFiles(root: string, dirs: readonly string[]): string[];
/** `{ file: [size, mtimeMs] }` for each path relative to root; a missing file maps to null. */
export function fileStates(
  root: string,
  files: readonly string[],
): Record<string, [number, number] | null>;
/** True when `<root>/<outDir>` was built from exactly the sources now on disk. */
export function distIsCurrent(root?: string, outDir?: string): boolean;

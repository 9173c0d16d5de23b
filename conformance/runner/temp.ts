// Temporary directories of a run (the embedded provider's SQLite file, the client target's partner
// key): created private (0700, files in them 0600), and deleted on every way out of the process:
// a normal end, an error, an interrupt (`process.exit` after Ctrl-C runs the 'exit' listeners).
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<string>();
let hooked = false;

/** Creates a private temporary directory `<tmp>/<prefix>XXXXXX` that is removed at exit at the latest. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o700); // mkdtemp creates 0700 already; made explicit, whatever the platform
  live.add(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', removeAllTempDirs);
  }
  return dir;
}

/** Attempts at removing a directory that is still there after a removal reported success. */
const REMOVE_ATTEMPTS = 3;

/** Removes a directory made by makeTempDir. */
export function removeTempDir(dir: string): void {
  // Retried: a removal that finds a file made after its listing fails ENOTEMPTY, and on Node 24 one
  // that meets a file deleted under it can return without an error and leave the directory (seen
  // when SQLite's checkpoint worker closed late: store/sqlite/checkpointer.ts now waits for it).
  for (let attempt = 1; attempt <= REMOVE_ATTEMPTS && existsSync(dir); attempt++)
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  live.delete(dir);
}

/** Removes every temporary directory still there (synchronous: safe in an 'exit' listener). */
export function removeAllTempDirs(): void {
  for (const dir of [...live]) removeTempDir(dir);
}

/** The temporary directories still there (for tests). */
export function liveTempDirs(): readonly string[] {
  return [...live];
}

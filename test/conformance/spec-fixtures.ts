// Test support for the spec tools: the real spec's paths, throw-away copies of it with one
// thing broken, and a runner for the real `parley` binary as a child process.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { Document } from 'yaml';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const SPEC_DIR = join(REPO, 'spec');
export const SCHEMA_DIR = join(REPO, 'schemas', 'json');
export const MINIMAL_SPEC_DIR = join(REPO, 'test', 'fixtures', 'spec', 'minimal', 'spec');
export const MINIMAL_SCHEMA_DIR = join(
  REPO,
  'test',
  'fixtures',
  'spec',
  'minimal',
  'schemas',
  'json',
);
const BIN = join(REPO, 'bin', 'parley.js');

/** A copy of a spec (spec/ beside schemas/json/) in a temporary directory. */
export interface SpecCopy {
  root: string;
  specDir: string;
  schemaDir: string;
  remove: () => void;
}

/** Copies the real spec (or another `spec` + `schemas/json` pair) into a fresh temporary directory. */
export function copySpec(specDir = SPEC_DIR, schemaDir = SCHEMA_DIR): SpecCopy {
  const root = mkdtempSync(join(tmpdir(), 'parley-spec-'));
  cpSync(specDir, join(root, 'spec'), { recursive: true });
  cpSync(schemaDir, join(root, 'schemas', 'json'), { recursive: true });
  return {
    root,
    specDir: join(root, 'spec'),
    schemaDir: join(root, 'schemas', 'json'),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Edits a YAML file in place through the `yaml` document API (comments and layout kept). */
export function editYaml(file: string, edit: (doc: Document) => void): void {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  edit(doc);
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
}

/** The outcome of one `parley` run. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/parley.js ...args` and resolves with its exit code and output (never rejects on exit code). */
export function runParley(args: string[], cwd = REPO): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

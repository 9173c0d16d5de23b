// `npm run build`, also the `prepare` script that `npm ci` and `npm install` run: compiles the
// TypeScript that `parley` runs (tsconfig.build.json: schemas/, reference-impl/, conformance/) to
// JavaScript in dist/, so that bin/parley.js starts without tsx. Transpiles file by file, as tsx
// does at run time (the sources use verbatimModuleSyntax, so no file needs another to compile);
// type checking is `npm run typecheck`, part of `npm test`. `--out DIR` builds elsewhere (tests).
// Plain JavaScript, since it is what makes JavaScript of the TypeScript.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CONFIG_FILES,
  fileStates,
  PACKAGE_ROOT,
  sourceFiles,
  STAMP_FILE,
} from '../bin/dist-state.js';

const fail = (message) => {
  process.stderr.write(`parley build: ${message}\n`);
  process.exit(1);
};

const { values } = parseArgs({ options: { out: { type: 'string', default: 'dist' } } });
const started = performance.now();
let ts;
try {
  ts = (await import('typescript')).default;
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  fail('typescript is not installed; install with `npm ci` (the build needs the devDependencies)');
}

const root = PACKAGE_ROOT;
const out = resolve(root, values.out);
const parsed = ts.getParsedCommandLineOfConfigFile(
  join(root, 'tsconfig.build.json'),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) =>
      fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
  },
);
if (parsed.errors.length > 0)
  fail(parsed.errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('; '));
const dirs = parsed.raw.include;
const files = sourceFiles(root, dirs);
// What bin/dist-state.js will compare against must be what is compiled: the include list is
// plain directories, so every .ts below them, no more, no less.
const compiled = parsed.fileNames
  .filter((f) => !f.endsWith('.d.ts'))
  .map((f) => relative(root, f).split('\\').join('/'))
  .sort();
if (compiled.join('\n') !== files.join('\n'))
  fail('tsconfig.build.json must include whole directories only (no exclude patterns, no files)');

// Taken before compiling: a source saved during the build makes the result stale, not current.
const states = fileStates(root, [...CONFIG_FILES, ...files]);
rmSync(out, { recursive: true, force: true });
const options = {
  ...parsed.options,
  // One file at a time: ES modules as written (NodeNext needs the package.json lookup).
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
};
const problems = [];
for (const file of files) {
  const result = ts.transpileModule(readFileSync(join(root, file), 'utf8'), {
    compilerOptions: options,
    fileName: join(root, file),
    reportDiagnostics: true,
  });
  for (const d of result.diagnostics ?? [])
    problems.push(`${file}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  const target = join(out, file.replace(/\.ts$/, '.js'));
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, result.outputText);
}
if (problems.length > 0) fail(`not compiled:\n  ${problems.join('\n  ')}`);
writeFileSync(
  join(out, STAMP_FILE),
  `${JSON.stringify({ builtAt: new Date().toISOString(), dirs, files: states })}\n`,
);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
process.stdout.write(
  `parley build: ${files.length} modules compiled to ${relative(process.cwd(), out) || out} in ${seconds} s\n`,
);

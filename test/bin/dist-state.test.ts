// bin/dist-state.js: dist/ counts as current only while every compiled source is as it was when
// the build started, so bin/parley.js never runs JavaScript older than the TypeScript beside it.
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  CONFIG_FILES,
  distIsCurrent,
  fileStates,
  sourceFiles,
  STAMP_FILE,
} from '../../bin/dist-state.js';

describe('bin/dist-state.js', function () {
  let root: string;
  const stamp = (): void => {
    const files = fileStates(root, [...CONFIG_FILES, ...sourceFiles(root, ['src'])]);
    mkdirSync(join(root, 'dist'), { recursive: true });
    writeFileSync(join(root, 'dist', STAMP_FILE), JSON.stringify({ dirs: ['src'], files }));
  };

  beforeEach(function () {
    root = mkdtempSync(join(tmpdir(), 'parley-dist-state-'));
    for (const file of CONFIG_FILES) writeFileSync(join(root, file), '{}\n');
    mkdirSync(join(root, 'src', 'deep'), { recursive: true });
    writeFileSync(join(root, 'src', 'a.ts'), 'export const a = 1;\n');
    writeFileSync(join(root, 'src', 'deep', 'b.ts'), 'export const b = 2;\n');
    writeFileSync(join(root, 'src', 'types.d.ts'), 'export type T = 1;\n');
    writeFileSync(join(root, 'src', 'notes.md'), 'not a source\n');
  });
  afterEach(function () {
    rmSync(root, { recursive: true, force: true });
  });

  it('lists the TypeScript sources below the directories, declaration files and others aside', function () {
    expect(sourceFiles(root, ['src'])).to.deep.equal(['src/a.ts', 'src/deep/b.ts']);
  });

  it('finds no current build when there is no stamp', function () {
    expect(distIsCurrent(root)).to.equal(false);
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist', STAMP_FILE), 'not json');
    expect(distIsCurrent(root)).to.equal(false);
  });

  it('finds the build current while nothing it compiled changed, even if other files did', function () {
    stamp();
    writeFileSync(join(root, 'src', 'notes.md'), 'edited\n');
    expect(distIsCurrent(root)).to.equal(true);
  });

  it('finds the build stale once a source is edited, even to the same size', function () {
    stamp();
    writeFileSync(join(root, 'src', 'deep', 'b.ts'), 'export const b = 3;\n');
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(root, 'src', 'deep', 'b.ts'), later, later);
    expect(distIsCurrent(root)).to.equal(false);
  });

  it('finds the build stale once a source gets an older time back (a restored file)', function () {
    stamp();
    const earlier = new Date(Date.now() - 86_400_000);
    utimesSync(join(root, 'src', 'a.ts'), earlier, earlier);
    expect(distIsCurrent(root)).to.equal(false);
  });

  it('finds the build stale once a source is added or removed', function () {
    stamp();
    writeFileSync(join(root, 'src', 'c.ts'), 'export const c = 3;\n');
    expect(distIsCurrent(root)).to.equal(false);
    unlinkSync(join(root, 'src', 'c.ts'));
    expect(distIsCurrent(root)).to.equal(true);
    unlinkSync(join(root, 'src', 'a.ts'));
    expect(distIsCurrent(root)).to.equal(false);
  });

  it('finds the build stale once a tsconfig file changes', function () {
    stamp();
    writeFileSync(join(root, 'tsconfig.build.json'), '{ "compilerOptions": {} }\n');
    expect(distIsCurrent(root)).to.equal(false);
  });
});

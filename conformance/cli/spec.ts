// `parley spec check` and `parley spec docs`: validate the specification's parts against each
// other, and render its documentation offline from the parsed model (spec/, schemas/json/).
import { relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { packagePath } from '../../schemas/package-root.ts';
// check.ts and docs.ts load the AsyncAPI parser (most of a second): imported when a spec command
// runs, so that every other `parley` command starts without it.
import type { LoadedSpec, SpecCounts } from '../spec-model/check.ts';
import { formatDiagnostic, isFailing } from '../spec-model/diagnostics.ts';
import { EXIT, type CliContext } from './context.ts';

/** The package's own spec directory, the default of `--spec-dir`. */
export const DEFAULT_SPEC_DIR = packagePath('spec');

/** The default output directory of `spec docs` (gitignored), relative to the working directory. */
export const DEFAULT_DOCS_DIR = 'reports/spec-docs';

interface SpecOptions {
  specDir: string;
  schemaDir?: string;
  verbose?: boolean;
}

function display(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return `${rel === '' ? '.' : rel.startsWith('..') ? dir : rel}${sep}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The summary line and the diagnostic lines of a loaded spec; returns the exit code. */
export function reportCheck(
  spec: LoadedSpec,
  counts: SpecCounts,
  context: CliContext,
  verbose = false,
): number {
  const failing = spec.diagnostics.filter(isFailing);
  const notes = spec.diagnostics.filter((d) => !isFailing(d));
  const parts = [
    plural(counts.messages, 'message'),
    plural(counts.examples, 'example'),
    plural(counts.requirements, 'requirement'),
    plural(counts.schemas, 'schema'),
  ];
  const hidden =
    !verbose && notes.length > 0 ? `; ${plural(notes.length, 'note')}, --verbose shows them` : '';
  context.io.out(
    `spec check: ${plural(failing.length, 'problem')} in ${display(spec.specDir)} (${parts.join(', ')})${hidden}\n`,
  );
  for (const d of verbose ? spec.diagnostics : failing) context.io.out(`${formatDiagnostic(d)}\n`);
  return failing.length === 0 ? EXIT.ok : EXIT.findings;
}

function addSpecOptions(command: Command): Command {
  return command
    .option('--spec-dir <dir>', 'the specification directory', DEFAULT_SPEC_DIR)
    .option(
      '--schema-dir <dir>',
      'the JSON Schema directory (default: <spec-dir>/../schemas/json)',
    );
}

/** Registers `parley spec` with its `check` and `docs` subcommands. */
export function registerSpec(program: Command, context: CliContext): void {
  const spec = program
    .command('spec')
    .description('check the specification and render its documentation')
    .addHelpText(
      'after',
      '\nThe spec directory holds parley.asyncapi.yaml, messages/, openapi/, the prose and requirements.yaml.\n',
    );

  addSpecOptions(spec.command('check'))
    .description(
      'cross-check the AsyncAPI document, the JSON Schemas and their examples, the OpenAPI ' +
        'document, the error registry, the requirement catalogue and the prose',
    )
    .option('-v, --verbose', 'also show info and hint diagnostics')
    .addHelpText(
      'after',
      '\nPrints `file:line path: message` per problem. Exit 0 clean, 1 problems, 2 usage error.\n',
    )
    .action(async (options: SpecOptions) => {
      const { countSpec, loadSpec } = await import('../spec-model/check.ts');
      const loaded = await loadSpec({
        specDir: resolve(options.specDir),
        schemaDir: options.schemaDir,
      });
      context.setExitCode(
        reportCheck(loaded, countSpec(loaded), context, options.verbose ?? false),
      );
    });

  addSpecOptions(spec.command('docs'))
    .description('render the specification as one self-contained HTML file and as Markdown')
    .option('--out <dir>', 'output directory', DEFAULT_DOCS_DIR)
    .addHelpText(
      'after',
      '\nWrites <out>/index.html and <out>/index.md; needs no network and no AsyncAPI generator.\n',
    )
    .action(async (options: SpecOptions & { out: string }) => {
      const { countSpec, loadSpec } = await import('../spec-model/check.ts');
      const { writeSpecDocs } = await import('../spec-model/docs.ts');
      const loaded = await loadSpec({
        specDir: resolve(options.specDir),
        schemaDir: options.schemaDir,
      });
      if (!loaded.asyncapi.document) {
        reportCheck(loaded, countSpec(loaded), context);
        context.io.err('spec docs: the AsyncAPI document does not parse; nothing written\n');
        context.setExitCode(EXIT.findings);
        return;
      }
      let files: string[];
      try {
        files = await writeSpecDocs(loaded, resolve(options.out));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        context.io.err(`parley spec docs: cannot write --out ${options.out} (${code})\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      for (const file of files) context.io.out(`wrote ${relative(process.cwd(), file) || file}\n`);
      const failing = loaded.diagnostics.filter(isFailing).length;
      if (failing > 0)
        context.io.err(
          `spec docs: the spec has ${plural(failing, 'problem')}; run \`parley spec check\`\n`,
        );
      context.setExitCode(EXIT.ok);
    });
}

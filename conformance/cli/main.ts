// The `parley` command line: one commander program, one module per subcommand (spec, and later
// conform, serve, keygen, verify-report). Returns the exit code instead of calling process.exit.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { packagePath } from '../../schemas/package-root.ts';
import { EXIT, processIo, type CliContext, type CliIo } from './context.ts';
import { registerConform } from './conform-options.ts';
import { registerKeygen } from './keygen.ts';
import { registerProxy } from './proxy.ts';
import { registerServe } from './serve.ts';
import { registerSpec } from './spec.ts';
import { registerVerifyReport } from './verify-report.ts';

/** Subcommand modules: adding a subcommand is one entry here and one module beside this file. */
const SUBCOMMANDS: readonly ((program: Command, context: CliContext) => void)[] = [
  registerSpec,
  registerServe,
  registerProxy,
  registerKeygen,
  registerConform,
  registerVerifyReport,
];

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

/** Builds the program; subcommands created with `.command()` inherit its output and exit handling. */
export function buildProgram(context: CliContext): Command {
  const program = new Command('parley')
    .description(
      'Parley: an open interoperability protocol for third-party chats (DMA Art. 7): ' +
        'specification tools, reference provider and conformance suite.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    .configureOutput({ writeOut: context.io.out, writeErr: context.io.err })
    .showHelpAfterError('(run `parley --help` for usage)')
    .showSuggestionAfterError(true)
    .exitOverride();
  program.addHelpText(
    'after',
    '\nExit codes: 0 clean, 1 problems found, 2 usage or harness error.\n' +
      'Examples:\n  parley spec check\n  parley spec docs --out reports/spec-docs\n',
  );
  for (const register of SUBCOMMANDS) register(program, context);
  return program;
}

/**
 * Runs `parley` with process-style `argv` (`[node, script, ...args]`) and returns the exit code:
 * 0 success, 1 findings, 2 usage errors (unknown command or option, missing argument).
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram({ io, setExitCode: (code) => void (exitCode = code) });
  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through exitOverride with exit code 0; everything else is usage.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version'
        ? EXIT.ok
        : EXIT.usage;
    }
    // No stack trace for the person at the terminal: one line; PARLEY_DEBUG=1 shows the stack.
    const debug = process.env.PARLEY_DEBUG === '1' && error instanceof Error && error.stack;
    io.err(`parley: ${debug || (error instanceof Error ? error.message : String(error))}\n`);
    return EXIT.usage;
  }
}

// `parley conform`: the command's options (the run itself is conform-run.ts, loaded only when the
// command runs, so that `parley --help` and the other subcommands start without the suite).
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from './context.ts';

/** The options commander parses for `parley conform`. */
export interface ConformOptions {
  target?: string;
  clientCmd?: string;
  operatorCmd?: string;
  registrationToken?: string;
  partnerKey?: string;
  only: string[];
  exclude: string[];
  list?: boolean;
  seed?: string;
  concurrency: string;
  timeoutFactor: string;
  reportDir: string;
  signKey?: string;
  failOn: string;
  expectFailures?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * The program a shell command starts (its first word) when it cannot be found: a path that does
 * not exist, or a name on no PATH directory. Undefined when it is found, or when the command starts
 * with something the shell resolves itself (an assignment, a quote, a builtin).
 */
export function missingProgram(command: string): string | undefined {
  const first = command.trim().split(/\s+/)[0] ?? '';
  if (first === '' || /[='"$`(){}]/.test(first) || SHELL_WORDS.has(first)) return undefined;
  if (first.includes('/')) return existsSync(first) ? undefined : first;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return dirs.some((d) => existsSync(join(d, first))) ? undefined : first;
}

const SHELL_WORDS = new Set(['cd', 'exec', 'env', 'command', 'eval', '.', 'source', 'export']);

export function registerConform(program: Command, context: CliContext): void {
  program
    .command('conform')
    .description(
      'run the conformance suite against a Parley provider and/or client (default: the embedded reference provider and client)',
    )
    .option('--target <url>', 'the ws:// or wss:// client endpoint of the provider under test')
    .option(
      '--client-cmd <command>',
      'test a client: spawn its driver (conformance/CLIENT-DRIVER.md) through the shell',
    )
    .option(
      '--operator-cmd <command>',
      "with --target: spawn the target operator's driver (conformance/OPERATOR-DRIVER.md) through the shell for the restart, clock, peer-bounds and quota hooks",
    )
    .option('--registration-token <token>', 'a registration token for first-party test accounts')
    .option(
      '--partner-key <file>',
      'the partner key file (`parley keygen partner`) the target enlisted',
    )
    .option(
      '--only <glob>',
      'run only cases whose ID or requirement IDs match (repeatable, comma-separated)',
      collect,
      [],
    )
    .option(
      '--exclude <glob>',
      'leave out cases whose ID or requirement IDs match (repeatable)',
      collect,
      [],
    )
    .option('--list', 'list the selected cases and the requirement coverage, run nothing')
    .option('--seed <n>', 'seed for every random choice of the suite (default: random, printed)')
    .option('--concurrency <n>', 'cases run at once (exclusive cases always run alone)', '4')
    .option('--timeout-factor <f>', 'multiply every timeout by f (slow targets)', '1')
    .option('--report-dir <dir>', 'where to write the reports', 'reports/latest')
    .option(
      '--sign-key <file>',
      'sign every report file (a manifest of their SHA-256) with this Ed25519 private JWK',
    )
    .option(
      '--fail-on <level>',
      'fail (default), warn (a broken SHOULD too) or unchecked (a selected MUST the run did not check too, for certification): what makes the run non-conformant',
      'fail',
    )
    .option(
      '--expect-failures <file>',
      'case or requirement IDs expected to fail (JSON list or lines)',
    )
    .action(async (opts: ConformOptions) => {
      const { conform } = await import('./conform-run.ts');
      context.setExitCode(await conform(opts, context));
    });
}

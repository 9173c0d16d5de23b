// `parley conform`'s options. The run itself (conform.ts, which loads the whole suite) is imported
// only when the command runs, so that `parley --help` and the other subcommands start without it.
import type { Command } from 'commander';
import type { ConformOptions } from './conform.ts';
import type { CliContext } from './context.ts';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

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
    .option(
      '--proxy <url>',
      "test a partner proxy (spec/proxy.md): its client endpoint; the suite plays the provider at --proxy-upstream and the platform's clients",
    )
    .option(
      '--proxy-upstream <host:port>',
      'with --proxy: where the suite listens as the provider, the --upstream the proxy was started with (ws://host:port/parley/v1)',
    )
    .option(
      '--proxy-partner-key <file>',
      "with --proxy: the platform's enlisted public key (*.pub.json), which must sign its proxy tokens",
    )
    .option(
      '--proxy-provider-domain <domain>',
      'with --proxy: the provider domain the proxy names in its tokens (default: the host of --proxy-upstream)',
    )
    .option(
      '--proxy-login-cmd <command>',
      "with --proxy: a command run with a test user's address that prints the upgrade headers logging that user in on the platform, as a JSON object",
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
      const { conform } = await import('./conform.ts');
      context.setExitCode(await conform(opts, context));
    });
}

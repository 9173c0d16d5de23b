// `parley verify-report DIR --public-key key.pub.json`: checks report.json.sig, the signed manifest
// of every file the run wrote, and each file against it (exit 0 valid, 1 invalid, 2 usage: missing
// files, a key that is not a public Ed25519 JWK, a private key given as the public one).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { EXIT, type CliContext } from './context.ts';

export function registerVerifyReport(program: Command, context: CliContext): void {
  program
    .command('verify-report')
    .description(
      'check the Ed25519 signature of a conformance report directory and every file it covers',
    )
    .argument('<dir>', 'the report directory (holds report.json and report.json.sig)')
    .requiredOption('--public-key <file>', "the signer's public JWK (`*.pub.json`)")
    .action(async (dir: string, opts: { publicKey: string }) => {
      const { REPORT_JSON } = await import('../reporters/json.ts');
      const { SIGNATURE_FILE, verifyReport } = await import('../reporters/sign.ts');
      for (const file of [join(dir, REPORT_JSON), join(dir, SIGNATURE_FILE), opts.publicKey]) {
        if (!existsSync(file)) {
          context.io.err(`parley verify-report: ${file} does not exist\n`);
          context.setExitCode(EXIT.usage);
          return;
        }
      }
      let outcome: { valid: boolean; reason: string };
      try {
        outcome = verifyReport(dir, opts.publicKey);
      } catch (error) {
        context.io.err(`parley verify-report: ${(error as Error).message}\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      (outcome.valid ? context.io.out : context.io.err)(
        `${outcome.valid ? 'valid' : 'INVALID'}: ${outcome.reason}\n`,
      );
      context.setExitCode(outcome.valid ? EXIT.ok : EXIT.findings);
    });
}

// `parley keygen partner`: writes a partner platform's Ed25519 key pair as a JWK (with `d`, `domain`
// and `kid`, mode 0600) and its public half (`*.pub.json`) for providers to enlist (spec/auth.md).
import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EXIT, type CliContext } from './context.ts';

const DOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The public file beside `out`: `partner.json` → `partner.pub.json`. */
export function publicPath(out: string): string {
  return out.endsWith('.json') ? `${out.slice(0, -5)}.pub.json` : `${out}.pub.json`;
}

/** Generates the key pair files; returns the kid. */
export async function writePartnerKey(domain: string, out: string): Promise<string> {
  // jose is loaded here, not for every `parley` command.
  const { calculateJwkThumbprint, exportJWK, generateKeyPair } = await import('jose');
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', {
    crv: 'Ed25519',
    extractable: true,
  });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const common = { alg: 'EdDSA', use: 'sig', kid, domain };
  const priv = await exportJWK(privateKey);
  writeFileSync(out, `${JSON.stringify({ ...priv, ...common }, null, 2)}\n`, { mode: 0o600 });
  writeFileSync(publicPath(out), `${JSON.stringify({ ...pub, ...common }, null, 2)}\n`, {
    mode: 0o644,
  });
  return kid;
}

export function registerKeygen(program: Command, context: CliContext): void {
  program
    .command('keygen')
    .description("generate a partner platform's Ed25519 signing key (JWK) and its public half")
    .argument('<kind>', 'what to generate: partner')
    .requiredOption('--domain <domain>', "the partner platform's domain, the `iss` of its tokens")
    .option(
      '--out <file>',
      'the private key file (the public half goes to <name>.pub.json)',
      'partner.json',
    )
    .action(async (kind: string, opts: { domain: string; out: string }) => {
      if (kind !== 'partner') {
        context.io.err(`parley keygen: unknown kind ${kind} (expected: partner)\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      if (!DOMAIN.test(opts.domain)) {
        context.io.err(`parley keygen: --domain must be a lowercase DNS name\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      // A key file is never overwritten: it may be the key a provider enlisted.
      const taken = [opts.out, publicPath(opts.out)].find((f) => existsSync(f));
      if (taken) {
        context.io.err(
          `parley keygen: ${taken} exists; move it away or choose another --out (a key is never overwritten)\n`,
        );
        context.setExitCode(EXIT.usage);
        return;
      }
      let kid: string;
      try {
        kid = await writePartnerKey(opts.domain, opts.out);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        context.io.err(`parley keygen: cannot write --out ${opts.out} (${code})\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      context.io.out(
        `wrote ${opts.out} (private, mode 0600) and ${publicPath(opts.out)} (enlist this one); kid ${kid}\n`,
      );
      context.setExitCode(EXIT.ok);
    });
}

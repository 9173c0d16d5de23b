// `parley proxy`: runs the reference partner proxy (reference-impl/proxy, spec/proxy.md) in front of
// a provider, logging JSON lines to stderr, until SIGTERM or SIGINT.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { JWK } from 'jose';
// The proxy (ws, jose) is loaded when the command runs, not for `parley --help`.
import type { RunningProxy } from '../../reference-impl/proxy/index.ts';
import { readKeyFile } from '../reporters/sign.ts';
import { EXIT, type CliContext } from './context.ts';

interface ProxyCliOptions {
  upstream: string;
  providerDomain?: string;
  listen: string;
  partnerKey: string;
  loginKey: string[];
  loginAudience?: string;
  tlsCert?: string;
  tlsKey?: string;
  upstreamCa?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `host:port`, `[v6]:port` or a bare port (on loopback). */
export function parseListen(value: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

export function registerProxy(program: Command, context: CliContext): void {
  program
    .command('proxy')
    .description(
      'run the reference partner proxy: one upstream connection to the provider per logged-in client of the platform (spec/proxy.md)',
    )
    .requiredOption('--upstream <url>', "the provider's client endpoint, wss://…/parley/v1")
    .requiredOption(
      '--partner-key <file>',
      "the platform's private partner key (parley keygen partner), enlisted with the provider",
    )
    .requiredOption(
      '--login-key <file>',
      "public key (JWK, or an array) of the platform's login service: clients send an EdDSA JWT it signed in the Parley-Login header (repeatable)",
      collect,
      [],
    )
    .option('--login-audience <aud>', 'the aud login tokens must name (default: parley-proxy)')
    .option(
      '--provider-domain <domain>',
      "the provider's domain, the aud of proxy tokens (default: the upstream's host name)",
    )
    .option('--listen <host:port>', 'where clients connect', '127.0.0.1:8443')
    .option('--tls-cert <file>', 'serve wss:// and https:// to clients with this PEM certificate')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--upstream-ca <file>', 'extra PEM CA certificates to trust for the upstream')
    .action(async (opts: ProxyCliOptions) => {
      const usage = (message: string): void => {
        context.io.err(`parley proxy: ${message}\n`);
        context.setExitCode(EXIT.usage);
      };
      const listen = parseListen(opts.listen);
      if (!listen) return usage('--listen must be host:port');
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined))
        return usage('--tls-cert and --tls-key go together');
      let upstream: URL;
      try {
        upstream = new URL(opts.upstream);
      } catch {
        return usage('--upstream must be a ws:// or wss:// URL');
      }
      if (upstream.protocol !== 'wss:' && upstream.protocol !== 'ws:')
        return usage('--upstream must be a ws:// or wss:// URL');
      let proxy: RunningProxy;
      try {
        const { DEFAULT_LOGIN_AUDIENCE, importSigningKey, jwtLogin, startProxy } =
          await import('../../reference-impl/proxy/index.ts');
        const key = await importSigningKey(readKeyFile(opts.partnerKey) as JWK);
        const loginKeys = opts.loginKey.flatMap((file) => {
          const parsed = readKeyFile(file) as JWK | JWK[];
          const keys = Array.isArray(parsed) ? parsed : [parsed];
          for (const k of keys)
            if (k.kty !== 'OKP' || k.crv !== 'Ed25519' || 'd' in k)
              throw new Error(`${file}: not a public Ed25519 JWK`);
          return keys;
        });
        proxy = await startProxy({
          upstream: opts.upstream,
          providerDomain: opts.providerDomain ?? upstream.hostname,
          key,
          login: jwtLogin(loginKeys, opts.loginAudience ?? DEFAULT_LOGIN_AUDIENCE),
          host: listen.host,
          port: listen.port,
          ...(opts.tlsCert && opts.tlsKey
            ? { tls: { cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey) } }
            : {}),
          ...(opts.upstreamCa ? { upstreamCa: readFileSync(opts.upstreamCa) } : {}),
          log: (event, fields) =>
            context.io.err(
              `${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`,
            ),
        });
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        return usage(
          e.code === 'EADDRINUSE' ? `${opts.listen} is in use` : e.message.replace(/\s+/g, ' '),
        );
      }
      await new Promise<void>((resolve) => {
        const stop = (): void => void proxy.close().then(resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      context.setExitCode(EXIT.ok);
    });
}

// `parley serve`: runs the reference provider (reference-impl/server) with an embedded SQLite store,
// logging JSON lines to stderr, until SIGTERM or SIGINT (spec/framing.md PROTO-036 on shutdown).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
// The provider (SQLite, libsodium) is loaded when the command runs, not for `parley --help`.
import type {
  EnlistedPartnerKey,
  EnlistedProxy,
  LimitOverrides,
  Logger,
  startProvider as StartProvider,
} from '../../reference-impl/server/index.ts';
import { readKeyFile } from '../reporters/sign.ts';
import { EXIT, type CliContext } from './context.ts';

/** Reads the JSON file of --config; the Error names what is wrong with it. */
function readConfig(file: string): ServeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot be read (${code})`,
      {
        cause: error,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not JSON`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`${file}: not a JSON object of settings`);
  return parsed as ServeConfig;
}

/** Reads the file an option names; the Error names the option, the file and what is wrong. */
function readOption(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `${option} ${file}: no such file`
        : `${option} ${file}: cannot be read (${code})`,
      { cause: error },
    );
  }
}

/** The settings `--config` may hold; command-line options win over the file. */
export interface ServeConfig {
  port?: number;
  host?: string;
  db?: string;
  domain?: string;
  registrationTokens?: string[];
  enlist?: string[];
  /** Files of enlisted partner proxies (spec/proxy.md#enlistment), as `--enlist-proxy`. */
  enlistProxy?: string[];
  limits?: LimitOverrides;
  tlsCert?: string;
  tlsKey?: string;
  tlsTerminatedUpstream?: boolean;
  /**
   * Test only: run the provider's clock this many milliseconds ahead of real time, so that expiry
   * (queue TTL, blob expiresAt) can be reached without waiting. The reference operator driver
   * (conformance/operator/reference-operator.ts) sets it for the suite's clock hook; a
   * deployment never should.
   */
  clockAheadMs?: number;
}

interface ServeOptions {
  port?: string;
  host?: string;
  db?: string;
  domain?: string;
  registrationToken: string[];
  enlist: string[];
  enlistProxy: string[];
  config?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsTerminatedUpstream?: boolean;
  logLevel: string;
}

/** Log levels, least severe first: `--log-level warn` keeps warn and error. */
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Reads an enlisted public key file (one JWK with `domain` and `kid`, or an array of them). */
export function readPartnerKeys(file: string): EnlistedPartnerKey[] {
  const parsed = readKeyFile(file) as EnlistedPartnerKey | EnlistedPartnerKey[];
  const keys = Array.isArray(parsed) ? parsed : [parsed];
  for (const k of keys) {
    if (typeof k !== 'object' || k === null) throw new Error(`${file}: not an Ed25519 public JWK`);
    if (k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string')
      throw new Error(`${file}: not an Ed25519 public JWK`);
    if (typeof k.domain !== 'string' || typeof k.kid !== 'string')
      throw new Error(`${file}: the key needs "domain" and "kid"`);
    if ('d' in k) throw new Error(`${file}: holds a private key; enlist the .pub.json file`);
  }
  return keys;
}

/**
 * Reads an enlisted proxy file: one `{domain, addresses, maxConnections?}` object or an array of
 * them (spec/proxy.md#enlistment). The platform's keys are enlisted with `--enlist`.
 */
export function readProxyEnlistments(file: string): EnlistedProxy[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code ? `${file}: cannot be read (${code})` : `${file}: not JSON`, {
      cause: error,
    });
  }
  const entries = Array.isArray(parsed) ? parsed : [parsed];
  for (const e of entries as Record<string, unknown>[]) {
    if (typeof e !== 'object' || e === null || typeof e.domain !== 'string')
      throw new Error(`${file}: a proxy needs "domain", its platform`);
    if (
      !Array.isArray(e.addresses) ||
      e.addresses.length === 0 ||
      !e.addresses.every((a) => typeof a === 'string')
    )
      throw new Error(
        `${file}: a proxy needs "addresses", the IPs or CIDR blocks it connects from`,
      );
    if (
      e.maxConnections !== undefined &&
      (!Number.isSafeInteger(e.maxConnections) || (e.maxConnections as number) < 1)
    )
      throw new Error(`${file}: "maxConnections" must be a positive integer`);
  }
  return entries as EnlistedProxy[];
}

export function registerServe(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description('run the reference provider (WebSocket /parley/v1, SQLite store)')
    .option('--port <port>', 'TCP port, 0 for a free one (default 8080)')
    .option('--host <host>', 'interface to bind (default 127.0.0.1)')
    .option('--db <file>', 'SQLite database file (default ./data/parley.db)')
    .option('--domain <domain>', "the provider's domain (default parley.localhost)")
    .option('--registration-token <token>', 'a registration token (repeatable)', collect, [])
    .option('--enlist <file>', "a partner's public key file (repeatable)", collect, [])
    .option(
      '--enlist-proxy <file>',
      "a partner's proxy: JSON {domain, addresses, maxConnections?} (repeatable; spec/proxy.md)",
      collect,
      [],
    )
    .option('--tls-cert <file>', 'serve wss:// and https:// with this PEM certificate chain')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option(
      '--tls-terminated-upstream',
      'TLS is terminated in front of this provider: allow plain ws:// on a non-loopback --host',
    )
    .option('--config <file>', 'a JSON file with the same settings')
    .option(
      '--log-level <level>',
      'debug, info, warn or error: the least severe level logged',
      'info',
    )
    .action(async (opts: ServeOptions) => {
      const usage = (message: string): void => {
        context.io.err(`parley serve: ${message}\n`);
        context.setExitCode(EXIT.usage);
      };
      const minimum = LOG_LEVELS.indexOf(opts.logLevel as (typeof LOG_LEVELS)[number]);
      if (minimum < 0) return usage('--log-level must be debug, info, warn or error');
      let config: ServeConfig = {};
      if (opts.config)
        try {
          config = readConfig(opts.config);
        } catch (error) {
          return usage(`--config ${(error as Error).message}`);
        }
      const { jsonLogger, startProvider } = await import('../../reference-impl/server/index.ts');
      const tokens = [...(config.registrationTokens ?? []), ...opts.registrationToken];
      const json = jsonLogger((line) => context.io.err(line));
      const logger: Logger = {
        log: (level, event, fields) => {
          if (LOG_LEVELS.indexOf(level) >= minimum) json.log(level, event, fields);
        },
      };
      // A generated token is printed only once the provider runs: a start that fails prints none.
      const generated = tokens.length === 0;
      if (generated) tokens.push(randomBytes(18).toString('base64url'));
      let partners: EnlistedPartnerKey[];
      try {
        partners = [...(config.enlist ?? []), ...opts.enlist].flatMap(readPartnerKeys);
      } catch (error) {
        return usage(`--enlist ${(error as Error).message}`);
      }
      let proxies: EnlistedProxy[];
      try {
        proxies = [...(config.enlistProxy ?? []), ...opts.enlistProxy].flatMap(
          readProxyEnlistments,
        );
      } catch (error) {
        return usage(`--enlist-proxy ${(error as Error).message}`);
      }
      const port = opts.port !== undefined ? Number(opts.port) : (config.port ?? 8080);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        context.io.err(`parley serve: --port must be an integer from 0 to 65535\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      const certFile = opts.tlsCert ?? config.tlsCert;
      const keyFile = opts.tlsKey ?? config.tlsKey;
      if ((certFile === undefined) !== (keyFile === undefined)) {
        context.io.err(`parley serve: --tls-cert and --tls-key go together\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      const clockAheadMs = config.clockAheadMs ?? 0;
      if (!Number.isSafeInteger(clockAheadMs) || clockAheadMs < 0) {
        context.io.err(`parley serve: clockAheadMs in --config must be a non-negative integer\n`);
        context.setExitCode(EXIT.usage);
        return;
      }
      let tls: { cert: Buffer; key: Buffer } | undefined;
      if (certFile && keyFile)
        try {
          tls = { cert: readOption('--tls-cert', certFile), key: readOption('--tls-key', keyFile) };
        } catch (error) {
          return usage((error as Error).message);
        }
      if (clockAheadMs > 0) logger.log('warn', 'clock.ahead', { ms: clockAheadMs, testOnly: true });
      let provider: Awaited<ReturnType<typeof StartProvider>>;
      try {
        provider = await startProvider({
          ...(tls ? { tls } : {}),
          tlsTerminatedUpstream:
            opts.tlsTerminatedUpstream ?? config.tlsTerminatedUpstream ?? false,
          port,
          host: opts.host ?? config.host ?? '127.0.0.1',
          dbPath: opts.db ?? config.db ?? './data/parley.db',
          domain: opts.domain ?? config.domain ?? 'parley.localhost',
          registrationTokens: tokens,
          partners,
          proxies,
          ...(config.limits ? { limits: config.limits } : {}),
          ...(clockAheadMs > 0 ? { now: () => Date.now() + clockAheadMs } : {}),
          logger,
        });
      } catch (error) {
        // A refused configuration (PROTO-001 without TLS), an unreadable file, a port in use.
        const e = error as NodeJS.ErrnoException;
        return usage(
          e.code === 'EADDRINUSE'
            ? `port ${port} on ${opts.host ?? config.host ?? '127.0.0.1'} is in use`
            : e.code === 'EACCES' && e.syscall === 'listen'
              ? `not allowed to listen on port ${port}`
              : e.message.replace(/\s+/g, ' '),
        );
      }
      // Whatever --log-level says: without it, nobody could register.
      if (generated) json.log('info', 'registration.token', { token: tokens[0], generated: true });
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          logger.log('info', 'signal', { signal });
          void provider.close().then(resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      context.setExitCode(EXIT.ok);
    });
}

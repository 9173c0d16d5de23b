// What both examples share: the transcript line, waiting for a message, and the set-up of a
// provider to talk through (the reference provider in-process, or `parley serve` given by flags).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  generatePartnerKey,
  loadPartnerKey,
  ParleyClient,
  SqliteClientStore,
  type IncomingMessage,
  type PartnerKey,
} from '../../reference-impl/client/index.ts';
import { silentLogger, startProvider } from '../../reference-impl/server/index.ts';

/** One line of the transcript. */
export function say(who: string, text: string): void {
  console.log(`${who.padEnd(7)}│ ${text}`);
}

/** The next message `client` receives that `match` accepts, within `timeoutMs`. */
export function nextMessage(
  client: ParleyClient,
  match: (m: IncomingMessage) => boolean,
  timeoutMs: number,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no message within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    const listener = (m: IncomingMessage): void => {
      if (!match(m)) return;
      clearTimeout(timer);
      client.off('message', listener);
      resolve(m);
    };
    client.on('message', listener);
  });
}

/** The provider an example talks through, and the clients it makes there. */
export interface ExampleSetup {
  readonly url: string;
  readonly registrationToken: string;
  readonly partnerKey: PartnerKey;
  /**
   * A second partner platform's key (talk.example in-process; `--second-partner-key` against a
   * running provider), for a group with users of two partner platforms; undefined when not given.
   */
  readonly secondPartnerKey: PartnerKey | undefined;
  /** Appended to account names against a long-running provider, which keeps earlier accounts. */
  readonly suffix: string;
  /** Whether the provider runs in this process (and enlisted chat.example's proxy from loopback). */
  readonly embedded: boolean;
  /**
   * A client with its own SQLite store; `partner` makes it a user of the partner platform; `via`
   * connects it through a proxy (its URL and the login headers it wants).
   */
  client(
    name: string,
    partner?: PartnerKey,
    via?: { url: string; upgradeHeaders: () => Promise<Record<string, string>> },
  ): ParleyClient;
  /** Disposes the clients, stops an in-process provider and deletes the stores. */
  close(): Promise<void>;
}

/**
 * Reads `--server`, `--registration-token`, `--partner-key` and `--help`. Without `--server` it
 * starts the reference provider for wa.example in-process and enlists a fresh chat.example key.
 * Returns an exit code instead when the example should stop (help: 0, usage error: 2).
 */
export async function setUpExample(
  usage: string,
  clientName: string,
): Promise<ExampleSetup | number> {
  const { values } = parseArgs({
    options: {
      server: { type: 'string' },
      'registration-token': { type: 'string' },
      'partner-key': { type: 'string' },
      'second-partner-key': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  let url: string;
  let registrationToken: string;
  let partnerKey: PartnerKey;
  let secondPartnerKey: PartnerKey | undefined;
  let stopProvider: (() => Promise<void>) | undefined;
  let suffix = '';
  const dir = mkdtempSync(join(tmpdir(), `${clientName}-`));
  if (values.server === undefined) {
    const generated = await generatePartnerKey('chat.example');
    const second = await generatePartnerKey('talk.example');
    partnerKey = generated.key;
    secondPartnerKey = second.key;
    registrationToken = randomBytes(12).toString('base64url');
    const provider = await startProvider({
      port: 0,
      dbPath: join(dir, 'provider.db'),
      domain: 'wa.example',
      registrationTokens: [registrationToken],
      partners: [
        { ...generated.publicJwk, domain: partnerKey.domain, kid: partnerKey.kid },
        { ...second.publicJwk, domain: second.key.domain, kid: second.key.kid },
      ],
      // chat.example may also run a proxy on this machine (spec/proxy.md).
      proxies: [{ domain: partnerKey.domain, addresses: ['127.0.0.1'] }],
      logger: silentLogger,
    });
    url = provider.wsUrl;
    stopProvider = provider.close;
    say('setup', `started the reference provider for wa.example at ${url}`);
    say('setup', `enlisted a fresh partner key for ${partnerKey.domain} (kid ${partnerKey.kid})`);
    say('setup', `enlisted a fresh partner key for ${second.key.domain} (kid ${second.key.kid})`);
  } else {
    if (values['registration-token'] === undefined || values['partner-key'] === undefined) {
      rmSync(dir, { recursive: true, force: true });
      console.error(usage);
      return 2;
    }
    url = values.server;
    registrationToken = values['registration-token'];
    partnerKey = await loadPartnerKey(values['partner-key']);
    const secondPath = values['second-partner-key'];
    if (secondPath !== undefined) secondPartnerKey = await loadPartnerKey(secondPath);
    suffix = `-${randomBytes(3).toString('hex')}`;
    say('setup', `using the provider at ${url}, partner ${partnerKey.domain}`);
  }
  const clients: ParleyClient[] = [];
  return {
    url,
    registrationToken,
    partnerKey,
    secondPartnerKey,
    suffix,
    embedded: stopProvider !== undefined,
    client(name, partner, via) {
      const c = new ParleyClient({
        url: via?.url ?? url,
        ...(via ? { upgradeHeaders: via.upgradeHeaders } : {}),
        store: new SqliteClientStore(join(dir, `${name}.db`)),
        clientInfo: { name: clientName, version: '1' },
        ...(partner ? { partner } : {}),
      });
      c.on('problem', (e) => say(name, `problem: ${e.code} ${e.message}`));
      c.on('unreadable', (m) =>
        say(name, `(a message from ${m.from} could not be shown: ${m.reason})`),
      );
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.dispose()));
      await stopProvider?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs an example's `main` and turns its result, or its failure, into the process exit code. */
export function runExample(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      process.exitCode = 1;
    },
  );
}

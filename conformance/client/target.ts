// The client under test for one run: its driver (spawned with `--client-cmd`, or the reference
// driver in-process by default), a partner key file the suite's mock providers enlist, and a
// registration token for first-party enrolment.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { JWK } from 'jose';
import { generatePartnerKey } from '../../reference-impl/client/index.ts';
import { makeTempDir, removeTempDir } from '../runner/temp.ts';
import { DriverLink, spawnDriver } from './link.ts';
import { serveReferenceDriver, type ReferenceDriverOptions } from './reference-driver.ts';

/** The partner platform of the client under test in client runs. */
export const CLIENT_PARTNER_DOMAIN = 'client.partner.example';

/** Everything the suite knows about the client under test. */
export interface ClientTarget {
  link: DriverLink;
  /** What the driver said it is, from `ready`. */
  driver: { name: string; version: string };
  /** `embedded reference client` or the driver command. */
  describe: string;
  embedded: boolean;
  /** The partner key the client signs tokens with; mock providers enlist its public half. */
  partner: { domain: string; publicJwk: JWK; keyFile: string };
  registrationToken: string;
  /** Ends the driver and deletes the key file. */
  close(): Promise<void>;
}

/** Links to the reference driver in this process (the default run, and the suite's own tests). */
export function inProcessReferenceDriver(options: ReferenceDriverOptions = {}): DriverLink {
  const toDriver = new PassThrough();
  const fromDriver = new PassThrough();
  serveReferenceDriver(toDriver, fromDriver, options);
  return new DriverLink(fromDriver, toDriver, 'reference driver (in-process)');
}

/**
 * Starts the client under test: spawns `command`, or (without one) links to `link` or the
 * in-process reference driver; waits for its `ready`. Throws HarnessError when it does not start.
 */
export async function startClientTarget(options: {
  command?: string;
  link?: DriverLink;
  waitMs: number;
}): Promise<ClientTarget> {
  const dir = makeTempDir('parley-client-');
  const { key, publicJwk } = await generatePartnerKey(CLIENT_PARTNER_DOMAIN);
  const keyFile = join(dir, 'partner.json');
  writeFileSync(keyFile, JSON.stringify({ ...key.privateJwk, domain: key.domain, kid: key.kid }), {
    mode: 0o600,
  });
  const link = options.command
    ? spawnDriver(options.command)
    : (options.link ?? inProcessReferenceDriver());
  try {
    const ready = await link.ready(options.waitMs);
    return {
      link,
      driver: ready.driver,
      describe: options.command ?? 'embedded reference client',
      embedded: options.command === undefined,
      partner: { domain: key.domain, publicJwk, keyFile },
      registrationToken: randomBytes(18).toString('base64url'),
      close: async () => {
        await link.close(options.waitMs);
        removeTempDir(dir);
      },
    };
  } catch (error) {
    await link.close(options.waitMs);
    removeTempDir(dir);
    throw error;
  }
}

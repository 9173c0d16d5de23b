// The embedded default target: the reference provider started in-process through its public entry
// point (startProvider) on a free loopback port, with a throw-away SQLite file in a temp dir, a
// random registration token and a fresh partner key enlisted for the suite's test platform.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, startProvider, type Fault } from '../../reference-impl/server/index.ts';
import { generatePartnerKey, type PartnerKey } from './partner.ts';

/** The suite's partner platform in embedded runs. */
export const EMBEDDED_PARTNER_DOMAIN = 'conform.partner.example';

export interface EmbeddedTarget {
  url: string;
  registrationToken: string;
  partner: PartnerKey;
  /** Stops the provider and deletes its temp dir. */
  stop(): Promise<void>;
}

/** Internal options, for the suite's own tests only (no CLI flag reaches them). */
export interface EmbeddedOptions {
  /** Start a deliberately broken variant (reference-impl/server/faults.ts): the suite's self-test. */
  faults?: readonly Fault[];
}

/** Starts the reference provider for one run. */
export async function startEmbeddedTarget(options: EmbeddedOptions = {}): Promise<EmbeddedTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-conform-'));
  const registrationToken = randomBytes(18).toString('base64url');
  const partner = await generatePartnerKey(EMBEDDED_PARTNER_DOMAIN);
  try {
    const provider = await startProvider({
      port: 0,
      host: '127.0.0.1',
      dbPath: join(dir, 'provider.db'),
      domain: 'provider.conform.example',
      registrationTokens: [registrationToken],
      partners: [partner.publicJwk],
      logger: silentLogger,
      ...(options.faults ? { faults: options.faults } : {}),
    });
    return {
      url: provider.wsUrl,
      registrationToken,
      partner,
      stop: async () => {
        await provider.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

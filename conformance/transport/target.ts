// The contract with a target (BRIEF.md, conformance suite): its URL, a registration token for
// first-party test accounts and an enlisted partner key; plus what its `welcome` advertises.
import { randomBytes } from 'node:crypto';
import { IdentityKeyPair } from '../../reference-impl/crypto/index.ts';
import type { FrameValidator } from '../../schemas/validator.ts';
import type { Frame } from '../assert/match.ts';
import { HarnessError } from '../runner/signals.ts';
import { operatorFor, type Operator } from './operator.ts';
import type { PartnerKey } from './partner.ts';
import { Peer, type PeerEnv } from './peer.ts';
import { Transcript } from './transcript.ts';
import { TestUser } from './users.ts';

/** Everything the suite knows about the target under test. */
export interface Target {
  url: string;
  registrationToken: string;
  partner: PartnerKey;
  /** Filled by `preflight` from the target's `welcome`. */
  welcome: Frame;
  /** `welcome.provider.domain`. */
  domain: string;
  capabilities: readonly string[];
  /** The operator's hooks (restart, clock, quota); none for a remote target. */
  operator?: Operator;
}

/**
 * A setup mistake found before any case (an unreachable target, a refused registration token, a
 * partner key the target did not enlist): the run ends at once with exit 2 and this one line, and
 * the target is judged on nothing.
 */
export class SetupError extends HarnessError {
  override readonly name = 'SetupError';
}

/** One line of a reply for a setup message: its error code and message, or its type. */
function said(reply: Frame): string {
  return reply.type === 'error'
    ? `${String(reply.code)}${reply.message ? ` (${String(reply.message)})` : ''}`
    : `a ${String(reply.type)} frame`;
}

/**
 * The preflight, before any case: reaches the target and says hello (to learn its domain, limits
 * and capabilities), registers a first-party account with the registration token, and
 * authenticates a third-party user with a token signed by the partner key. Throws SetupError
 * naming the first mistake; a harness fault of its own stays a HarnessError.
 */
export async function preflight(
  url: string,
  registrationToken: string,
  partner: PartnerKey,
  validator: FrameValidator,
  waitMs: number,
): Promise<Target> {
  const env: PeerEnv = {
    url,
    transcript: new Transcript(),
    validator,
    faults: [],
    waitMs,
    peers: new Set(),
  };
  const setup = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (error) {
      if (error instanceof SetupError) throw error;
      throw new SetupError(`${what}: ${(error as Error).message}`, { cause: error });
    }
  };
  try {
    const peer = await setup(`the target ${url} is unreachable`, () => Peer.open('preflight', env));
    const welcome = await setup('the target did not answer hello', () =>
      peer.request('hello', { versions: [1] }),
    );
    if (welcome.type !== 'welcome' || typeof welcome.provider?.domain !== 'string')
      throw new SetupError(`the target answered hello with ${said(welcome)}, not a welcome`);
    const domain = welcome.provider.domain as string;
    peer.close();
    await setup('the target refused the registration token (--registration-token)', async () => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const name = `preflight.${randomBytes(6).toString('hex')}`;
        const user = new TestUser('preflight', `${name}@${domain}`, 1, 1 + attempt, env);
        await user.connect();
        const reply = await user.peer.request('account.register', {
          registrationToken,
          name,
          identityKey: user.identityKey,
          registrationId: user.registrationId,
          deviceKey: user.deviceKey,
        });
        user.peer.close();
        if (reply.type === 'account.registered') return;
        if (reply.type !== 'error' || reply.code !== 'CONFLICT')
          throw new SetupError(
            `the target refused the registration token (--registration-token): account.register was answered with ${said(reply)}`,
          );
      }
      throw new Error('three random account names in a row were taken');
    });
    await setup(
      `the target did not authenticate a user of the partner key (--partner-key, issuer ${partner.domain}, kid ${partner.kid})`,
      async () => {
        const name = `preflight.${randomBytes(6).toString('hex')}`;
        const identity = IdentityKeyPair.generate();
        const user = new TestUser(
          'preflight-partner',
          `${name}@${partner.domain}`,
          1,
          1,
          env,
          identity,
          identity,
        );
        await user.connect();
        const auth = await user.peer.request('auth', await user.partnerAuthFrame(partner, domain));
        user.peer.close();
        if (auth.type !== 'auth.ok')
          throw new SetupError(
            `the target refused a partner token signed by --partner-key (issuer ${partner.domain}, kid ${partner.kid}) with ${said(auth)}: is its public half enlisted?`,
          );
      },
    );
    return {
      url,
      registrationToken,
      partner,
      welcome,
      domain,
      capabilities: Array.isArray(welcome.capabilities) ? (welcome.capabilities as string[]) : [],
      operator: operatorFor(url),
    };
  } finally {
    for (const p of [...env.peers]) p.close();
  }
}

/** Whether the target still accepts connections (the circuit breaker's probe). */
export async function probe(
  url: string,
  validator: FrameValidator,
  waitMs: number,
): Promise<boolean> {
  const env: PeerEnv = {
    url,
    transcript: new Transcript(),
    validator,
    faults: [],
    waitMs,
    peers: new Set(),
  };
  try {
    const peer = await Peer.open('probe', env);
    peer.close();
    return true;
  } catch {
    return false;
  }
}

// The contract with a target (BRIEF.md, conformance suite): its URL, a registration token for
// first-party test accounts and an enlisted partner key; plus what its `welcome` advertises.
import type { FrameValidator } from '../../schemas/validator.ts';
import type { Frame } from '../assert/match.ts';
import { HarnessError } from '../runner/signals.ts';
import { operatorFor, type Operator } from './operator.ts';
import type { PartnerKey } from './partner.ts';
import { Peer, type PeerEnv } from './peer.ts';
import { Transcript } from './transcript.ts';

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
 * Connects once and says hello, to learn the provider's domain, limits and capabilities. Throws
 * HarnessError when the target is unreachable or does not answer with `welcome`.
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
  const peer = await Peer.open('preflight', env);
  try {
    const welcome = await peer.request('hello', { versions: [1] });
    if (welcome.type !== 'welcome' || typeof welcome.provider?.domain !== 'string')
      throw new HarnessError(`the target answered hello with ${JSON.stringify(welcome)}`);
    return {
      url,
      registrationToken,
      partner,
      welcome,
      domain: welcome.provider.domain as string,
      capabilities: Array.isArray(welcome.capabilities) ? (welcome.capabilities as string[]) : [],
      operator: operatorFor(url),
    };
  } finally {
    peer.close();
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

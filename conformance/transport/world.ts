// The per-case world: the target plus a factory for peers and test users (first-party alice,
// third-party bob), with seeded names, all closed by the runner when the case ends.
import { IdentityKeyPair } from '../../reference-impl/crypto/index.ts';
import type { FrameValidator } from '../../schemas/validator.ts';
import type { Frame } from '../assert/match.ts';
import type { Rng } from '../runner/rng.ts';
import { show } from '../assert/match.ts';
import { HarnessError, TargetFault } from '../runner/signals.ts';
import type { TokenClaims } from './partner.ts';
import { Peer, type PeerEnv, type SchemaFault } from './peer.ts';
import type { Target } from './target.ts';
import { Transcript } from './transcript.ts';
import { TestUser } from './users.ts';

/** Options for a test user. */
export interface UserOptions {
  /** One-time prekeys to publish after authenticating (0: publish nothing). Default 5. */
  preKeys?: number;
  /** Turn interop on for a first-party user (`consent.set`). */
  optIn?: boolean | { platforms: 'all' | string[]; inbox?: 'separate' | 'combined' };
}

/** What a case acts through. */
export class World {
  readonly env: PeerEnv;

  constructor(
    readonly target: Target,
    readonly rng: Rng,
    readonly validator: FrameValidator,
    waitMs: number,
  ) {
    const transcript = new Transcript();
    transcript.addSecret(target.registrationToken);
    this.env = { url: target.url, transcript, validator, faults: [], waitMs, peers: new Set() };
  }

  get transcript(): Transcript {
    return this.env.transcript;
  }

  get faults(): SchemaFault[] {
    return this.env.faults;
  }

  /** A fresh, seeded, valid account name: `alice.k3x9q2`. */
  name(label: string): string {
    return `${label.toLowerCase().replace(/[^a-z0-9]/g, '')}.${this.rng.word(8)}`;
  }

  /** A raw connection (no hello) for hostile wire cases. */
  raw(label = 'raw'): Promise<Peer> {
    return Peer.open(label, this.env);
  }

  /** A connection that has said hello. */
  async greeted(label = 'peer'): Promise<{ peer: Peer; welcome: Frame }> {
    const peer = await Peer.open(label, this.env);
    const welcome = await peer.request('hello', { versions: [1] });
    if (welcome.type !== 'welcome')
      throw new TargetFault(undefined, 'hello answered with welcome', show(welcome));
    return { peer, welcome };
  }

  /** An unregistered first-party device (keys only), not connected. */
  device(label: string, deviceId = 1): TestUser {
    const address = `${this.name(label)}@${this.target.domain}`;
    return new TestUser(label, address, deviceId, this.rng.int(1, 16380), this.env);
  }

  /** An unauthenticated user of the suite's partner platform (keys only), not connected. */
  partnerDevice(label: string): TestUser {
    const address = `${this.name(label)}@${this.target.partner.domain}`;
    const identity = IdentityKeyPair.generate();
    // A partner device proves its identity key, which its token names (AUTH-019, AUTH-037).
    return new TestUser(label, address, 1, this.rng.int(1, 16380), this.env, identity, identity);
  }

  /** Registers a first-party account, authenticates device 1 and publishes prekeys. */
  async firstParty(label: string, options: UserOptions = {}): Promise<TestUser> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const user = this.device(label);
      await user.connect();
      const reg = await user.peer.request('account.register', {
        registrationToken: this.target.registrationToken,
        name: user.address.split('@')[0],
        identityKey: user.identityKey,
        registrationId: user.registrationId,
        deviceKey: user.deviceKey,
      });
      if (reg.type === 'error' && reg.code === 'CONFLICT') {
        user.peer.close();
        continue; // a name left by an earlier run with the same seed: draw the next one
      }
      if (reg.type !== 'account.registered')
        throw new TargetFault(
          undefined,
          'account.registered for a test account (the registration token passed the preflight)',
          show(reg),
        );
      await this.settle(user, await user.authDevice(), options);
      if (options.optIn) {
        const o = options.optIn === true ? { platforms: 'all' as const } : options.optIn;
        const state = await user.peer.request('consent.set', {
          interop: {
            enabled: true,
            platforms: o.platforms,
            inbox: 'inbox' in o && o.inbox ? o.inbox : 'separate',
          },
        });
        if (state.type !== 'consent.state')
          throw new TargetFault(undefined, 'consent.state after opting in', show(state));
      }
      return user;
    }
    throw new HarnessError('three registered names in a row were taken');
  }

  /** A partner platform's user connected directly with a partner token; publishes prekeys. */
  async thirdParty(
    label: string,
    options: UserOptions = {},
    claims: Partial<TokenClaims> = {},
  ): Promise<TestUser> {
    const user = this.partnerDevice(label);
    await user.connect();
    const auth = await user.peer.request(
      'auth',
      await user.partnerAuthFrame(this.target.partner, this.target.domain, claims),
    );
    await this.settle(user, auth, options);
    return user;
  }

  /** Reconnects `user` on a new connection and authenticates it as before (no prekeys). */
  async reconnect(user: TestUser): Promise<Frame> {
    user.peer.close();
    await user.connect();
    const thirdParty = user.authOk?.origin?.thirdParty === true;
    const auth = thirdParty
      ? await user.peer.request(
          'auth',
          await user.partnerAuthFrame(this.target.partner, this.target.domain),
        )
      : await user.authDevice();
    if (auth.type === 'auth.ok') user.authOk = auth;
    return auth;
  }

  private async settle(user: TestUser, auth: Frame, options: UserOptions): Promise<void> {
    if (auth.type !== 'auth.ok')
      throw new TargetFault(undefined, `auth.ok for the test user ${user.label}`, show(auth));
    user.authOk = auth;
    await user.peer.next((f) => f.type === 'queue.empty', undefined, 'queue.empty', 'DELIV-030');
    const count = options.preKeys ?? 5;
    if (count > 0) {
      const published = await user.publish(count);
      if (published.type !== 'keys.published')
        throw new TargetFault(undefined, 'keys.published for fresh valid prekeys', show(published));
    }
  }

  /** Closes every connection of the case. */
  closeAll(): void {
    for (const peer of [...this.env.peers]) peer.close();
  }
}

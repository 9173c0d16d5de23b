// AUTH cases of spec/auth.md#device-authentication and #test-accounts: forged and replayed proofs
// are refused with AUTH_FAILED and close 4401; registration needs the operator's token; origin.
import { hasMembers, isError, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import { IdentityKeyPair } from '../../../reference-impl/crypto/index.ts';
import { authInput, b64, unb64 } from '../../transport/users.ts';

export const deviceAuthCases = [
  defineCase({
    id: 'AUTH-006-forged-device-proof',
    title:
      "a device proof signed by another key than alice's identity is refused and the connection closed",
    requirements: ['AUTH-006', 'AUTH-007', 'AUTH-008', 'PROTO-039'],
    level: 'MUST',
    quote:
      'The provider MUST verify the device proof over `auth-input` rebuilt from its own copy of the challenge, and MUST refuse the `auth` when the proof does not verify.',
    sends:
      "alice registers; a new connection sends auth for alice signed by mallory's identity key",
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const { peer, welcome } = await world.greeted('mallory');
      const forged = IdentityKeyPair.generate().sign(
        authInput(unb64(welcome.challenge), alice.address, 1),
      );
      const reply = await peer.request('auth', {
        method: 'device',
        address: alice.address,
        deviceId: 1,
        signature: b64(forged),
      });
      mustMatch('AUTH-006', reply, isError('AUTH_FAILED'));
      const code = await peer.closedWithin();
      must('AUTH-008', that(code === 4401, 'close code 4401', code ?? 'still open'));
    },
  }),
  defineCase({
    id: 'AUTH-002-challenge-of-another-connection',
    title: 'a proof over the challenge of another connection is refused',
    requirements: ['AUTH-002', 'AUTH-001'],
    level: 'MUST',
    quote:
      'The provider MUST accept a challenge only in an `auth` frame on the connection whose `welcome` carried it.',
    sends: "alice's proof over connection 1's challenge, sent on connection 2",
    async run({ world }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const first = await world.greeted('one');
      const second = await world.greeted('two');
      must(
        'AUTH-001',
        that(
          first.welcome.challenge !== second.welcome.challenge,
          'a fresh challenge per connection',
          second.welcome.challenge,
        ),
      );
      const proof = alice.proof(alice.address, 1, first.welcome.challenge);
      const reply = await second.peer.request('auth', {
        method: 'device',
        address: alice.address,
        deviceId: 1,
        signature: proof,
      });
      mustMatch('AUTH-002', reply, isError('AUTH_FAILED'));
    },
  }),
  defineCase({
    id: 'AUTH-008-same-message',
    title: 'an unknown account, an unknown device and a bad proof all fail with the same message',
    requirements: ['AUTH-008', 'AUTH-007'],
    level: 'MUST',
    quote:
      'The provider MUST answer every failed authentication with `AUTH_FAILED`, whatever check failed and with the same `message`, and close the connection with close code 4401.',
    sends: 'auth for an unknown address; auth for alice device 7; auth for alice with a bad proof',
    async run({ world, target }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const attempt = async (address: string, deviceId: number, sign: IdentityKeyPair) => {
        const { peer, welcome } = await world.greeted('mallory');
        const signature = b64(sign.sign(authInput(unb64(welcome.challenge), address, deviceId)));
        return peer.request('auth', { method: 'device', address, deviceId, signature });
      };
      const unknown = await attempt(`${world.name('ghost')}@${target.domain}`, 1, alice.identity);
      mustMatch('AUTH-008', unknown, isError('AUTH_FAILED'));
      const expected = { code: 'AUTH_FAILED', message: unknown.message };
      mustMatch(
        'AUTH-008',
        await attempt(alice.address, 7, alice.identity),
        hasMembers('error', expected),
      );
      mustMatch(
        'AUTH-008',
        await attempt(alice.address, 1, IdentityKeyPair.generate()),
        hasMembers('error', expected),
      );
    },
  }),
  defineCase({
    id: 'AUTH-020-device-origin',
    title: 'auth.ok after a device proof names the provider as platform, not third-party',
    requirements: ['AUTH-020', 'AUTH-025'],
    level: 'MUST',
    quote:
      'After a device authentication the provider MUST reply `auth.ok` with `origin.platform` equal to its own domain and `origin.thirdParty` false.',
    sends: 'account.register, auth (device)',
    async run({ world, target }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      mustMatch(
        'AUTH-020',
        alice.authOk!,
        hasMembers('auth.ok', {
          address: alice.address,
          deviceId: 1,
          origin: { platform: target.domain, thirdParty: false },
        }),
      );
    },
  }),
  defineCase({
    id: 'AUTH-023-registration-token',
    title: 'registration with a wrong token is refused; a taken name gets CONFLICT',
    requirements: ['AUTH-023', 'AUTH-024'],
    level: 'MUST',
    quote:
      'The provider MUST refuse `account.register` with `REGISTRATION_REFUSED` unless `registrationToken` equals a registration token issued by its operator.',
    sends: "account.register with a wrong token; account.register with alice's name",
    async run({ world, target }) {
      const alice = await world.firstParty('alice', { preKeys: 0 });
      const mallory = world.device('mallory');
      await mallory.connect();
      const register = (token: string, name: string) =>
        mallory.peer.request('account.register', {
          registrationToken: token,
          name,
          identityKey: mallory.identityKey,
          registrationId: mallory.registrationId,
          deviceKey: mallory.deviceKey,
        });
      const wrong = await register(`${target.registrationToken}x`, mallory.address.split('@')[0]!);
      mustMatch('AUTH-023', wrong, isError('REGISTRATION_REFUSED'));
      mustMatch(
        'AUTH-024',
        await register(target.registrationToken, alice.address.split('@')[0]!),
        isError('CONFLICT'),
      );
    },
  }),
];

// Property tests (fast-check) of the session cipher: random orders of send / deliver / drop / replay
// between alice and bob. Every delivered message decrypts exactly once, every replay is refused, and
// a refused message leaves the receiver's serialised session unchanged.
import { expect } from 'chai';
import fc from 'fast-check';
import {
  DuplicatedMessageError,
  limits,
  ProtocolError,
  serializeSessionRecord,
  type CiphertextMessage,
} from '../../../reference-impl/crypto/index.ts';
import { makeParty, ParleyParty, text, untext, type Party } from './support/parties.ts';

type Op =
  { kind: 'send'; from: 0 | 1 } | { kind: 'deliver' | 'drop' | 'replay'; to: 0 | 1; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('send' as const), from: fc.constantFrom(0 as const, 1 as const) }),
  fc.record({
    kind: fc.constantFrom(
      'deliver' as const,
      'deliver' as const,
      'drop' as const,
      'replay' as const,
    ),
    to: fc.constantFrom(0 as const, 1 as const),
    pick: fc.nat(),
  }),
);

interface InFlight {
  readonly message: CiphertextMessage;
  readonly plaintext: string;
  /** The sender's DH epoch: which of its ratchet keys sent it. */
  readonly epoch: number;
}

/** What a receiver's Double Ratchet can know: the sender epochs it has ratcheted to, in order. */
interface Side {
  readonly party: Party;
  epoch: number;
  seen: number[];
  inbox: InFlight[];
  delivered: InFlight[];
  hasSession: boolean;
}

async function snapshot(party: Party, peer: Party): Promise<string> {
  if (!(party instanceof ParleyParty)) return '';
  const record = await party.store.loadSession(peer.address);
  return record === undefined ? '' : Buffer.from(serializeSessionRecord(record)).toString();
}

async function run(
  kinds: ['parley' | 'libsignal', 'parley' | 'libsignal'],
  ops: Op[],
): Promise<void> {
  const alice = makeParty(kinds[0], 'alice');
  const bob = makeParty(kinds[1], 'bob');
  await alice.startSession(bob.address, await bob.bundle());
  // Alice starts in epoch 0 and already holds bob's signed-prekey chain (bob's epoch 0);
  // bob's first ratchet step (on alice's epoch 0) moves him to epoch 1.
  const sides: [Side, Side] = [
    { party: alice, epoch: 0, seen: [0], inbox: [], delivered: [], hasSession: true },
    { party: bob, epoch: 0, seen: [], inbox: [], delivered: [], hasSession: false },
  ];
  let sent = 0;
  for (const step of ops) {
    if (step.kind === 'send') {
      const from = sides[step.from];
      if (!from.hasSession) continue;
      const plaintext = `m${sent++}`;
      const message = await from.party.encrypt(
        sides[1 - step.from]!.party.address,
        text(plaintext),
      );
      sides[1 - step.from]!.inbox.push({ message, plaintext, epoch: from.epoch });
      continue;
    }
    const to = sides[step.to];
    const from = sides[1 - step.to]!;
    const pool = step.kind === 'replay' ? to.delivered : to.inbox;
    if (pool.length === 0) continue;
    const item = pool[step.pick % pool.length]!;
    if (step.kind === 'drop') {
      to.inbox.splice(step.pick % pool.length, 1);
      continue;
    }
    const known = to.seen.slice(-limits.MAX_RECEIVER_CHAINS).includes(item.epoch);
    const next = item.epoch === (to.seen.at(-1) ?? -1) + 1 && !to.seen.includes(item.epoch);
    const before = await snapshot(to.party, from.party);
    let result: Uint8Array | undefined;
    let failure: unknown;
    try {
      result = await to.party.decrypt(from.party.address, item.message);
    } catch (error) {
      failure = error;
    }
    if (step.kind === 'deliver' && (known || next)) {
      expect(failure, `delivering ${item.plaintext}`).to.equal(undefined);
      expect(untext(result!)).to.equal(item.plaintext);
      to.inbox.splice(step.pick % pool.length, 1);
      to.delivered.push(item);
      to.hasSession = true;
      if (next) {
        to.seen.push(item.epoch);
        to.epoch += 1;
      }
    } else {
      expect(result, `${step.kind} of ${item.plaintext} must be refused`).to.equal(undefined);
      if (to.party.kind === 'parley') expect(failure).to.be.instanceOf(ProtocolError);
      if (step.kind === 'replay' && known && to.party.kind === 'parley') {
        expect(failure).to.be.instanceOf(DuplicatedMessageError);
      }
      expect(await snapshot(to.party, from.party), 'state after a refusal').to.equal(before);
    }
  }
}

describe('reference-impl/crypto/cipher properties', () => {
  it('decrypts every delivered message exactly once and refuses every replay (parley with parley)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), (ops) => run(['parley', 'parley'], ops)),
      { numRuns: 150 },
    );
  });

  it('decrypts every delivered message exactly once when libsignal is alice and parley is bob', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), (ops) => run(['libsignal', 'parley'], ops)),
      { numRuns: 60 },
    );
  });

  it('decrypts every delivered message exactly once when parley is alice and libsignal is bob', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), (ops) => run(['parley', 'libsignal'], ops)),
      { numRuns: 60 },
    );
  });
});

// Property tests (fast-check) of the group cipher, differential against libsignal-client 0.103.0:
// alice sends, skips, rotates her sender key; bob on Parley and dave on libsignal receive the same
// deliveries and replays in random order. Both must give the same verdict on every message, the
// verdict the model predicts (first delivery under one of the last five keys decrypts, anything
// else is refused), and a refusal leaves each receiver's state unchanged.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import { limits, ProtocolError } from '../../../../reference-impl/crypto/index.ts';
import { makeMember, type GroupMember } from '../support/group-members.ts';
import { text, untext } from '../support/parties.ts';

type Op =
  | { kind: 'send' }
  | { kind: 'skip'; count: number }
  | { kind: 'rotate' }
  | { kind: 'deliver' | 'replay'; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'send' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('skip' as const), count: fc.nat(40) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'rotate' as const }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constantFrom('deliver' as const, 'replay' as const),
      pick: fc.nat(),
    }),
  },
);

interface InFlight {
  readonly body: Uint8Array;
  readonly plaintext: string;
  /** How many rotations alice had made when she sent it. */
  readonly key: number;
}

type Verdict = { ok: true; plaintext: string } | { ok: false; error: unknown };

async function verdict(member: GroupMember, from: GroupMember, body: Uint8Array): Promise<Verdict> {
  try {
    return { ok: true, plaintext: untext(await member.decrypt(from.address, body)) };
  } catch (error) {
    return { ok: false, error };
  }
}

async function run(senderKind: 'parley' | 'libsignal', ops: Op[]): Promise<void> {
  const alice = makeMember(senderKind);
  const receivers = [makeMember('parley'), makeMember('libsignal')];
  const distributionId = randomUUID();
  const distribute = async (distribution: Uint8Array): Promise<void> => {
    for (const receiver of receivers) await receiver.accept(alice.address, distribution);
  };
  await distribute(await alice.distribute(distributionId));
  let key = 0;
  let sent = 0;
  const inbox: InFlight[] = [];
  const delivered: InFlight[] = [];
  for (const step of ops) {
    if (step.kind === 'send' || step.kind === 'skip') {
      const count = step.kind === 'send' ? 1 : step.count;
      for (let i = 0; i < count; i++) {
        const plaintext = `k${key} m${sent++}`;
        const body = await alice.encrypt(distributionId, text(plaintext));
        if (step.kind === 'send') inbox.push({ body, plaintext, key });
      }
      continue;
    }
    if (step.kind === 'rotate') {
      key += 1;
      await distribute(await alice.rotate(distributionId));
      continue;
    }
    const pool = step.kind === 'deliver' ? inbox : delivered;
    if (pool.length === 0) continue;
    const at = step.pick % pool.length;
    const item = pool[at]!;
    const expected = step.kind === 'deliver' && item.key > key - limits.MAX_SENDER_KEY_STATES;
    const before = await Promise.all(
      receivers.map((r) => r.stateOf(alice.address, distributionId)),
    );
    const [ours, theirs] = [
      await verdict(receivers[0]!, alice, item.body),
      await verdict(receivers[1]!, alice, item.body),
    ];
    const what = `${step.kind} of ${item.plaintext} (alice at key ${key})`;
    expect(ours.ok, `${what}: parley and libsignal agree`).to.equal(theirs.ok);
    expect(ours.ok, `${what}: as the model says`).to.equal(expected);
    if (ours.ok && theirs.ok) {
      expect(ours.plaintext).to.equal(item.plaintext);
      expect(theirs.plaintext).to.equal(item.plaintext);
      pool.splice(at, 1);
      delivered.push(item);
    } else {
      if (!ours.ok) expect(ours.error, what).to.be.instanceOf(ProtocolError);
      const after = await Promise.all(
        receivers.map((r) => r.stateOf(alice.address, distributionId)),
      );
      expect(after, `${what}: states after the refusal`).to.deep.equal(before);
      if (step.kind === 'deliver') pool.splice(at, 1);
    }
  }
}

describe('reference-impl/crypto/group cipher properties, against libsignal', () => {
  it('parley and libsignal receivers agree on every delivery and replay of a parley sender who skips and rotates (libsignal)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 80 }), (ops) => run('parley', ops)),
      { numRuns: 60 },
    );
  });

  it('parley and libsignal receivers agree on every delivery and replay of a libsignal sender who skips and rotates (libsignal)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 80 }), (ops) =>
        run('libsignal', ops),
      ),
      { numRuns: 60 },
    );
  });
});

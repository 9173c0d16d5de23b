// The SPQR chain and field-5 messages (reference-impl/crypto/spqr.ts), against SPQR v1.5.3's chain
// module as documented in spec/crypto.md: labels, counters, key history and refusals in epoch 0. The keys are
// recomputed here with node:crypto's HKDF, an implementation independent of kdf.ts; interop with
// libsignal 0.103.0 (interop.test.ts) checks the same chain end to end.
import { expect } from 'chai';
import { hkdfSync, randomBytes } from 'node:crypto';
import { InvalidMessageError, limits } from '../../../reference-impl/crypto/index.ts';
import {
  initialSpqrState,
  parseSpqrMessage,
  spqrReceive,
  spqrSend,
  SpqrMessageType,
  type SpqrState,
} from '../../../reference-impl/crypto/spqr.ts';

const hkdf = (ikm: Uint8Array, info: Uint8Array | string, length: number): Buffer =>
  Buffer.from(hkdfSync('sha256', ikm, new Uint8Array(32), info, length));

function nextInfo(counter: number): Buffer {
  const be = Buffer.alloc(4);
  be.writeUInt32BE(counter);
  return Buffer.concat([be, Buffer.from('Signal PQ Ratchet V1 Chain Next')]);
}

/** Message `index` of a direction seeded with `seed`, stepping the chain from counter 0. */
function expectedKey(seed: Uint8Array, index: number): Buffer {
  let next: Uint8Array = Uint8Array.from(seed);
  let key: Uint8Array = new Uint8Array(0);
  for (let counter = 1; counter <= index; counter++) {
    const okm = hkdf(next, nextInfo(counter), 64);
    next = okm.subarray(0, 32);
    key = okm.subarray(32, 64);
  }
  return Buffer.from(key);
}

const field = (epoch: number, index: number, type = 0): Uint8Array => {
  const bytes = [1];
  for (const value of [epoch, index]) {
    let v = value;
    while (v >= 0x80) {
      bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
  }
  bytes.push(type);
  return Uint8Array.from(bytes);
};

const throwsOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('reference-impl/crypto/spqr chain', () => {
  const spqrKey = randomBytes(32);
  const start = hkdf(spqrKey, 'Signal PQ Ratchet V1 Chain  Start', 96);
  const first = (state: SpqrState) => state.chain.links[0]!;

  it('starts from HKDF(SPQR key, "…Chain  Start", 96): next root, then the A→B and B→A seeds', () => {
    const alice = initialSpqrState(spqrKey, 'A2B', false);
    const bob = initialSpqrState(spqrKey, 'B2A', false);
    expect(Buffer.from(alice.chain.nextRoot)).to.deep.equal(start.subarray(0, 32));
    expect(Buffer.from(first(alice).send.next!)).to.deep.equal(start.subarray(32, 64));
    expect(Buffer.from(first(alice).receive.next)).to.deep.equal(start.subarray(64, 96));
    expect(Buffer.from(first(bob).send.next!)).to.deep.equal(start.subarray(64, 96));
    expect(alice.chain.maxJump).to.equal(limits.MAX_FORWARD_JUMPS);
    expect(initialSpqrState(spqrKey, 'A2B', true).chain.maxJump).to.equal(0xffff_ffff);
    expect(alice.braid.name).to.equal('KeysUnsampled');
    expect(bob.braid.name).to.equal('NoHeaderReceived');
  });

  it('bob sends V1, epoch 1, index 1, 2, 3…, type None until a header arrives, keyed by the "…Chain Next" step with the counter incremented first', () => {
    let state: SpqrState = initialSpqrState(spqrKey, 'B2A', false);
    for (let index = 1; index <= 3; index++) {
      const sent = spqrSend(state);
      expect([...sent.message]).to.deep.equal([1, 1, index, 0]);
      expect(Buffer.from(sent.key)).to.deep.equal(expectedKey(start.subarray(64, 96), index));
      state = sent.state;
    }
    expect(first(state).send.counter).to.equal(3);
  });

  it('alice sends her header chunks 0, 1, 2, 3… in epoch 1 with keys of the A→B seed', () => {
    let state: SpqrState = initialSpqrState(spqrKey, 'A2B', false);
    for (let index = 1; index <= 4; index++) {
      const sent = spqrSend(state);
      const message = parseSpqrMessage(sent.message);
      expect([message.epoch, message.index, message.type, message.chunk!.index]).to.deep.equal([
        1,
        index,
        SpqrMessageType.Hdr,
        index - 1,
      ]);
      expect(Buffer.from(sent.key)).to.deep.equal(expectedKey(start.subarray(32, 64), index));
      state = sent.state;
    }
  });

  it('writes the index as a varint (300 → ac 02)', () => {
    const bob = initialSpqrState(spqrKey, 'B2A', false);
    const moved: SpqrState = {
      ...bob,
      chain: {
        ...bob.chain,
        links: [{ ...first(bob), send: { ...first(bob).send, counter: 299 } }],
      },
    };
    expect([...spqrSend(moved).message]).to.deep.equal([1, 1, 0xac, 0x02, 0]);
  });

  it('bob derives alice’s keys in order, out of order and after gaps, each once', () => {
    let alice: SpqrState = initialSpqrState(spqrKey, 'A2B', false);
    const sent: { message: Uint8Array; key: Uint8Array }[] = [];
    for (let i = 0; i < 10; i++) {
      const next = spqrSend(alice);
      sent.push(next);
      alice = next.state;
    }
    let bob: SpqrState = initialSpqrState(spqrKey, 'B2A', false);
    for (const i of [2, 0, 9, 5, 1, 3, 4, 8, 6, 7]) {
      const got = spqrReceive(bob, sent[i]!.message);
      expect(Buffer.from(got.key!), `message ${i}`).to.deep.equal(Buffer.from(sent[i]!.key));
      bob = got.state;
    }
    expect(bob.braid.name).to.equal('HeaderReceived');
    for (const i of [0, 9, 5]) {
      expect(
        throwsOf(() => spqrReceive(bob, sent[i]!.message)),
        `again ${i}`,
      ).to.be.instanceOf(InvalidMessageError);
    }
  });

  it('yields no key for epoch 1 index 0 and for a later SPQR version, which SPQR ignores', () => {
    const bob = initialSpqrState(spqrKey, 'B2A', false);
    expect(spqrReceive(bob, field(1, 0)).key).to.equal(null);
    const later = spqrReceive(bob, Uint8Array.of(2, 9, 9, 9));
    expect(later.key).to.equal(null);
    expect(later.state).to.equal(bob);
  });

  it('refuses an empty or version-0 field, epoch 0 or 2, an unknown type and a short chunk with InvalidMessageError', () => {
    const bob = initialSpqrState(spqrKey, 'B2A', false);
    for (const [what, bytes] of [
      ['empty', new Uint8Array(0)],
      ['version 0', Uint8Array.of(0, 1, 1, 0)],
      ['epoch 0', field(0, 1)],
      ['epoch 2 not reached', field(2, 1)],
      ['type 7', field(1, 1, 7)],
      ['no type', Uint8Array.of(1, 1, 1)],
      ['short chunk', Uint8Array.from([...field(1, 1, 5), 0, ...new Uint8Array(31)])],
      [
        'chunk index > 65535',
        Uint8Array.from([...field(1, 1, 5), 0x80, 0x80, 0x04, ...new Uint8Array(32)]),
      ],
      ['truncated varint', Uint8Array.of(1, 0x81)],
    ] as const) {
      expect(
        throwsOf(() => spqrReceive(bob, bytes)),
        what,
      ).to.be.instanceOf(InvalidMessageError);
    }
  });

  it('refuses a jump past 25 000 and a key older than 2 000 behind, as SPQR’s KeyJump and KeyTrimmed', () => {
    const alice = initialSpqrState(spqrKey, 'A2B', false);
    const seed = start.subarray(64, 96);
    expect(throwsOf(() => spqrReceive(alice, field(1, 25_001)))).to.be.instanceOf(
      InvalidMessageError,
    );
    const far = spqrReceive(alice, field(1, 25_000));
    expect(Buffer.from(far.key!)).to.deep.equal(expectedKey(seed, 25_000));
    expect(first(far.state).receive.skipped.length).to.equal(2000);
    expect(Buffer.from(spqrReceive(far.state, field(1, 23_000)).key!)).to.deep.equal(
      expectedKey(seed, 23_000),
    );
    expect(throwsOf(() => spqrReceive(far.state, field(1, 22_999)))).to.be.instanceOf(
      InvalidMessageError,
    );
    const self = initialSpqrState(spqrKey, 'A2B', true);
    expect(spqrReceive(self, field(1, 25_002)).key).to.have.length(32);
  });

  it('never changes the state it is given', () => {
    const bob = initialSpqrState(spqrKey, 'B2A', false);
    const copy = JSON.stringify(bob, (_, v: unknown) => (v instanceof Uint8Array ? [...v] : v));
    spqrReceive(bob, field(1, 5));
    spqrSend(bob);
    expect(JSON.stringify(bob, (_, v: unknown) => (v instanceof Uint8Array ? [...v] : v))).to.equal(
      copy,
    );
  });
});

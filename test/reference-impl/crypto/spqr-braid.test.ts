// The braid and the chain across epochs (reference-impl/crypto/spqr/*.ts), Parley against Parley
// at the SPQR level: labels recomputed with node:crypto, every one of the eleven states reached and
// serialised, refusals that change nothing, and the chain's retention of epochs.
import { expect } from 'chai';
import { createHmac, hkdfSync, randomBytes, randomInt } from 'node:crypto';
import { InvalidMessageError } from '../../../reference-impl/crypto/index.ts';
import {
  initialSpqrState,
  parseSpqrMessage,
  serializeSpqrMessage,
  spqrReceive,
  spqrSend,
  SpqrMessageType,
  type SpqrState,
} from '../../../reference-impl/crypto/spqr.ts';
import {
  epochSecret,
  headerMac,
  initialAuthenticator,
  updateAuthenticator,
} from '../../../reference-impl/crypto/spqr/authenticator.ts';
import {
  addEpoch,
  initialSpqrChain,
  receiveKey,
  sendKey,
} from '../../../reference-impl/crypto/spqr/chain.ts';
import { decodeSpqrState, encodeSpqrState } from '../../../reference-impl/crypto/spqr/record.ts';
import { braidReceive } from '../../../reference-impl/crypto/spqr/braid.ts';

const be64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const hkdf = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Buffer =>
  Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
const label = (text: string, epoch: number): Buffer =>
  Buffer.concat([Buffer.from(text), be64(epoch)]);
const zero = new Uint8Array(32);

const json = (state: SpqrState): string => JSON.stringify(encodeSpqrState(state));
const roundTrip = (state: SpqrState): SpqrState => decodeSpqrState(JSON.parse(json(state)), '$');

function refusal(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Two parties from one SPQR key, messages sent and delivered by a schedule. */
class Pair {
  a: SpqrState;
  b: SpqrState;
  readonly names = new Set<string>();
  constructor(key = randomBytes(32)) {
    this.a = initialSpqrState(key, 'A2B', false);
    this.b = initialSpqrState(key, 'B2A', false);
  }
  send(fromA: boolean): { message: Uint8Array; key: Uint8Array } {
    const sent = spqrSend(fromA ? this.a : this.b);
    if (fromA) this.a = roundTrip(sent.state);
    else this.b = roundTrip(sent.state);
    this.note();
    return sent;
  }
  deliver(toA: boolean, sent: { message: Uint8Array; key: Uint8Array }): void {
    const got = spqrReceive(toA ? this.a : this.b, sent.message);
    expect(Buffer.from(got.key!)).to.deep.equal(Buffer.from(sent.key));
    if (toA) this.a = roundTrip(got.state);
    else this.b = roundTrip(got.state);
    this.note();
  }
  note(): void {
    this.names.add(this.a.braid.name);
    this.names.add(this.b.braid.name);
  }
}

describe('reference-impl/crypto/spqr braid', () => {
  it('starts the authenticator from zero keys with the SPQR key under "Signal_PQCKA_V1_MLKEM768:Authenticator Update" ‖ BE64(1)', () => {
    const key = randomBytes(32);
    const auth = initialAuthenticator(key);
    const okm = hkdf(
      Buffer.concat([zero, key]),
      zero,
      label('Signal_PQCKA_V1_MLKEM768:Authenticator Update', 1),
      64,
    );
    expect(Buffer.from(auth.rootKey)).to.deep.equal(okm.subarray(0, 32));
    expect(Buffer.from(auth.macKey)).to.deep.equal(okm.subarray(32, 64));
    const header = randomBytes(64);
    expect(Buffer.from(headerMac(auth, 7, header))).to.deep.equal(
      createHmac('sha256', auth.macKey)
        .update(Buffer.concat([label('Signal_PQCKA_V1_MLKEM768:ekheader', 7), header]))
        .digest(),
    );
    const ss = randomBytes(32);
    const secret = epochSecret(ss, 3);
    expect(Buffer.from(secret)).to.deep.equal(
      hkdf(ss, zero, label('Signal_PQCKA_V1_MLKEM768:SCKA Key', 3), 32),
    );
    const next = updateAuthenticator(auth, 3, secret);
    expect(Buffer.from(next.rootKey)).to.deep.equal(
      hkdf(
        Buffer.concat([auth.rootKey, secret]),
        zero,
        label('Signal_PQCKA_V1_MLKEM768:Authenticator Update', 3),
        64,
      ).subarray(0, 32),
    );
  });

  it('adds an epoch with HKDF(salt root, secret, "Signal PQ Ratchet V1 Chain Add Epoch", 96) and refuses to add out of order', () => {
    const chain = initialSpqrChain(randomBytes(32), 'B2A', false);
    const secret = randomBytes(32);
    const added = addEpoch(chain, 1, secret);
    const okm = hkdf(
      secret,
      chain.nextRoot,
      Buffer.from('Signal PQ Ratchet V1 Chain Add Epoch'),
      96,
    );
    expect(Buffer.from(added.nextRoot)).to.deep.equal(okm.subarray(0, 32));
    expect(Buffer.from(added.links[1]!.send.next!)).to.deep.equal(okm.subarray(64, 96));
    expect(Buffer.from(added.links[1]!.receive.next)).to.deep.equal(okm.subarray(32, 64));
    expect(() => addEpoch(chain, 2, secret)).to.throw(Error);
  });

  it('keeps one chain epoch before the send epoch: older links go, the previous one loses its sending seed but still receives', () => {
    let chain = initialSpqrChain(randomBytes(32), 'A2B', false);
    chain = sendKey(chain, 0).chain;
    chain = addEpoch(addEpoch(chain, 1, randomBytes(32)), 2, randomBytes(32));
    expect(chain.links).to.have.length(3);
    chain = sendKey(chain, 2).chain;
    expect(chain.links).to.have.length(2);
    expect(chain.links[0]!.send.next).to.equal(null);
    expect(receiveKey(chain, 1, 1).key).to.have.length(32);
    expect(refusal(() => receiveKey(chain, 0, 1))).to.be.instanceOf(InvalidMessageError);
    expect(refusal(() => sendKey(chain, 1))).to.be.instanceOf(InvalidMessageError);
    expect(refusal(() => receiveKey(chain, 3, 1))).to.be.instanceOf(InvalidMessageError);
  });

  it('alice and bob pass through all eleven states, agree on every key, and each state survives its record', () => {
    const pair = new Pair();
    // alternating, then runs one way, so that both orders of "vector decoded" and "ct1 acknowledged" occur
    for (let i = 0; i < 200; i++) pair.deliver(i % 2 === 1, pair.send(i % 2 === 0));
    for (let run = 0; run < 8; run++) {
      for (let i = 0; i < 45; i++) pair.deliver(run % 2 === 1, pair.send(run % 2 === 0));
    }
    expect([...pair.names].sort()).to.deep.equal(
      [
        'KeysUnsampled',
        'KeysSampled',
        'HeaderSent',
        'Ct1Received',
        'EkSentCt1Received',
        'NoHeaderReceived',
        'HeaderReceived',
        'Ct1Sampled',
        'EkReceivedCt1Sampled',
        'Ct1Acknowledged',
        'Ct2Sampled',
      ].sort(),
    );
    expect(pair.a.chain.currentEpoch).to.be.at.least(4);
  });

  it('delivers every message exactly once under random schedules of sends, drops, reordering and duplicates, and epochs keep advancing', () => {
    for (let round = 0; round < 4; round++) {
      const pair = new Pair();
      const inFlight: { toA: boolean; sent: { message: Uint8Array; key: Uint8Array } }[] = [];
      let delivered = 0;
      for (let step = 0; step < 1500; step++) {
        const choice = randomInt(10);
        if (choice < 5) {
          const fromA = randomInt(2) === 0;
          const sent = pair.send(fromA);
          if (randomInt(10) >= 3) inFlight.push({ toA: !fromA, sent });
        } else if (inFlight.length > 0) {
          const [item] = inFlight.splice(randomInt(inFlight.length), 1);
          pair.deliver(item!.toA, item!.sent);
          delivered++;
          // a second delivery of the same message is refused and changes nothing
          const state = item!.toA ? pair.a : pair.b;
          const before = json(state);
          expect(refusal(() => spqrReceive(state, item!.sent.message))).to.be.instanceOf(
            InvalidMessageError,
          );
          expect(json(state)).to.equal(before);
        }
      }
      expect(delivered).to.be.greaterThan(300);
      expect(Math.min(pair.a.chain.currentEpoch, pair.b.chain.currentEpoch)).to.be.at.least(2);
    }
  });

  it('refuses a header whose MAC fails, a vector that does not match its header, and a ciphertext whose MAC fails, each leaving the state as it was', () => {
    const flip = (message: Uint8Array): Uint8Array => {
      const parsed = parseSpqrMessage(message);
      const data = Uint8Array.from(parsed.chunk!.data);
      data[5]! ^= 0x01;
      return serializeSpqrMessage({ ...parsed, chunk: { index: parsed.chunk!.index, data } });
    };
    const expectRefused = (state: SpqrState, message: Uint8Array, why: string): void => {
      const before = json(state);
      const error = refusal(() => spqrReceive(state, message));
      expect(error, why).to.be.instanceOf(InvalidMessageError);
      expect((error as Error).message).to.contain(why);
      expect(json(state)).to.equal(before);
    };
    const pair = new Pair();
    let checked = 0;
    for (let i = 0; i < 400 && checked < 3; i++) {
      const fromA = i % 2 === 0;
      const sent = pair.send(fromA);
      const to = fromA ? pair.b : pair.a;
      const type = parseSpqrMessage(sent.message).type;
      const tampered =
        parseSpqrMessage(sent.message).chunk === null ? sent.message : flip(sent.message);
      // try the tampered copy whenever it is the chunk that completes a payload
      const wouldComplete =
        (to.braid.name === 'NoHeaderReceived' &&
          type === SpqrMessageType.Hdr &&
          to.braid.receivingHeader.chunks.length === 2) ||
        ((to.braid.name === 'Ct1Sampled' || to.braid.name === 'Ct1Acknowledged') &&
          (type === SpqrMessageType.Ek || type === SpqrMessageType.EkCt1Ack) &&
          to.braid.receivingEk.chunks.length === 35) ||
        (to.braid.name === 'EkSentCt1Received' &&
          type === SpqrMessageType.Ct2 &&
          to.braid.receivingCt2.chunks.length === 4);
      if (wouldComplete) {
        const why =
          type === SpqrMessageType.Hdr
            ? 'header MAC'
            : type === SpqrMessageType.Ct2
              ? 'ciphertext MAC'
              : 'does not match its header';
        expectRefused(to, tampered, why);
        checked++;
      }
      pair.deliver(!fromA, sent);
    }
    expect(checked).to.equal(3);
  });

  it('refuses a message of a braid epoch ahead of ours, and lets one of an earlier epoch change no braid state', () => {
    const pair = new Pair();
    for (let i = 0; i < 200; i++) pair.deliver(i % 2 === 1, pair.send(i % 2 === 0));
    const bob = pair.b;
    const ahead = serializeSpqrMessage({
      epoch: bob.braid.epoch + 2,
      index: 1,
      type: SpqrMessageType.None,
      chunk: null,
    });
    const before = json(bob);
    expect(refusal(() => spqrReceive(bob, ahead))).to.be.instanceOf(InvalidMessageError);
    expect(json(bob)).to.equal(before);
    const earlier = braidReceive(bob.braid, {
      epoch: bob.braid.epoch - 1,
      type: SpqrMessageType.Hdr,
      chunk: { index: 0, data: randomBytes(32) },
    });
    expect(earlier.state).to.equal(bob.braid);
    expect(earlier.secret).to.equal(null);
  });
});

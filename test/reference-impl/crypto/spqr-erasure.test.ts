// The braid's erasure code (reference-impl/crypto/spqr/erasure.ts) against an independent
// bit-by-bit GF(2^16) and against the parity chunks libsignal-client 0.103.0 actually sends.
import { expect } from 'chai';
import { randomBytes, randomInt } from 'node:crypto';
import { InvalidMessageError } from '../../../reference-impl/crypto/index.ts';
import {
  addChunk,
  decodedPayload,
  decodePayload,
  encodeChunk,
  gfDiv,
  gfMul,
  newDecoder,
  type ChunkDecoder,
} from '../../../reference-impl/crypto/spqr/erasure.ts';
import { parseSpqrMessage, SpqrMessageType } from '../../../reference-impl/crypto/spqr.ts';
import { vectorMatchesHeader } from '../../../reference-impl/crypto/kem/mlkem768.ts';
import {
  parsePreKeySignalMessage,
  parseSignalMessage,
} from '../../../reference-impl/crypto/wire.ts';
import { makeParty, text } from './support/parties.ts';
import { spqrOf as spqrOfMessage } from './support/spqr-epochs.ts';

/** Carry-less multiplication reduced bit by bit by x^16 + x^12 + x^3 + x + 1. */
function slowMul(a: number, b: number): number {
  let product = 0;
  for (let i = 0; i < 16; i++) if (b & (1 << i)) product ^= a << i;
  for (let bit = 31; bit >= 16; bit--) if (product & (1 << bit)) product ^= 0x1100b << (bit - 16);
  return product;
}

/** All subsets of `items` of size `k`. */
function* subsets<T>(items: readonly T[], k: number, from = 0): Generator<T[]> {
  if (k === 0) {
    yield [];
    return;
  }
  for (let i = from; i <= items.length - k; i++) {
    for (const rest of subsets(items, k - 1, i + 1)) yield [items[i]!, ...rest];
  }
}

function decoderWith(payload: Uint8Array, indexes: readonly number[]): ChunkDecoder {
  let decoder = newDecoder(payload.length);
  for (const index of indexes) decoder = addChunk(decoder, encodeChunk(payload, index));
  return decoder;
}

describe('reference-impl/crypto/spqr erasure code', () => {
  it('multiplies and divides in GF(2^16) modulo 0x1100B as a bit-by-bit reference does', () => {
    for (let i = 0; i < 5000; i++) {
      const a = randomInt(0x10000);
      const b = randomInt(0x10000);
      expect(gfMul(a, b), `${a} · ${b}`).to.equal(slowMul(a, b));
      if (b !== 0) expect(gfMul(gfDiv(a, b), b), `${a} / ${b}`).to.equal(a);
    }
    expect(() => gfDiv(1, 0)).to.throw(RangeError);
  });

  it('sends the payload itself as chunks 0 … n−1, then parity chunks from index n on', () => {
    const payload = randomBytes(96);
    for (let i = 0; i < 3; i++) {
      expect(Buffer.from(encodeChunk(payload, i).data)).to.deep.equal(
        payload.subarray(32 * i, 32 * i + 32),
      );
    }
    const parity = encodeChunk(payload, 3).data;
    expect(parity).to.have.length(32);
    expect(Buffer.from(parity)).to.not.deep.equal(payload.subarray(0, 32));
  });

  it('recovers a 96-byte header from every 3 of its first 8 chunks, and from no 2', () => {
    const payload = randomBytes(96);
    const indexes = [0, 1, 2, 3, 4, 5, 6, 7];
    for (const some of subsets(indexes, 3)) {
      expect(Buffer.from(decodedPayload(decoderWith(payload, some))!), `${some}`).to.deep.equal(
        payload,
      );
    }
    for (const some of subsets(indexes, 2)) {
      expect(decodedPayload(decoderWith(payload, some)), `${some}`).to.equal(null);
    }
  });

  it('recovers a 160-byte ciphertext-2 payload from every 5 of its first 10 chunks, in any order', () => {
    const payload = randomBytes(160);
    const indexes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    for (const some of subsets(indexes, 5)) {
      const reversed = some.slice().reverse();
      expect(Buffer.from(decodedPayload(decoderWith(payload, reversed))!), `${some}`).to.deep.equal(
        payload,
      );
    }
    for (const some of subsets(indexes, 4)) {
      expect(decodedPayload(decoderWith(payload, some)), `${some}`).to.equal(null);
    }
  });

  it('recovers an encapsulation key (1152 bytes) and a ciphertext 1 (960 bytes) when 30 % of the chunks are lost at random', () => {
    for (const length of [1152, 960]) {
      const n = length / 32;
      for (let round = 0; round < 20; round++) {
        const payload = randomBytes(length);
        let decoder = newDecoder(length);
        let index = 0;
        let received = 0;
        while (decodedPayload(decoder) === null) {
          if (randomInt(10) >= 3) {
            decoder = addChunk(decoder, encodeChunk(payload, index));
            received++;
          }
          index++;
        }
        expect(received, `length ${length}`).to.equal(n);
        expect(Buffer.from(decodedPayload(decoder)!)).to.deep.equal(payload);
      }
    }
  });

  it('keeps a repeated chunk once, and ignores parity beyond n once n chunks are held', () => {
    const payload = randomBytes(96);
    let decoder = decoderWith(payload, [5, 5, 7]);
    expect(decoder.chunks.map((c) => c.index)).to.deep.equal([5, 7]);
    decoder = addChunk(decoder, encodeChunk(payload, 9));
    const full = addChunk(decoder, encodeChunk(payload, 11));
    expect(full).to.equal(decoder);
    expect(Buffer.from(decodedPayload(decoder)!)).to.deep.equal(payload);
    const withSystematic = addChunk(decoder, encodeChunk(payload, 1));
    expect(withSystematic.chunks.map((c) => c.index)).to.deep.equal([1, 5, 7, 9]);
    expect(Buffer.from(decodedPayload(withSystematic)!)).to.deep.equal(payload);
  });

  it('refuses to decode with too few chunks with a clear InvalidMessageError', () => {
    const decoder = decoderWith(randomBytes(1152), [0, 40, 3]);
    expect(() => decodePayload(decoder))
      .to.throw(InvalidMessageError)
      .with.property('message', 'erasure code: 3 of the 36 chunks needed');
  });

  it('refuses odd lengths, lengths not a multiple of 32, indexes beyond 16 bits and short chunks', () => {
    expect(() => encodeChunk(new Uint8Array(33), 0)).to.throw(RangeError);
    expect(() => encodeChunk(new Uint8Array(32), 0x10000)).to.throw(RangeError);
    expect(() => newDecoder(0)).to.throw(RangeError);
    expect(() => addChunk(newDecoder(64), { index: 0, data: new Uint8Array(31) })).to.throw(
      RangeError,
    );
  });

  it('computes byte for byte the parity chunks of the header that libsignal sends', async () => {
    const alice = makeParty('libsignal');
    const bob = makeParty('parley');
    await alice.startSession(bob.address, await bob.bundle());
    const chunks = new Map<number, Uint8Array>();
    for (let i = 0; i < 9; i++) {
      const sent = await alice.encrypt(bob.address, text(`unanswered ${i}`));
      const inner =
        sent.type === 'prekey'
          ? parsePreKeySignalMessage(sent.body).message
          : parseSignalMessage(sent.body);
      const spqr = parseSpqrMessage(inner.pqRatchet);
      expect(spqr.type, `message ${i}`).to.equal(SpqrMessageType.Hdr);
      expect(spqr.epoch).to.equal(1);
      chunks.set(spqr.chunk!.index, Uint8Array.from(spqr.chunk!.data));
    }
    expect([...chunks.keys()]).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const payload = Buffer.concat([chunks.get(0)!, chunks.get(1)!, chunks.get(2)!]);
    for (let index = 3; index < 9; index++) {
      expect(Buffer.from(encodeChunk(payload, index).data), `chunk ${index}`).to.deep.equal(
        Buffer.from(chunks.get(index)!),
      );
    }
    // and a decoder given only parity chunks finds the header libsignal sent
    let decoder = newDecoder(96);
    for (const index of [8, 4, 6]) decoder = addChunk(decoder, { index, data: chunks.get(index)! });
    expect(Buffer.from(decodedPayload(decoder)!)).to.deep.equal(payload);
  });

  it('computes byte for byte the parity chunks of the encapsulation-key vector libsignal sends, and the vector completes libsignal’s header', async () => {
    const alice = makeParty('libsignal');
    const bob = makeParty('parley');
    await alice.startSession(bob.address, await bob.bundle());
    const header = new Map<number, Uint8Array>();
    const ek = new Map<number, Uint8Array>();
    const collect = (message: Parameters<typeof spqrOfMessage>[0]): void => {
      const spqr = spqrOfMessage(message);
      if (spqr.chunk === null) return;
      if (spqr.type === SpqrMessageType.Hdr) header.set(spqr.chunk.index, spqr.chunk.data);
      if (spqr.type === SpqrMessageType.Ek || spqr.type === SpqrMessageType.EkCt1Ack) {
        ek.set(spqr.chunk.index, spqr.chunk.data);
      }
    };
    // alternate until libsignal has its header through and bob's first ciphertext chunks back
    for (let i = 0; i < 8; i++) {
      const a = await alice.encrypt(bob.address, text(`a${i}`));
      collect(a);
      await bob.decrypt(alice.address, a);
      await alice.decrypt(bob.address, await bob.encrypt(alice.address, text(`b${i}`)));
    }
    // then libsignal alone: 45 messages carry vector chunks 0 … 44 (36 of payload, 9 of parity)
    for (let i = 0; i < 45; i++) collect(await alice.encrypt(bob.address, text(`run ${i}`)));
    expect(ek.size).to.be.at.least(45);
    const vector = Buffer.concat(Array.from({ length: 36 }, (_, i) => ek.get(i)!));
    for (let index = 36; index < 45; index++) {
      expect(Buffer.from(encodeChunk(vector, index).data), `chunk ${index}`).to.deep.equal(
        Buffer.from(ek.get(index)!),
      );
    }
    const headerPayload = Buffer.concat([header.get(0)!, header.get(1)!, header.get(2)!]);
    expect(vectorMatchesHeader(headerPayload.subarray(0, 64), vector)).to.equal(true);
  });

  it('computes byte for byte the parity chunks of both ciphertext payloads libsignal sends as the encapsulating side', async () => {
    const alice = makeParty('parley');
    const bob = makeParty('libsignal');
    await alice.startSession(bob.address, await bob.bundle());
    const ct1 = new Map<number, Uint8Array>();
    const ct2 = new Map<number, Uint8Array>();
    const fromBob = async (body: string): Promise<void> => {
      const message = await bob.encrypt(alice.address, text(body));
      const spqr = spqrOfMessage(message);
      if (spqr.epoch === 1 && spqr.type === SpqrMessageType.Ct1)
        ct1.set(spqr.chunk!.index, spqr.chunk!.data);
      if (spqr.epoch === 1 && spqr.type === SpqrMessageType.Ct2)
        ct2.set(spqr.chunk!.index, spqr.chunk!.data);
      await alice.decrypt(bob.address, message);
    };
    const fromAlice = async (body: string): Promise<void> => {
      await bob.decrypt(alice.address, await alice.encrypt(bob.address, text(body)));
    };
    for (let i = 0; i < 4; i++) {
      await fromAlice(`a${i}`);
      await fromBob(`b${i}`);
    }
    for (let i = 0; i < 36; i++) await fromBob(`ct1 run ${i}`); // ct1 chunks up to 39
    for (let i = 0; i < 40; i++) await fromAlice(`ek run ${i}`); // alice's vector, acknowledged
    for (let i = 0; i < 9; i++) await fromBob(`ct2 run ${i}`); // ct2 chunks 0 to 8
    expect(ct1.size).to.be.at.least(38);
    expect(ct2.size).to.be.at.least(8);
    const ciphertext1 = Buffer.concat(Array.from({ length: 30 }, (_, i) => ct1.get(i)!));
    for (const [index, data] of ct1) {
      expect(Buffer.from(encodeChunk(ciphertext1, index).data), `ct1 chunk ${index}`).to.deep.equal(
        Buffer.from(data),
      );
    }
    const ciphertext2 = Buffer.concat(Array.from({ length: 5 }, (_, i) => ct2.get(i)!));
    for (const [index, data] of ct2) {
      expect(Buffer.from(encodeChunk(ciphertext2, index).data), `ct2 chunk ${index}`).to.deep.equal(
        Buffer.from(data),
      );
    }
    expect([...ct1.keys()].some((i) => i >= 30)).to.equal(true);
    expect([...ct2.keys()].some((i) => i >= 5)).to.equal(true);
  });
});

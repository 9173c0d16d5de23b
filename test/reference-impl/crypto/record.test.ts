// The serialised, versioned session record (reference-impl/crypto/record.ts): round trips and
// strict refusals.
import { expect } from 'chai';
import {
  deserializeSessionRecord,
  InvalidSessionRecordError,
  serializeSessionRecord,
} from '../../../reference-impl/crypto/index.ts';
import { ParleyParty, text, untext } from './support/parties.ts';

async function liveRecord(): Promise<{
  alice: ParleyParty;
  bob: ParleyParty;
  json: Record<string, unknown>;
}> {
  const alice = new ParleyParty({ name: 'alice', deviceId: 1 });
  const bob = new ParleyParty({ name: 'bob', deviceId: 1 });
  await alice.startSession(bob.address, await bob.bundle());
  await bob.decrypt(alice.address, await alice.encrypt(bob.address, text('hi')));
  const skipped = await bob.encrypt(alice.address, text('skipped'));
  await alice.decrypt(bob.address, await bob.encrypt(alice.address, text('hello')));
  void skipped;
  const record = (await alice.store.loadSession(bob.address))!;
  const json = JSON.parse(Buffer.from(serializeSessionRecord(record)).toString()) as Record<
    string,
    unknown
  >;
  return { alice, bob, json };
}

const refuse = (value: unknown): unknown => {
  try {
    deserializeSessionRecord(
      new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value)),
    );
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('reference-impl/crypto/record', () => {
  it('round-trips a live session so that the restored record keeps the conversation going', async () => {
    const { alice, bob } = await liveRecord();
    const record = (await alice.store.loadSession(bob.address))!;
    const bytes = serializeSessionRecord(record);
    const restored = deserializeSessionRecord(bytes);
    expect(Buffer.from(serializeSessionRecord(restored))).to.deep.equal(Buffer.from(bytes));
    await alice.store.storeSession(bob.address, restored);
    const message = await alice.encrypt(bob.address, text('after restore'));
    expect(untext(await bob.decrypt(alice.address, message))).to.equal('after restore');
  });

  it('carries version 3, session version 4, skipped message keys, the SPQR braid state and chain', async () => {
    const { json } = await liveRecord();
    expect(json.version).to.equal(3);
    const current = json.current as {
      sessionVersion: number;
      receiverChains: { messageKeys: unknown[] }[];
      spqr: {
        braid: { name: string; epoch: number };
        chain: { direction: string; links: { sendCounter: number; receiveCounter: number }[] };
      };
    };
    expect(current.sessionVersion).to.equal(4);
    expect(current.receiverChains.some((chain) => chain.messageKeys.length === 1)).to.equal(true);
    // alice sent 1 and received 1 of bob's 2 messages (the second one, SPQR index 2)
    expect(current.spqr.chain.direction).to.equal('A2B');
    expect(current.spqr.chain.links[0]).to.include({ sendCounter: 1, receiveCounter: 2 });
    expect(current.spqr.braid).to.include({ name: 'KeysSampled', epoch: 1 });
  });

  it('refuses an unknown record version, and a version-2 record without the braid, with InvalidSessionRecordError', async () => {
    const { json } = await liveRecord();
    expect(refuse({ ...json, version: 4 })).to.be.instanceOf(InvalidSessionRecordError);
    const error = refuse({ ...json, version: 2 }) as Error;
    expect(error).to.be.instanceOf(InvalidSessionRecordError);
    expect(error.message).to.contain('braid');
  });

  it('refuses a version-1 record (X3DH sessions) with InvalidSessionRecordError naming X3DH', async () => {
    const { json } = await liveRecord();
    const error = refuse({ ...json, version: 1 }) as Error;
    expect(error).to.be.instanceOf(InvalidSessionRecordError);
    expect(error.message).to.contain('X3DH');
  });

  it('refuses a state of session version 3 or without its SPQR chain with InvalidSessionRecordError', async () => {
    const { json } = await liveRecord();
    const current = json.current as Record<string, unknown>;
    expect(refuse({ ...json, current: { ...current, sessionVersion: 3 } })).to.be.instanceOf(
      InvalidSessionRecordError,
    );
    const withoutSpqr = { ...current };
    delete withoutSpqr.spqr;
    expect(refuse({ ...json, current: withoutSpqr })).to.be.instanceOf(InvalidSessionRecordError);
    const spqr = current.spqr as { braid: Record<string, unknown>; chain: Record<string, unknown> };
    for (const [what, changed] of [
      ['max jump 7', { ...spqr, chain: { ...spqr.chain, maxJump: 7 } }],
      ['an unknown braid state', { ...spqr, braid: { ...spqr.braid, name: 'Ct3Sent' } }],
      ['braid epoch 0', { ...spqr, braid: { ...spqr.braid, epoch: 0 } }],
      ['a braid epoch the chain has not followed', { ...spqr, braid: { ...spqr.braid, epoch: 3 } }],
      ['no links', { ...spqr, chain: { ...spqr.chain, links: [] } }],
      ['a send epoch ahead', { ...spqr, chain: { ...spqr.chain, sendEpoch: 1 } }],
    ] as const) {
      expect(refuse({ ...json, current: { ...current, spqr: changed } }), what).to.be.instanceOf(
        InvalidSessionRecordError,
      );
    }
  });

  it('round-trips a session still waiting for its first answer, Kyber ciphertext and timestamp included', async () => {
    const alice = new ParleyParty({ name: 'alice', deviceId: 1 });
    const bob = new ParleyParty({ name: 'bob', deviceId: 1 });
    await alice.startSession(bob.address, await bob.bundle(), 1_700_000_000_000);
    const record = (await alice.store.loadSession(bob.address))!;
    const json = JSON.parse(Buffer.from(serializeSessionRecord(record)).toString()) as {
      current: { pendingPreKey: Record<string, unknown> };
    };
    expect(json.current.pendingPreKey.timestamp).to.equal(1_700_000_000_000);
    expect(
      Buffer.from(json.current.pendingPreKey.kyberCiphertext as string, 'base64url'),
    ).to.have.length(1569);
    await alice.store.storeSession(
      bob.address,
      deserializeSessionRecord(serializeSessionRecord(record)),
    );
    const first = await alice.encrypt(bob.address, text('restored'), 1_700_000_000_000);
    expect(first.type).to.equal('prekey');
    expect(untext(await bob.decrypt(alice.address, first))).to.equal('restored');
  });

  it('refuses unknown members, missing members and wrong key lengths with InvalidSessionRecordError', async () => {
    const { json } = await liveRecord();
    const current = json.current as Record<string, unknown>;
    expect(refuse({ ...json, extra: 1 })).to.be.instanceOf(InvalidSessionRecordError);
    const withoutRoot = { ...current };
    delete withoutRoot.rootKey;
    expect(refuse({ ...json, current: withoutRoot })).to.be.instanceOf(InvalidSessionRecordError);
    expect(refuse({ ...json, current: { ...current, rootKey: 'AAAA' } })).to.be.instanceOf(
      InvalidSessionRecordError,
    );
    expect(refuse({ ...json, current: { ...current, previousCounter: -1 } })).to.be.instanceOf(
      InvalidSessionRecordError,
    );
  });

  it('refuses bytes that are not UTF-8 JSON with InvalidSessionRecordError', () => {
    expect(refuse('{"version":3,')).to.be.instanceOf(InvalidSessionRecordError);
    const error = (() => {
      try {
        deserializeSessionRecord(new Uint8Array([0xff, 0xfe]));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).to.be.instanceOf(InvalidSessionRecordError);
  });
});

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

  it('carries a version field and skipped message keys', async () => {
    const { json } = await liveRecord();
    expect(json.version).to.equal(1);
    const current = json.current as { receiverChains: { messageKeys: unknown[] }[] };
    expect(current.receiverChains.some((chain) => chain.messageKeys.length === 1)).to.equal(true);
  });

  it('refuses an unknown record version with InvalidSessionRecordError', async () => {
    const { json } = await liveRecord();
    expect(refuse({ ...json, version: 2 })).to.be.instanceOf(InvalidSessionRecordError);
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
    expect(refuse('{"version":1,')).to.be.instanceOf(InvalidSessionRecordError);
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

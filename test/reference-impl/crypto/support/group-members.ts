// Group members that run sender keys through Parley's group cipher or through libsignal-client
// 0.103.0 (AGPL devDependency, used only here and in bench/), so one group scenario runs across both.
// Each member keeps its own sender-key store; distribution messages are handed over as bytes, as
// they would travel inside 1:1 Signal messages.
import { randomUUID } from 'node:crypto';
import * as Signal from '@signalapp/libsignal-client';
import protobuf from 'protobufjs';
import {
  createSenderKeyDistributionMessage,
  groupDecrypt,
  groupEncrypt,
  InMemorySenderKeyStore,
  processSenderKeyDistributionMessage,
  rotateSenderKey,
  serializeSenderKeyRecord,
  type ProtocolAddress,
  type SenderKeyState,
} from '../../../../reference-impl/crypto/index.ts';
import { toBuffer } from './parties.ts';

/** One device in a group, whichever implementation drives its sender keys. */
export interface GroupMember {
  readonly kind: 'parley' | 'libsignal';
  readonly address: ProtocolAddress;
  /** The distribution message of this member's sender key for `distributionId` (created on first use). */
  distribute(distributionId: string): Promise<Uint8Array>;
  /** A fresh sender key for `distributionId` replacing the current one; its distribution message. */
  rotate(distributionId: string): Promise<Uint8Array>;
  /** Processes `sender`'s distribution message. */
  accept(sender: ProtocolAddress, distribution: Uint8Array): Promise<void>;
  encrypt(distributionId: string, plaintext: Uint8Array): Promise<Uint8Array>;
  decrypt(sender: ProtocolAddress, body: Uint8Array): Promise<Uint8Array>;
  /** The record held for (`sender`, `distributionId`), serialised, or 'none'. */
  stateOf(sender: ProtocolAddress, distributionId: string): Promise<string>;
}

export class ParleyMember implements GroupMember {
  readonly kind = 'parley';
  readonly store = new InMemorySenderKeyStore();
  constructor(readonly address: ProtocolAddress) {}

  async distribute(distributionId: string): Promise<Uint8Array> {
    return (await createSenderKeyDistributionMessage(this.address, distributionId, this.store))
      .serialized;
  }

  async rotate(distributionId: string): Promise<Uint8Array> {
    return (await rotateSenderKey(this.address, distributionId, this.store)).serialized;
  }

  accept(sender: ProtocolAddress, distribution: Uint8Array): Promise<void> {
    return processSenderKeyDistributionMessage(sender, distribution, this.store);
  }

  async encrypt(distributionId: string, plaintext: Uint8Array): Promise<Uint8Array> {
    return (await groupEncrypt(this.address, distributionId, plaintext, this.store)).serialized;
  }

  decrypt(sender: ProtocolAddress, body: Uint8Array): Promise<Uint8Array> {
    return groupDecrypt(body, sender, this.store);
  }

  async stateOf(sender: ProtocolAddress, distributionId: string): Promise<string> {
    const record = await this.store.loadSenderKey(sender, distributionId);
    return record === undefined ? 'none' : Buffer.from(serializeSenderKeyRecord(record)).toString();
  }
}

const key = (address: Signal.ProtocolAddress, distributionId: string): string =>
  `${address.toString()}/${distributionId}`;

/** libsignal's SenderKeyStore in memory, with the removal a rotation needs. */
export class LibsignalSenderKeys extends Signal.SenderKeyStore {
  readonly records = new Map<string, Signal.SenderKeyRecord>();
  async saveSenderKey(
    sender: Signal.ProtocolAddress,
    distributionId: string,
    record: Signal.SenderKeyRecord,
  ): Promise<void> {
    this.records.set(key(sender, distributionId), record);
  }
  async getSenderKey(
    sender: Signal.ProtocolAddress,
    distributionId: string,
  ): Promise<Signal.SenderKeyRecord | null> {
    return this.records.get(key(sender, distributionId)) ?? null;
  }
}

export class LibsignalMember implements GroupMember {
  readonly kind = 'libsignal';
  readonly store = new LibsignalSenderKeys();
  private readonly addresses = new Map<string, Signal.ProtocolAddress>();
  constructor(readonly address: ProtocolAddress) {}

  signalAddress(address: ProtocolAddress): Signal.ProtocolAddress {
    const id = `${address.name}.${address.deviceId}`;
    let found = this.addresses.get(id);
    if (found === undefined) {
      found = Signal.ProtocolAddress.new(address.name, address.deviceId);
      this.addresses.set(id, found);
    }
    return found;
  }

  async distribute(distributionId: string): Promise<Uint8Array> {
    const message = await Signal.SenderKeyDistributionMessage.create(
      this.signalAddress(this.address),
      distributionId,
      this.store,
    );
    return new Uint8Array(message.serialize());
  }

  /** libsignal has no rotation call: a client forgets its sender key and creates a new one. */
  async rotate(distributionId: string): Promise<Uint8Array> {
    this.store.records.delete(key(this.signalAddress(this.address), distributionId));
    return this.distribute(distributionId);
  }

  accept(sender: ProtocolAddress, distribution: Uint8Array): Promise<void> {
    return Signal.processSenderKeyDistributionMessage(
      this.signalAddress(sender),
      Signal.SenderKeyDistributionMessage.deserialize(toBuffer(distribution)),
      this.store,
    );
  }

  async encrypt(distributionId: string, plaintext: Uint8Array): Promise<Uint8Array> {
    const message = await Signal.groupEncrypt(
      this.signalAddress(this.address),
      distributionId,
      this.store,
      toBuffer(plaintext),
    );
    return new Uint8Array(message.serialize());
  }

  async decrypt(sender: ProtocolAddress, body: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(
      await Signal.groupDecrypt(this.signalAddress(sender), this.store, toBuffer(body)),
    );
  }

  async stateOf(sender: ProtocolAddress, distributionId: string): Promise<string> {
    const record = this.store.records.get(key(this.signalAddress(sender), distributionId));
    return record === undefined ? 'none' : Buffer.from(record.serialize()).toString('hex');
  }
}

/** A group member; `name` defaults to a fresh ACI (a UUID). */
export function makeMember(
  kind: 'parley' | 'libsignal',
  name: string = randomUUID(),
  deviceId = 1,
): GroupMember {
  const address = { name, deviceId };
  return kind === 'parley' ? new ParleyMember(address) : new LibsignalMember(address);
}

// libsignal's SenderKeyRecordStructure (rust/protocol/src/proto/storage.proto, field numbers only),
// to hand one sender-key state to both implementations.
const { root: storageRoot } = protobuf.parse(
  `
  syntax = "proto3";
  message SenderChainKey { uint32 iteration = 1; bytes seed = 2; }
  message SenderMessageKey { uint32 iteration = 1; bytes seed = 2; }
  message SenderSigningKey { bytes public = 1; bytes private = 2; }
  message SenderKeyStateStructure {
    uint32 message_version = 5;
    uint32 chain_id = 1;
    SenderChainKey sender_chain_key = 2;
    SenderSigningKey sender_signing_key = 3;
    repeated SenderMessageKey sender_message_keys = 4;
  }
  message SenderKeyRecordStructure { repeated SenderKeyStateStructure sender_key_states = 1; }
`,
  { keepCase: true },
);
const LibsignalRecordProto = storageRoot.lookupType('SenderKeyRecordStructure');

/** A Parley sender-key state in libsignal's record format. */
export function libsignalRecordOf(state: SenderKeyState): Signal.SenderKeyRecord {
  const bytes = LibsignalRecordProto.encode({
    sender_key_states: [
      {
        message_version: 3,
        chain_id: state.chainId,
        sender_chain_key: { iteration: state.chainKey.iteration, seed: state.chainKey.seed },
        sender_signing_key: { public: state.signingKey, private: state.signingPrivateKey },
        sender_message_keys: [],
      },
    ],
  }).finish();
  return Signal.SenderKeyRecord.deserialize(toBuffer(bytes));
}

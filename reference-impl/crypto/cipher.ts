// Session encrypt / decrypt (spec: Cryptography — Double Ratchet, failure semantics; libsignal
// session_cipher.rs). Every failure throws a ProtocolError and stores nothing: states are changed
// only on copies, and the stores are written only after the whole operation has succeeded.
// Content padding is the application's business: libsignal apps pad plaintext before encryption;
// this core encrypts the bytes exactly as given.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { generateKeyPair } from './curve.ts';
import {
  BadMacError,
  DuplicatedMessageError,
  InvalidMessageError,
  MessageTooFarAheadError,
  NoSessionError,
  ProtocolError,
  UnrecognizedVersionError,
  UntrustedIdentityError,
} from './errors.ts';
import { MAX_FORWARD_JUMPS, MAX_MESSAGE_KEYS } from './limits.ts';
import {
  createChain,
  deriveMessageKeys,
  messageKeys,
  messageKeySeed,
  nextChainKey,
  type MessageKeys,
} from './ratchet.ts';
import { copyRecord, processPreKeyMessage } from './session.ts';
import {
  addReceiverChain,
  cloneState,
  findReceiverChain,
  SessionRecord,
  updateReceiverChain,
  type SessionState,
  type SkippedMessageKey,
} from './state.ts';
import { addressKey, type ProtocolAddress, type ProtocolStores } from './stores.ts';
import {
  encodePreKeySignalMessage,
  encodeSignalMessage,
  parsePreKeySignalMessage,
  parseSignalMessage,
  verifyMac,
  type SignalMessage,
} from './wire.ts';

/** A ciphertext as it travels in Parley's message frames: type plus body bytes. */
export interface CiphertextMessage {
  readonly type: 'prekey' | 'whisper';
  readonly body: Uint8Array;
}

function aesCbcEncrypt(keys: MessageKeys, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

function aesCbcDecrypt(keys: MessageKeys, ciphertext: Uint8Array): Uint8Array {
  try {
    const decipher = createDecipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
    return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  } catch {
    throw new InvalidMessageError('bad CBC padding under a valid MAC');
  }
}

/**
 * Encrypts `plaintext` for `address` with its current session: a PreKeySignalMessage until the peer
 * has answered, a SignalMessage after. Throws NoSessionError or UntrustedIdentityError.
 */
export async function encrypt(
  plaintext: Uint8Array,
  address: ProtocolAddress,
  stores: ProtocolStores,
): Promise<CiphertextMessage> {
  const record = await stores.loadSession(address);
  const current = record?.current;
  if (record === undefined || current === undefined || current === null) {
    throw new NoSessionError(addressKey(address));
  }
  if (!(await stores.isTrustedIdentity(address, current.remoteIdentityKey, 'sending'))) {
    throw new UntrustedIdentityError(addressKey(address));
  }
  const chainKey = current.senderChain.chainKey;
  const keys = messageKeys(chainKey);
  const signalMessage = encodeSignalMessage({
    macKey: keys.macKey,
    ratchetKey: current.senderChain.ratchetKeyPair.publicKey,
    counter: chainKey.index,
    previousCounter: current.previousCounter,
    ciphertext: aesCbcEncrypt(keys, plaintext),
    senderIdentity: current.localIdentityKey,
    receiverIdentity: current.remoteIdentityKey,
  });
  const pending = current.pendingPreKey;
  const message: CiphertextMessage =
    pending === null
      ? { type: 'whisper', body: signalMessage }
      : {
          type: 'prekey',
          body: encodePreKeySignalMessage({
            registrationId: current.localRegistrationId,
            preKeyId: pending.preKeyId,
            signedPreKeyId: pending.signedPreKeyId,
            baseKey: pending.baseKey,
            identityKey: current.localIdentityKey,
            message: signalMessage,
          }),
        };
  const updated = cloneState(current);
  updated.senderChain = {
    ratchetKeyPair: current.senderChain.ratchetKeyPair,
    chainKey: nextChainKey(chainKey),
  };
  await stores.saveIdentity(address, current.remoteIdentityKey);
  await stores.storeSession(address, new SessionRecord(updated, record.previous.slice()));
  return message;
}

/** The receiving chain for `theirRatchetKey`, stepping the DH ratchet if it is new (libsignal get_or_create_chain_key). */
function receiverChainIndex(state: SessionState, theirRatchetKey: Uint8Array): number {
  const found = findReceiverChain(state, theirRatchetKey);
  if (found >= 0) return found;
  const ourOld = state.senderChain.ratchetKeyPair;
  const receiving = createChain(state.rootKey, theirRatchetKey, ourOld.privateKey);
  const ourNew = generateKeyPair();
  const sending = createChain(receiving.rootKey, theirRatchetKey, ourNew.privateKey);
  state.rootKey = sending.rootKey;
  addReceiverChain(state, theirRatchetKey, receiving.chainKey);
  // libsignal's previous_counter is the index of the last key used, not the count of keys sent.
  const sent = state.senderChain.chainKey.index;
  state.previousCounter = sent > 0 ? sent - 1 : 0;
  state.senderChain = { ratchetKeyPair: ourNew, chainKey: sending.chainKey };
  return state.receiverChains.length - 1;
}

/** The keys for `counter` on chain `at`, keeping skipped keys (libsignal get_or_create_message_key). */
function messageKeysFor(state: SessionState, at: number, counter: number): MessageKeys {
  const chain = state.receiverChains[at]!;
  const index = chain.chainKey.index;
  if (index > counter) {
    const skipped = chain.messageKeys.findIndex((key) => key.index === counter);
    if (skipped < 0) throw new DuplicatedMessageError(index, counter);
    const seed = chain.messageKeys[skipped]!.seed;
    const rest = chain.messageKeys.filter((_, i) => i !== skipped);
    updateReceiverChain(state, at, chain.chainKey, rest);
    return deriveMessageKeys(seed, counter);
  }
  const jump = counter - index;
  if (jump > MAX_FORWARD_JUMPS) throw new MessageTooFarAheadError(jump);
  const added: SkippedMessageKey[] = [];
  let chainKey = chain.chainKey;
  // Keys below counter − MAX_MESSAGE_KEYS would be dropped at once; skip deriving their seeds.
  const keepFrom = counter - MAX_MESSAGE_KEYS;
  while (chainKey.index < counter) {
    if (chainKey.index >= keepFrom)
      added.push({ index: chainKey.index, seed: messageKeySeed(chainKey) });
    chainKey = nextChainKey(chainKey);
  }
  const keys = messageKeys(chainKey);
  const kept = added.length === 0 ? chain.messageKeys : chain.messageKeys.concat(added);
  updateReceiverChain(state, at, nextChainKey(chainKey), kept);
  return keys;
}

/** Decrypts with one state, changing only `state` (a copy). */
function decryptWithState(state: SessionState, message: SignalMessage): Uint8Array {
  if (message.version !== state.sessionVersion) throw new UnrecognizedVersionError(message.version);
  const at = receiverChainIndex(state, message.ratchetKey);
  const keys = messageKeysFor(state, at, message.counter);
  if (!verifyMac(message, state.remoteIdentityKey, state.localIdentityKey, keys.macKey)) {
    throw new BadMacError();
  }
  const plaintext = aesCbcDecrypt(keys, message.ciphertext);
  state.pendingPreKey = null;
  return plaintext;
}

/**
 * Tries the current state, then archived ones (libsignal decrypt_message_with_record); returns the
 * updated record without touching `record`. A duplicate stops the search at once; a prekey message
 * is tried only against the current state. Otherwise the current state's error is thrown.
 */
function decryptWithRecord(
  address: ProtocolAddress,
  record: SessionRecord,
  message: SignalMessage,
  preKey: boolean,
): { record: SessionRecord; plaintext: Uint8Array } {
  const errors: ProtocolError[] = [];
  const attempt = (state: SessionState): { state: SessionState; plaintext: Uint8Array } | null => {
    const copy = cloneState(state);
    try {
      return { state: copy, plaintext: decryptWithState(copy, message) };
    } catch (error) {
      if (error instanceof DuplicatedMessageError || !(error instanceof ProtocolError)) throw error;
      if (preKey) throw error;
      errors.push(error);
      return null;
    }
  };
  if (record.current !== null) {
    const result = attempt(record.current);
    if (result !== null) {
      return {
        record: new SessionRecord(result.state, record.previous.slice()),
        plaintext: result.plaintext,
      };
    }
  }
  for (let i = 0; i < record.previous.length; i++) {
    const result = attempt(record.previous[i]!);
    if (result !== null) {
      const updated = copyRecord(record);
      updated.promoteOldSession(i, result.state);
      return { record: updated, plaintext: result.plaintext };
    }
  }
  throw errors[0] ?? new NoSessionError(addressKey(address));
}

/**
 * Decrypts a message from `address`. Throws (and leaves every store as it was): NoSessionError,
 * UntrustedIdentityError, UnknownPreKeyError, UnknownSignedPreKeyError, BadMacError,
 * DuplicatedMessageError, MessageTooFarAheadError, InvalidKeyError, or a parsing error of wire.ts.
 */
export async function decrypt(
  message: CiphertextMessage,
  address: ProtocolAddress,
  stores: ProtocolStores,
): Promise<Uint8Array> {
  if (message.type === 'whisper') {
    const parsed = parseSignalMessage(message.body);
    const record = await stores.loadSession(address);
    if (record === undefined) throw new NoSessionError(addressKey(address));
    const result = decryptWithRecord(address, record, parsed, false);
    const remoteIdentity = result.record.current!.remoteIdentityKey;
    if (!(await stores.isTrustedIdentity(address, remoteIdentity, 'receiving'))) {
      throw new UntrustedIdentityError(addressKey(address));
    }
    await stores.saveIdentity(address, remoteIdentity);
    await stores.storeSession(address, result.record);
    return result.plaintext;
  }
  if (message.type !== 'prekey') {
    throw new InvalidMessageError(`unknown ciphertext type ${String(message.type)}`);
  }
  const parsed = parsePreKeySignalMessage(message.body);
  if (!(await stores.isTrustedIdentity(address, parsed.identityKey, 'receiving'))) {
    throw new UntrustedIdentityError(addressKey(address));
  }
  const record = copyRecord(await stores.loadSession(address));
  const usedPreKeyId = await processPreKeyMessage(parsed, record, stores);
  const result = decryptWithRecord(address, record, parsed.message, true);
  await stores.saveIdentity(address, parsed.identityKey);
  await stores.storeSession(address, result.record);
  if (usedPreKeyId !== null) await stores.removePreKey(usedPreKeyId);
  return result.plaintext;
}

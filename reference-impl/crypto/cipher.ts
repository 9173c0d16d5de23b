// Session encrypt / decrypt (spec: Cryptography — Double Ratchet, SPQR chain, failure semantics;
// libsignal session_management.rs and triple_ratchet.rs). Every failure throws a ProtocolError and stores nothing: states are changed
// only on copies, and the stores are written only after the whole operation has succeeded.
// Content padding is the application's business: libsignal apps pad plaintext before encryption;
// this core encrypts the bytes exactly as given.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { addressesField, checkDeviceId, isSameAccount } from './address.ts';
import { generateKeyPair } from './curve.ts';
import {
  BadMacError,
  DuplicatedMessageError,
  InvalidMessageError,
  MessageTooFarAheadError,
  MessageTooLargeError,
  NoSessionError,
  ProtocolError,
  UnrecognizedVersionError,
  UntrustedIdentityError,
} from './errors.ts';
import {
  MAX_CIPHERTEXT_BYTES,
  MAX_FORWARD_JUMPS,
  MAX_MESSAGE_KEYS,
  MAX_UNACKNOWLEDGED_SESSION_AGE_MS,
} from './limits.ts';
import {
  createChain,
  deriveMessageKeys,
  messageKeys,
  messageKeySeed,
  nextChainKey,
  type MessageKeys,
} from './ratchet.ts';
import { copyRecord, processPreKeyMessage, type SessionOptions } from './session.ts';
import { spqrSend } from './spqr.ts';
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
import { NO_DEVIATIONS, spqrReceiveDeviating, type DecryptDeviations } from './test-deviations.ts';
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
 * has answered, a SignalMessage after. Every message carries our SPQR message (spqr.ts: the braid's
 * chunk, if any, for this message) in field 5 and is keyed with the SPQR chain's key; a prekey
 * message carries field 6 when `localAddress` is given and both names are service ids. Throws
 * InvalidDeviceIdError, NoSessionError (also for a session we started whose first message has
 * gone unanswered for 30 days, as libsignal), UntrustedIdentityError, or MessageTooLargeError
 * (the body would exceed MAX_CIPHERTEXT_BYTES); nothing is stored on failure.
 */
export async function encrypt(
  plaintext: Uint8Array,
  address: ProtocolAddress,
  stores: ProtocolStores,
  options: SessionOptions = {},
): Promise<CiphertextMessage> {
  checkDeviceId(address);
  const record = await stores.loadSession(address);
  const current = record?.current;
  if (record === undefined || current === undefined || current === null) {
    throw new NoSessionError(addressKey(address));
  }
  const pending = current.pendingPreKey;
  const now = options.now ?? Date.now();
  if (pending !== null && pending.timestamp + MAX_UNACKNOWLEDGED_SESSION_AGE_MS < now) {
    throw new NoSessionError(addressKey(address));
  }
  if (!(await stores.isTrustedIdentity(address, current.remoteIdentityKey, 'sending'))) {
    throw new UntrustedIdentityError(addressKey(address));
  }
  const chainKey = current.senderChain.chainKey;
  const spqr = spqrSend(current.spqr);
  const keys = messageKeys(chainKey, spqr.key);
  const signalMessage = encodeSignalMessage({
    macKey: keys.macKey,
    ratchetKey: current.senderChain.ratchetKeyPair.publicKey,
    counter: chainKey.index,
    previousCounter: current.previousCounter,
    ciphertext: aesCbcEncrypt(keys, plaintext),
    pqRatchet: spqr.message,
    addresses:
      pending === null || options.localAddress === undefined
        ? null
        : addressesField(options.localAddress, address),
    senderIdentity: current.localIdentityKey,
    receiverIdentity: current.remoteIdentityKey,
  });
  const message: CiphertextMessage =
    pending === null
      ? { type: 'whisper', body: signalMessage }
      : {
          type: 'prekey',
          body: encodePreKeySignalMessage({
            registrationId: current.localRegistrationId,
            preKeyId: pending.preKeyId,
            signedPreKeyId: pending.signedPreKeyId,
            kyberPreKeyId: pending.kyberPreKeyId,
            kyberCiphertext: pending.kyberCiphertext,
            baseKey: pending.baseKey,
            identityKey: current.localIdentityKey,
            message: signalMessage,
          }),
        };
  if (message.body.length > MAX_CIPHERTEXT_BYTES)
    throw new MessageTooLargeError(message.body.length);
  const updated = cloneState(current);
  updated.senderChain = {
    ratchetKeyPair: current.senderChain.ratchetKeyPair,
    chainKey: nextChainKey(chainKey),
  };
  updated.spqr = spqr.state;
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

/**
 * The message key seed for `counter` on chain `at`, keeping skipped seeds (libsignal
 * consume_message_key). A session with oneself has no forward-jump limit, as in libsignal.
 */
function messageKeySeedFor(
  state: SessionState,
  at: number,
  counter: number,
  selfSession: boolean,
): Uint8Array {
  const chain = state.receiverChains[at]!;
  const index = chain.chainKey.index;
  if (index > counter) {
    const skipped = chain.messageKeys.findIndex((key) => key.index === counter);
    if (skipped < 0) throw new DuplicatedMessageError(index, counter);
    const seed = chain.messageKeys[skipped]!.seed;
    const rest = chain.messageKeys.filter((_, i) => i !== skipped);
    updateReceiverChain(state, at, chain.chainKey, rest);
    return seed;
  }
  const jump = counter - index;
  if (jump > MAX_FORWARD_JUMPS && !selfSession) throw new MessageTooFarAheadError(jump);
  const added: SkippedMessageKey[] = [];
  let chainKey = chain.chainKey;
  // Keys below counter − MAX_MESSAGE_KEYS would be dropped at once; skip deriving their seeds.
  const keepFrom = counter - MAX_MESSAGE_KEYS;
  while (chainKey.index < counter) {
    if (chainKey.index >= keepFrom)
      added.push({ index: chainKey.index, seed: messageKeySeed(chainKey) });
    chainKey = nextChainKey(chainKey);
  }
  const seed = messageKeySeed(chainKey);
  const kept = added.length === 0 ? chain.messageKeys : chain.messageKeys.concat(added);
  updateReceiverChain(state, at, nextChainKey(chainKey), kept);
  return seed;
}

/** Who is talking: the peer (sender of what we decrypt) and, if known, ourselves. */
interface Parties {
  readonly remote: ProtocolAddress;
  readonly local: ProtocolAddress | undefined;
}

/**
 * Decrypts with one state, changing only `state` (a copy): Double Ratchet key, then the SPQR key
 * from field 5 (libsignal's order), then the MAC with field 6, then AES-CBC.
 */
function decryptWithState(
  state: SessionState,
  message: SignalMessage,
  parties: Parties,
  deviations: DecryptDeviations,
): Uint8Array {
  if (message.version !== state.sessionVersion) throw new UnrecognizedVersionError(message.version);
  const selfSession = isSameAccount(
    parties.local,
    state.localIdentityKey,
    parties.remote,
    state.remoteIdentityKey,
  );
  const at = receiverChainIndex(state, message.ratchetKey);
  const seed = messageKeySeedFor(state, at, message.counter, selfSession);
  const spqr = spqrReceiveDeviating(state.spqr, message.pqRatchet, deviations);
  const keys = deriveMessageKeys(seed, message.counter, spqr.key);
  const expectedAddresses =
    parties.local === undefined ? null : addressesField(parties.remote, parties.local);
  if (
    !verifyMac(
      deviations.ignoreAddresses ? { ...message, addresses: null } : message,
      state.remoteIdentityKey,
      state.localIdentityKey,
      keys.macKey,
      expectedAddresses,
    )
  ) {
    throw new BadMacError();
  }
  const plaintext = aesCbcDecrypt(keys, message.ciphertext);
  state.spqr = spqr.state;
  state.pendingPreKey = null;
  return plaintext;
}

/**
 * Tries the current state, then archived ones (libsignal decrypt_message_with_record); returns the
 * updated record without touching `record`. A duplicate stops the search at once; a prekey message
 * is tried only against the current state. Otherwise the current state's error is thrown.
 */
function decryptWithRecord(
  parties: Parties,
  record: SessionRecord,
  message: SignalMessage,
  preKey: boolean,
  deviations: DecryptDeviations,
): { record: SessionRecord; plaintext: Uint8Array } {
  const errors: ProtocolError[] = [];
  const attempt = (state: SessionState): { state: SessionState; plaintext: Uint8Array } | null => {
    const copy = cloneState(state);
    try {
      return { state: copy, plaintext: decryptWithState(copy, message, parties, deviations) };
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
  throw errors[0] ?? new NoSessionError(addressKey(parties.remote));
}

/**
 * Decrypts a message from `address`. Throws (and leaves every store as it was): InvalidDeviceIdError,
 * NoSessionError, UntrustedIdentityError, UnknownPreKeyError, UnknownSignedPreKeyError,
 * UnknownKyberPreKeyError, ReusedBaseKeyError, BadMacError, DuplicatedMessageError,
 * MessageTooFarAheadError, InvalidKeyError, InvalidMessageError, LegacyVersionError (version 3,
 * X3DH), or another parsing error of wire.ts. `deviations` is for the conformance suite's
 * self-test only (test-deviations.ts): production code never passes it.
 */
export async function decrypt(
  message: CiphertextMessage,
  address: ProtocolAddress,
  stores: ProtocolStores,
  options: SessionOptions = {},
  deviations: DecryptDeviations = NO_DEVIATIONS,
): Promise<Uint8Array> {
  checkDeviceId(address);
  const parties: Parties = { remote: address, local: options.localAddress };
  if (message.type === 'whisper') {
    const parsed = parseSignalMessage(message.body);
    const record = await stores.loadSession(address);
    if (record === undefined) throw new NoSessionError(addressKey(address));
    const result = decryptWithRecord(parties, record, parsed, false, deviations);
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
  const used = await processPreKeyMessage(parsed, address, record, stores, options);
  const result = decryptWithRecord(parties, record, parsed.message, true, deviations);
  // The only store write that can refuse (a replayed first message on a last-resort Kyber
  // prekey), so it comes before anything else is written.
  if (used !== null) {
    await stores.markKyberPreKeyUsed(used.kyberPreKeyId, used.signedPreKeyId, parsed.baseKey);
  }
  await stores.saveIdentity(address, parsed.identityKey);
  await stores.storeSession(address, result.record);
  if (used !== null && used.preKeyId !== null) await stores.removePreKey(used.preKeyId);
  return result.plaintext;
}

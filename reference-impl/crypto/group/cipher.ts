// The group cipher: Signal sender keys as libsignal 0.103.0 runs them (spec: Cryptography — Sender
// keys; libsignal group_cipher.rs). A member creates its sender key for a distribution id and sends
// the distribution message to every other member over 1:1 sessions; each group message is then
// encrypted once, signed, and decrypted by every member. Every refusal throws a ProtocolError and
// stores nothing: records are immutable and the store is written only after full success.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { generateKeyPair } from '../curve.ts';
import {
  DuplicatedMessageError,
  InvalidMessageError,
  InvalidSenderKeySessionError,
  MessageTooFarAheadError,
  MessageTooLargeError,
  NoSenderKeyStateError,
  SignatureValidationError,
} from '../errors.ts';
import { MAX_CIPHERTEXT_BYTES, SENDER_KEY_MAX_FORWARD_JUMPS } from '../limits.ts';
import { randomSecret } from '../random.ts';
import type { ProtocolAddress, SenderKeyStore } from '../stores.ts';
import {
  advanceTo,
  MAX_ITERATION,
  nextSenderChainKey,
  senderMessageKeys,
  senderMessageKeySeed,
  SenderKeyRecord,
  type SenderKeyState,
  type SenderMessageKeys,
} from './state.ts';
import {
  canonicalDistributionId,
  encodeSenderKeyDistributionMessage,
  encodeSenderKeyMessage,
  parseSenderKeyDistributionMessage,
  parseSenderKeyMessage,
  SENDER_CHAIN_KEY_LENGTH,
  verifySenderKeyMessage,
  type SenderKeyDistributionMessage,
  type SenderKeyMessage,
} from './wire.ts';

function aesCbcEncrypt(keys: SenderMessageKeys, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
  return new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final()]));
}

function aesCbcDecrypt(keys: SenderMessageKeys, ciphertext: Uint8Array): Uint8Array {
  try {
    const decipher = createDecipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
    return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  } catch {
    throw new InvalidMessageError('SenderKeyMessage has bad CBC padding under a valid signature');
  }
}

/** libsignal-protocol-java reads chain ids as signed 32-bit integers: libsignal draws 31 bits. */
function freshChainId(avoid: readonly number[]): number {
  for (;;) {
    const bytes = randomSecret(4);
    const chainId = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) >>> 1;
    if (!avoid.includes(chainId)) return chainId;
  }
}

/** A new sender key of our own: fresh chain id, chain key and signing key pair, at iteration 0. */
function freshState(avoidChainIds: readonly number[]): SenderKeyState {
  const signing = generateKeyPair();
  return {
    chainId: freshChainId(avoidChainIds),
    chainKey: { iteration: 0, seed: randomSecret(SENDER_CHAIN_KEY_LENGTH) },
    signingKey: signing.publicKey,
    signingPrivateKey: signing.privateKey,
    messageKeys: [],
  };
}

function distributionMessageOf(
  distributionId: string,
  state: SenderKeyState,
): SenderKeyDistributionMessage {
  return encodeSenderKeyDistributionMessage({
    distributionId,
    chainId: state.chainId,
    iteration: state.chainKey.iteration,
    chainKey: state.chainKey.seed,
    signingKey: state.signingKey,
  });
}

/**
 * The distribution message of `sender`'s current sender key for `distributionId`, creating the key
 * first when the store holds none (libsignal create_sender_key_distribution_message). It carries
 * the chain key at the current iteration: a member who receives it can decrypt from there on, never
 * before. Throws InvalidDistributionIdError, or InvalidSenderKeySessionError for an empty record.
 */
export async function createSenderKeyDistributionMessage(
  sender: ProtocolAddress,
  distributionId: string,
  store: SenderKeyStore,
): Promise<SenderKeyDistributionMessage> {
  const id = canonicalDistributionId(distributionId);
  let record = await store.loadSenderKey(sender, id);
  if (record === undefined) {
    record = new SenderKeyRecord([freshState([])]);
    await store.storeSenderKey(sender, id, record);
  }
  const state = record.current;
  if (state === undefined) throw new InvalidSenderKeySessionError(id, 'is empty');
  return distributionMessageOf(id, state);
}

/**
 * Replaces `sender`'s sender key for `distributionId` with a fresh one (new chain id, chain key and
 * signing key) and returns its distribution message, for the members who remain after one left or
 * was removed: the one who left holds only the old chain, which encrypts nothing any more. Members
 * keep the old state (up to MAX_SENDER_KEY_STATES) for messages still in flight.
 */
export async function rotateSenderKey(
  sender: ProtocolAddress,
  distributionId: string,
  store: SenderKeyStore,
): Promise<SenderKeyDistributionMessage> {
  const id = canonicalDistributionId(distributionId);
  const old = await store.loadSenderKey(sender, id);
  const state = freshState(old?.states.map((s) => s.chainId) ?? []);
  await store.storeSenderKey(sender, id, new SenderKeyRecord([state]));
  return distributionMessageOf(id, state);
}

/**
 * Stores the sender key that `sender` distributed (libsignal
 * process_sender_key_distribution_message) as the newest state of its record for the message's
 * distribution id. A state already held for the same chain id and signing key is kept as it is, so
 * a repeated distribution message cannot rewind the chain. Throws the parse errors of
 * parseSenderKeyDistributionMessage; stores nothing then.
 */
export async function processSenderKeyDistributionMessage(
  sender: ProtocolAddress,
  message: SenderKeyDistributionMessage | Uint8Array,
  store: SenderKeyStore,
): Promise<void> {
  const parsed = parseSenderKeyDistributionMessage(
    message instanceof Uint8Array ? message : message.serialized,
  );
  const record =
    (await store.loadSenderKey(sender, parsed.distributionId)) ?? new SenderKeyRecord();
  const state: SenderKeyState = {
    chainId: parsed.chainId,
    chainKey: { iteration: parsed.iteration, seed: parsed.chainKey },
    signingKey: parsed.signingKey,
    signingPrivateKey: null,
    messageKeys: [],
  };
  await store.storeSenderKey(sender, parsed.distributionId, record.adding(state));
}

/**
 * Encrypts `plaintext` once for the whole group with `sender`'s own current sender key for
 * `distributionId` and signs it (libsignal group_encrypt); the chain moves one step. Throws
 * InvalidDistributionIdError, NoSenderKeyStateError (no key: create a distribution message first),
 * InvalidSenderKeySessionError (the key is another member's, or its chain is exhausted), or
 * MessageTooLargeError (the body would exceed MAX_CIPHERTEXT_BYTES); stores nothing then.
 */
export async function groupEncrypt(
  sender: ProtocolAddress,
  distributionId: string,
  plaintext: Uint8Array,
  store: SenderKeyStore,
): Promise<SenderKeyMessage> {
  const id = canonicalDistributionId(distributionId);
  const record = await store.loadSenderKey(sender, id);
  if (record === undefined) throw new NoSenderKeyStateError(id);
  const state = record.current;
  if (state === undefined) throw new InvalidSenderKeySessionError(id, 'is empty');
  if (state.signingPrivateKey === null) {
    throw new InvalidSenderKeySessionError(id, 'has no private signing key: it is not ours');
  }
  const chain = state.chainKey;
  if (chain.iteration === MAX_ITERATION) {
    throw new InvalidSenderKeySessionError(id, 'has an exhausted chain');
  }
  const keys = senderMessageKeys(senderMessageKeySeed(chain));
  const message = encodeSenderKeyMessage({
    distributionId: id,
    chainId: state.chainId,
    iteration: chain.iteration,
    ciphertext: aesCbcEncrypt(keys, plaintext),
    signingPrivateKey: state.signingPrivateKey,
  });
  if (message.serialized.length > MAX_CIPHERTEXT_BYTES) {
    throw new MessageTooLargeError(message.serialized.length);
  }
  await store.storeSenderKey(
    sender,
    id,
    record.replacing({ ...state, chainKey: nextSenderChainKey(chain) }),
  );
  return message;
}

/**
 * Decrypts a SenderKeyMessage from `sender` (libsignal group_decrypt): the state is the one of the
 * message's chain id; the signature is checked before any key is derived; a skipped iteration's key
 * is kept for later, a used one is deleted. Throws the parse errors of parseSenderKeyMessage,
 * NoSenderKeyStateError (unknown distribution id or chain id), SignatureValidationError,
 * MessageTooFarAheadError (more than SENDER_KEY_MAX_FORWARD_JUMPS ahead), DuplicatedMessageError (an
 * earlier iteration whose key is gone), InvalidSenderKeySessionError (exhausted chain) or
 * InvalidMessageError (bad padding); the store is unchanged after any of them.
 */
export async function groupDecrypt(
  body: Uint8Array,
  sender: ProtocolAddress,
  store: SenderKeyStore,
): Promise<Uint8Array> {
  const message = parseSenderKeyMessage(body);
  const id = message.distributionId;
  const record = await store.loadSenderKey(sender, id);
  if (record === undefined) throw new NoSenderKeyStateError(id);
  const state = record.stateFor(message.chainId);
  if (state === undefined) throw new NoSenderKeyStateError(id, message.chainId);
  if (!verifySenderKeyMessage(message, state.signingKey)) {
    throw new SignatureValidationError('sender key message signature does not verify');
  }
  const current = state.chainKey.iteration;
  if (message.iteration > current && message.iteration - current > SENDER_KEY_MAX_FORWARD_JUMPS) {
    throw new MessageTooFarAheadError(message.iteration - current);
  }
  const advanced = advanceTo(state, message.iteration);
  if (advanced === 'duplicate') throw new DuplicatedMessageError(current, message.iteration);
  if (advanced === 'exhausted') {
    throw new InvalidSenderKeySessionError(id, 'has an exhausted chain');
  }
  const plaintext = aesCbcDecrypt(senderMessageKeys(advanced.key), message.ciphertext);
  await store.storeSenderKey(sender, id, record.replacing(advanced.state));
  return plaintext;
}

// The versioned, strictly parsed serialisation of a SessionRecord that the SDK persists (spec:
// Cryptography — sessions). UTF-8 JSON, binary values base64url; unknown or missing members refuse.
import { InvalidSessionRecordError } from './errors.ts';
import { KYBER_CIPHERTEXT_LENGTH, KYBER1024_TYPE } from './kem.ts';
import {
  ARCHIVED_STATES_MAX_LENGTH,
  MAX_MESSAGE_KEYS,
  MAX_PREKEY_ID,
  MAX_RECEIVER_CHAINS,
  SESSION_VERSION,
} from './limits.ts';
import { decodeSpqrState, encodeSpqrState } from './spqr/record.ts';
import { SessionRecord, type ReceiverChain, type SessionState } from './state.ts';
import { b64, strictJson, type Json } from './strict-json.ts';

/**
 * Version of the record format below; bump on any incompatible change. 3: PQXDH sessions (session
 * version 4) with SPQR's braid state and its chain across epochs (spqr/record.ts), and Kyber
 * pending-prekey data. A version-2 record holds the epoch-0 chain without the braid and without
 * the SPQR key its authenticator would start from, so it cannot be carried over: it is refused
 * with InvalidSessionRecordError, and the application starts a new session from a fresh bundle. A version-1 record holds X3DH
 * sessions, which can no longer talk to anyone (libsignal refuses version 3): it is refused with
 * InvalidSessionRecordError, and the application starts a new session from a fresh bundle.
 */
export const SESSION_RECORD_VERSION = 3;

const readers = strictJson((m) => new InvalidSessionRecordError(m));
/** Typed here so that TypeScript narrows after a call. */
const fail: (path: string, why: string) => never = readers.fail;
const { object, array, uint, bytes } = readers;

function publicKey(value: unknown, path: string): Uint8Array {
  const key = bytes(value, path, 33);
  if (key[0] !== 0x05) fail(path, 'not a 0x05 public key');
  return key;
}

function encodeState(state: SessionState): Json {
  return {
    sessionVersion: state.sessionVersion,
    localIdentityKey: b64(state.localIdentityKey),
    remoteIdentityKey: b64(state.remoteIdentityKey),
    rootKey: b64(state.rootKey),
    previousCounter: state.previousCounter,
    senderChain: {
      ratchetPublicKey: b64(state.senderChain.ratchetKeyPair.publicKey),
      ratchetPrivateKey: b64(state.senderChain.ratchetKeyPair.privateKey),
      chainKey: b64(state.senderChain.chainKey.key),
      index: state.senderChain.chainKey.index,
    },
    receiverChains: state.receiverChains.map((chain) => ({
      ratchetKey: b64(chain.ratchetKey),
      chainKey: b64(chain.chainKey.key),
      index: chain.chainKey.index,
      messageKeys: chain.messageKeys.map((key) => [key.index, b64(key.seed)]),
    })),
    pendingPreKey:
      state.pendingPreKey === null
        ? null
        : {
            preKeyId: state.pendingPreKey.preKeyId,
            signedPreKeyId: state.pendingPreKey.signedPreKeyId,
            baseKey: b64(state.pendingPreKey.baseKey),
            kyberPreKeyId: state.pendingPreKey.kyberPreKeyId,
            kyberCiphertext: b64(state.pendingPreKey.kyberCiphertext),
            timestamp: state.pendingPreKey.timestamp,
          },
    localRegistrationId: state.localRegistrationId,
    remoteRegistrationId: state.remoteRegistrationId,
    aliceBaseKey: b64(state.aliceBaseKey),
    spqr: encodeSpqrState(state.spqr),
  };
}

function decodeReceiverChain(value: unknown, path: string): ReceiverChain {
  const o = object(value, path, ['ratchetKey', 'chainKey', 'index', 'messageKeys']);
  const messageKeys = array(o.messageKeys, `${path}.messageKeys`, MAX_MESSAGE_KEYS).map(
    (entry, i) => {
      const at = `${path}.messageKeys[${i}]`;
      const pair = array(entry, at, 2);
      if (pair.length !== 2) fail(at, 'not an [index, seed] pair');
      return { index: uint(pair[0], `${at}[0]`), seed: bytes(pair[1], `${at}[1]`, 32) };
    },
  );
  return {
    ratchetKey: publicKey(o.ratchetKey, `${path}.ratchetKey`),
    chainKey: {
      key: bytes(o.chainKey, `${path}.chainKey`, 32),
      index: uint(o.index, `${path}.index`),
    },
    messageKeys,
  };
}

function decodeState(value: unknown, path: string): SessionState {
  const o = object(value, path, [
    'sessionVersion',
    'localIdentityKey',
    'remoteIdentityKey',
    'rootKey',
    'previousCounter',
    'senderChain',
    'receiverChains',
    'pendingPreKey',
    'localRegistrationId',
    'remoteRegistrationId',
    'aliceBaseKey',
    'spqr',
  ]);
  if (o.sessionVersion !== SESSION_VERSION) {
    fail(`${path}.sessionVersion`, `only version ${SESSION_VERSION} (PQXDH) sessions are known`);
  }
  const s = object(o.senderChain, `${path}.senderChain`, [
    'ratchetPublicKey',
    'ratchetPrivateKey',
    'chainKey',
    'index',
  ]);
  let pendingPreKey: SessionState['pendingPreKey'] = null;
  if (o.pendingPreKey !== null) {
    const p = object(o.pendingPreKey, `${path}.pendingPreKey`, [
      'preKeyId',
      'signedPreKeyId',
      'baseKey',
      'kyberPreKeyId',
      'kyberCiphertext',
      'timestamp',
    ]);
    const kyberCiphertext = bytes(
      p.kyberCiphertext,
      `${path}.pendingPreKey.kyberCiphertext`,
      KYBER_CIPHERTEXT_LENGTH,
    );
    if (kyberCiphertext[0] !== KYBER1024_TYPE) {
      fail(`${path}.pendingPreKey.kyberCiphertext`, 'not a 0x08 Kyber ciphertext');
    }
    pendingPreKey = {
      preKeyId: p.preKeyId === null ? null : uint(p.preKeyId, `${path}.pendingPreKey.preKeyId`),
      signedPreKeyId: uint(p.signedPreKeyId, `${path}.pendingPreKey.signedPreKeyId`),
      baseKey: publicKey(p.baseKey, `${path}.pendingPreKey.baseKey`),
      kyberPreKeyId: uint(p.kyberPreKeyId, `${path}.pendingPreKey.kyberPreKeyId`, MAX_PREKEY_ID),
      kyberCiphertext,
      timestamp: uint(p.timestamp, `${path}.pendingPreKey.timestamp`, Number.MAX_SAFE_INTEGER),
    };
  }
  return {
    sessionVersion: SESSION_VERSION,
    localIdentityKey: publicKey(o.localIdentityKey, `${path}.localIdentityKey`),
    remoteIdentityKey: publicKey(o.remoteIdentityKey, `${path}.remoteIdentityKey`),
    rootKey: bytes(o.rootKey, `${path}.rootKey`, 32),
    previousCounter: uint(o.previousCounter, `${path}.previousCounter`),
    senderChain: {
      ratchetKeyPair: {
        publicKey: publicKey(s.ratchetPublicKey, `${path}.senderChain.ratchetPublicKey`),
        privateKey: bytes(s.ratchetPrivateKey, `${path}.senderChain.ratchetPrivateKey`, 32),
      },
      chainKey: {
        key: bytes(s.chainKey, `${path}.senderChain.chainKey`, 32),
        index: uint(s.index, `${path}.senderChain.index`),
      },
    },
    receiverChains: array(o.receiverChains, `${path}.receiverChains`, MAX_RECEIVER_CHAINS).map(
      (chain, i) => decodeReceiverChain(chain, `${path}.receiverChains[${i}]`),
    ),
    pendingPreKey,
    localRegistrationId: uint(o.localRegistrationId, `${path}.localRegistrationId`),
    remoteRegistrationId: uint(o.remoteRegistrationId, `${path}.remoteRegistrationId`),
    aliceBaseKey: publicKey(o.aliceBaseKey, `${path}.aliceBaseKey`),
    spqr: decodeSpqrState(o.spqr, `${path}.spqr`),
  };
}

/** Serialises a record: UTF-8 JSON `{version: 3, current, previous}`. */
export function serializeSessionRecord(record: SessionRecord): Uint8Array {
  const json = {
    version: SESSION_RECORD_VERSION,
    current: record.current === null ? null : encodeState(record.current),
    previous: record.previous.map(encodeState),
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

/** Parses a serialised record strictly. Throws InvalidSessionRecordError on any deviation. */
export function deserializeSessionRecord(data: Uint8Array): SessionRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    fail('$', 'not UTF-8 JSON');
  }
  const o = object(parsed, '$', ['version', 'current', 'previous']);
  if (o.version === 1) {
    fail('$.version', 'version 1 records hold X3DH sessions, which are no longer supported');
  }
  if (o.version === 2) {
    fail(
      '$.version',
      'version 2 records hold sessions without the SPQR braid; start a new session',
    );
  }
  if (o.version !== SESSION_RECORD_VERSION)
    fail('$.version', `unknown version ${String(o.version)}`);
  return new SessionRecord(
    o.current === null ? null : decodeState(o.current, '$.current'),
    array(o.previous, '$.previous', ARCHIVED_STATES_MAX_LENGTH).map((state, i) =>
      decodeState(state, `$.previous[${i}]`),
    ),
  );
}

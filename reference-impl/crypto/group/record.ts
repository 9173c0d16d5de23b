// The versioned, strictly parsed serialisation of a SenderKeyRecord that the SDK persists (spec:
// Cryptography — Sender keys). UTF-8 JSON, binary values base64url, as the session record
// (../record.ts); unknown or missing members, out-of-range numbers and over-long lists refuse.
import { InvalidSenderKeyRecordError } from '../errors.ts';
import { MAX_SENDER_KEY_STATES, SENDER_KEY_MAX_MESSAGE_KEYS } from '../limits.ts';
import {
  MAX_ITERATION,
  SenderKeyRecord,
  type SenderKeyState,
  type SenderMessageKeySeed,
} from './state.ts';
import { b64, strictJson, type Json } from '../strict-json.ts';

/** Version of the format below; bump on any incompatible change. */
export const SENDER_KEY_RECORD_VERSION = 1;

const readers = strictJson((m) => new InvalidSenderKeyRecordError(m));
/** Typed here so that TypeScript narrows after a call. */
const fail: (path: string, why: string) => never = readers.fail;
const { object, array, uint: uintUpTo, bytes } = readers;
/** Sender-key numbers (chain ids, iterations) are at most MAX_ITERATION. */
const uint = (value: unknown, path: string): number => uintUpTo(value, path, MAX_ITERATION);

function encodeState(state: SenderKeyState): Json {
  return {
    chainId: state.chainId,
    iteration: state.chainKey.iteration,
    chainKey: b64(state.chainKey.seed),
    signingKey: b64(state.signingKey),
    signingPrivateKey: state.signingPrivateKey === null ? null : b64(state.signingPrivateKey),
    messageKeys: state.messageKeys.map((key) => [key.iteration, b64(key.seed)]),
  };
}

function decodeMessageKey(value: unknown, path: string): SenderMessageKeySeed {
  const pair = array(value, path, 2);
  if (pair.length !== 2) fail(path, 'not an [iteration, seed] pair');
  return { iteration: uint(pair[0], `${path}[0]`), seed: bytes(pair[1], `${path}[1]`, 32) };
}

function decodeState(value: unknown, path: string): SenderKeyState {
  const o = object(value, path, [
    'chainId',
    'iteration',
    'chainKey',
    'signingKey',
    'signingPrivateKey',
    'messageKeys',
  ]);
  const signingKey = bytes(o.signingKey, `${path}.signingKey`, 33);
  if (signingKey[0] !== 0x05) fail(`${path}.signingKey`, 'not a 0x05 public key');
  const iteration = uint(o.iteration, `${path}.iteration`);
  const messageKeys = array(o.messageKeys, `${path}.messageKeys`, SENDER_KEY_MAX_MESSAGE_KEYS).map(
    (entry, i) => decodeMessageKey(entry, `${path}.messageKeys[${i}]`),
  );
  for (const [i, key] of messageKeys.entries()) {
    if (key.iteration >= iteration) {
      fail(`${path}.messageKeys[${i}]`, 'a kept key must lie below the chain iteration');
    }
  }
  return {
    chainId: uint(o.chainId, `${path}.chainId`),
    chainKey: { iteration, seed: bytes(o.chainKey, `${path}.chainKey`, 32) },
    signingKey,
    signingPrivateKey:
      o.signingPrivateKey === null
        ? null
        : bytes(o.signingPrivateKey, `${path}.signingPrivateKey`, 32),
    messageKeys,
  };
}

/** Serialises a record: UTF-8 JSON `{version: 1, states: [newest first]}`. */
export function serializeSenderKeyRecord(record: SenderKeyRecord): Uint8Array {
  const json = { version: SENDER_KEY_RECORD_VERSION, states: record.states.map(encodeState) };
  return new TextEncoder().encode(JSON.stringify(json));
}

/** Parses a serialised record strictly. Throws InvalidSenderKeyRecordError on any deviation. */
export function deserializeSenderKeyRecord(data: Uint8Array): SenderKeyRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    fail('$', 'not UTF-8 JSON');
  }
  const o = object(parsed, '$', ['version', 'states']);
  if (o.version !== SENDER_KEY_RECORD_VERSION) {
    fail('$.version', `unknown version ${String(o.version)}`);
  }
  const states = array(o.states, '$.states', MAX_SENDER_KEY_STATES).map((state, i) =>
    decodeState(state, `$.states[${i}]`),
  );
  const chainIds = new Set(states.map((state) => state.chainId));
  if (chainIds.size !== states.length) fail('$.states', 'two states with one chain id');
  return new SenderKeyRecord(states);
}

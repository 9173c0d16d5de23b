// The public surface of Parley's Signal Protocol core (spec: Cryptography). Re-exports only.
export { encrypt, decrypt, type CiphertextMessage } from './cipher.ts';
export { type KeyPair } from './curve.ts';
export * from './errors.ts';
export * as kyber1024 from './kem/kyber1024.ts';
export * as mlkem768 from './kem/mlkem768.ts';
export {
  IdentityKeyPair,
  generatePreKeys,
  generateRegistrationId,
  generateSignedPreKey,
  verifySignature,
  type PreKeyRecord,
  type SignedPreKeyRecord,
} from './keys.ts';
export * as limits from './limits.ts';
export {
  deserializeSessionRecord,
  serializeSessionRecord,
  SESSION_RECORD_VERSION,
} from './record.ts';
export { processPreKeyBundle, type PreKeyBundle } from './session.ts';
export { SessionRecord } from './state.ts';
export {
  InMemoryProtocolStore,
  type Direction,
  type IdentityKeyStore,
  type PreKeyStore,
  type ProtocolAddress,
  type ProtocolStores,
  type SessionStore,
  type SignedPreKeyStore,
} from './stores.ts';
export {
  parseCiphertext,
  type ParsedCiphertext,
  type PreKeySignalMessage,
  type SignalMessage,
} from './wire.ts';

// The public surface of Parley's Signal Protocol core (spec: Cryptography). Re-exports only.
export { serviceIdBinary } from './address.ts';
export { encrypt, decrypt, type CiphertextMessage } from './cipher.ts';
export { type KeyPair } from './curve.ts';
export * from './errors.ts';
export * from './group/index.ts';
export { InMemorySenderKeyStore, type SenderKeyStore } from './stores.ts';
export * as kyber1024 from './kem/kyber1024.ts';
export * as mlkem768 from './kem/mlkem768.ts';
export {
  KYBER_CIPHERTEXT_LENGTH,
  KYBER_PUBLIC_KEY_LENGTH,
  KYBER_SECRET_KEY_LENGTH,
  KYBER1024_TYPE,
  checkKyberPublicKey,
  type KyberKeyPair,
} from './kem.ts';
export {
  IdentityKeyPair,
  generateKyberPreKey,
  generatePreKeys,
  generateRegistrationId,
  generateSignedPreKey,
  verifySignature,
  type KyberPreKeyRecord,
  type PreKeyRecord,
  type SignedPreKeyRecord,
} from './keys.ts';
export * as limits from './limits.ts';
export {
  deserializeSessionRecord,
  serializeSessionRecord,
  SESSION_RECORD_VERSION,
} from './record.ts';
export { processPreKeyBundle, type PreKeyBundle, type SessionOptions } from './session.ts';
export { SessionRecord } from './state.ts';
export {
  InMemoryProtocolStore,
  MemoryKyberPreKeys,
  type Direction,
  type IdentityKeyStore,
  type KyberPreKeyStore,
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

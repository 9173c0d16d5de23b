// Curve25519 keys as libsignal encodes them (spec: Cryptography — "public keys encoded 0x05 || 32 bytes").
// X25519 agreement runs on node:crypto KeyObjects imported through JWK, cached per key.
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { InvalidKeyError, InvalidMessageError } from './errors.ts';
import { randomSecret } from './random.ts';

const P = (1n << 255n) - 19n;

/** libsignal's key type byte for Curve25519 ("DJB") public keys. */
export const DJB_TYPE = 0x05;
export const PUBLIC_KEY_LENGTH = 33;
export const PRIVATE_KEY_LENGTH = 32;

/** A Curve25519 key pair: publicKey is the 33-byte 0x05-prefixed form, privateKey the clamped 32 bytes. */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

// Importing a raw private key makes OpenSSL recompute its public key (one scalar multiplication),
// so KeyObjects are cached against the byte arrays that sessions keep and reuse.
const privateObjects = new WeakMap<Uint8Array, KeyObject>();
const publicObjects = new WeakMap<Uint8Array, KeyObject>();

const b64u = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const fromB64u = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'));

/** Clamps a 32-byte X25519 scalar as libsignal does on load (returns a copy). Throws InvalidKeyError on bad length. */
export function clampPrivateKey(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== PRIVATE_KEY_LENGTH) {
    throw new InvalidKeyError(
      `private key must be ${PRIVATE_KEY_LENGTH} bytes, got ${bytes.length}`,
    );
  }
  const out = Uint8Array.from(bytes);
  out[0] = out[0]! & 248;
  out[31] = (out[31]! & 127) | 64;
  return out;
}

/** Checks the 0x05 || 32 bytes encoding and returns the key unchanged. Throws InvalidKeyError. */
export function checkPublicKey(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== PUBLIC_KEY_LENGTH) {
    throw new InvalidKeyError(`public key must be ${PUBLIC_KEY_LENGTH} bytes, got ${bytes.length}`);
  }
  if (bytes[0] !== DJB_TYPE) throw new InvalidKeyError(`unknown public key type ${bytes[0]}`);
  return bytes;
}

/**
 * How this Node imports a raw X25519 private key, chosen once by probing: the `raw-private` format
 * where Node has it (24.x, the cheapest), else a JWK whose `x` is left empty (Node 20 and 22 derive
 * the public key from `d` and ignore `x`; Node 24 checks `x` and refuses it), else PKCS#8 DER, which
 * every Node accepts but Node 20's decoder makes about ten times slower than JWK.
 */
interface PrivateImport {
  /** The node:crypto key format it uses, for reports. */
  readonly form: 'raw-private' | 'jwk' | 'pkcs8-der';
  readonly load: (privateKey: Uint8Array) => KeyObject;
}

// RFC 8410 PKCS#8 prefix of an X25519 private key: SEQUENCE { version 0, AlgorithmIdentifier
// { 1.3.101.110 }, OCTET STRING { OCTET STRING (32 bytes) } }.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

const privateImports: readonly PrivateImport[] = [
  {
    form: 'raw-private',
    load: (d) =>
      createPrivateKey({
        key: Buffer.from(d.buffer, d.byteOffset, d.byteLength),
        format: 'raw-private',
        asymmetricKeyType: 'x25519',
      } as unknown as Parameters<typeof createPrivateKey>[0]),
  },
  {
    form: 'jwk',
    load: (d) =>
      createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64u(d), x: '' }, format: 'jwk' }),
  },
  {
    form: 'pkcs8-der',
    load: (d) =>
      createPrivateKey({
        key: Buffer.concat([PKCS8_X25519_PREFIX, d]),
        format: 'der',
        type: 'pkcs8',
      }),
  },
];

/** The first import this Node accepts that yields the right key (RFC 7748 §6.1's test key). */
function probePrivateImport(): PrivateImport {
  const d = fromB64u('dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo');
  const x = 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo';
  for (const candidate of privateImports) {
    try {
      if (createPublicKey(candidate.load(d)).export({ format: 'jwk' }).x === x) return candidate;
    } catch {
      // This Node does not take that form; try the next.
    }
  }
  throw new Error('node:crypto imports no X25519 private key form Parley knows');
}

const privateImport: PrivateImport = probePrivateImport();

/** How this Node imports X25519 private keys (`raw-private` on 24, `jwk` on 20 and 22). */
export const PRIVATE_KEY_IMPORT_FORM = privateImport.form;

function privateObject(privateKey: Uint8Array): KeyObject {
  let key = privateObjects.get(privateKey);
  if (key === undefined) {
    key = privateImport.load(privateKey);
    privateObjects.set(privateKey, key);
  }
  return key;
}

function publicObject(publicKey: Uint8Array): KeyObject {
  let key = publicObjects.get(publicKey);
  if (key === undefined) {
    checkPublicKey(publicKey);
    key = createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: b64u(publicKey.subarray(1)) },
      format: 'jwk',
    });
    publicObjects.set(publicKey, key);
  }
  return key;
}

/**
 * Generates a fresh, never-used key pair (private key clamped, as libsignal stores it): 32 bytes
 * from the CSPRNG, clamped (RFC 7748), imported once (OpenSSL derives the public key on import).
 * Not generateKeyPairSync: on node 20.20 a JWK export of a key it generated can deadlock, when the
 * export's string allocation runs a garbage collection that finalises the generating job, whose
 * destructor waits for the lock the export holds (seen as processes hung in futex_wait; the
 * backtrace was ExportJWKEdKey → GC → ~KeyGenJob → uv_mutex_lock). Importing costs about the same.
 */
export function generateKeyPair(): KeyPair {
  return keyPairFromPrivate(randomSecret(PRIVATE_KEY_LENGTH));
}

/** Derives the 33-byte public key of a private key (clamping it first). Throws InvalidKeyError. */
export function keyPairFromPrivate(privateKeyBytes: Uint8Array): KeyPair {
  const privateKey = clampPrivateKey(privateKeyBytes);
  const jwk = createPublicKey(privateObject(privateKey)).export({ format: 'jwk' });
  const publicKey = new Uint8Array(PUBLIC_KEY_LENGTH);
  publicKey[0] = DJB_TYPE;
  publicKey.set(fromB64u(jwk.x!), 1);
  return { publicKey, privateKey };
}

/**
 * X25519(privateKey, publicKey) → 32-byte shared secret. Throws InvalidKeyError for a malformed key
 * or a low-order public key (OpenSSL refuses an all-zero result).
 */
export function calculateAgreement(publicKey: Uint8Array, privateKey: Uint8Array): Uint8Array {
  try {
    return diffieHellman({
      privateKey: privateObject(privateKey),
      publicKey: publicObject(publicKey),
    });
  } catch (error) {
    if (error instanceof InvalidKeyError) throw error;
    throw new InvalidKeyError(`X25519 agreement failed: ${(error as Error).message}`);
  }
}

/** Constant-time-ish equality for key bytes (lengths are public). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function invert(value: bigint): bigint {
  // Extended Euclid on (P, value); plain locals rather than array swaps (a third faster).
  let r0 = P;
  let r1 = value;
  let s0 = 0n;
  let s1 = 1n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    const r2 = r0 - q * r1;
    r0 = r1;
    r1 = r2;
    const s2 = s0 - q * s1;
    s0 = s1;
    s1 = s2;
  }
  return s0 < 0n ? s0 + P : s0;
}

/** Birational map u → y = (u − 1)/(u + 1), with the Edwards sign bit set; null where libsignal refuses. */
export function montgomeryToEdwards(u32: Uint8Array, signBit: number): Uint8Array | null {
  let u = 0n;
  for (let i = 31; i >= 0; i--) u = (u << 8n) | BigInt(u32[i]!);
  u &= (1n << 255n) - 1n; // the field element ignores bit 255, as curve25519-dalek does
  u %= P;
  if (u === P - 1n) return null; // u = −1 has no Edwards image
  let y = (((u - 1n + P) % P) * invert((u + 1n) % P)) % P;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(y & 0xffn);
    y >>= 8n;
  }
  out[31] = out[31]! | (signBit << 7);
  return out;
}

/**
 * The X25519 scalar k = 8ℓ − 8·(8⁻¹ mod ℓ), little-endian: k ≡ 0 (mod 8), k ≡ −1 (mod ℓ), and
 * 2^254 ≤ k < 2^255, so X25519's clamping leaves it unchanged. For the twist's large prime
 * factor ℓ′ = (2p + 2 − 8ℓ)/4, k mod ℓ′ is neither 1 nor ℓ′ − 1. The tests recheck all of this.
 */
export const SUBGROUP_SCALAR_HEX =
  'a023cdd083ef5bb82f10d62e59e15a6800000000000000000000000000000050';
let subgroupKey: KeyObject | undefined;

/** 32 bytes of little-endian u below p = 2^255 − 19 (so bit 255 clear). */
function isCanonicalU(u: Uint8Array): boolean {
  if ((u[31]! & 0x80) !== 0) return false;
  if (u[31] !== 0x7f || u[0]! < 0xed) return true;
  for (let i = 1; i < 31; i++) if (u[i] !== 0xff) return true;
  return false;
}

/**
 * Checks an incoming PQXDH base key as libsignal's pqxdh_accept does (PublicKey::is_canonical):
 * the u-coordinate is below 2^255 − 19 with bit 255 clear, and its point lies in the prime-order
 * subgroup (on the curve, not of small order, no torsion component: the keys that libsodium's
 * crypto_core_ed25519_is_valid_point accepts after the birational map). One X25519 multiplication
 * decides it exactly. With k ≡ 0 (mod 8) and k ≡ −1 (mod ℓ) (SUBGROUP_SCALAR_HEX), a point
 * P = Q + T (Q of order dividing ℓ, T of order dividing 8) maps to [k]P = −Q, so u([k]P) = u(P)
 * if and only if T is the identity and Q is not. A small-order P maps to the identity, which
 * X25519 encodes as 0 (or OpenSSL refuses the all-zero result; u = 0 itself has order 2). A u on
 * the quadratic twist (order 4ℓ′) maps to [k]R for its ℓ′-part R, which equals ±P only if
 * k ≡ ±1 (mod ℓ′), and it is not. The base key's KeyObject is cached, so the agreements that
 * follow reuse the import. Throws InvalidMessageError.
 */
export function checkCanonicalBaseKey(publicKey: Uint8Array): void {
  checkPublicKey(publicKey);
  const u = publicKey.subarray(1);
  let image: Uint8Array | undefined;
  if (isCanonicalU(u)) {
    subgroupKey ??= privateImport.load(Buffer.from(SUBGROUP_SCALAR_HEX, 'hex'));
    try {
      image = diffieHellman({ privateKey: subgroupKey, publicKey: publicObject(publicKey) });
    } catch {
      image = undefined; // OpenSSL refuses an all-zero result: a point of small order
    }
  }
  if (image === undefined || !bytesEqual(image, u)) {
    throw new InvalidMessageError('incoming base key is not canonical and torsion-free');
  }
}

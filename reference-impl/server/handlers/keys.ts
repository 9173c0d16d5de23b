/**
 * Key directory handlers: `keys.publish` (signature and identity checks, Kyber prekeys for PQXDH)
 * and `keys.claim` (each one-time prekey and one-time Kyber prekey at most once, the last-resort
 * Kyber prekey when no one-time one is left, exhaustion, `keys.low`) (spec/keys.md).
 */
import type {
  KeysClaimFrame,
  KeysPublishFrame,
  KyberPreKey,
} from '../../../schemas/frames/keys.ts';
import { SCHEMA_LIMITS } from '../../../schemas/limits.ts';
import { checkKyberPublicKey, verifySignature } from '../../crypto/index.ts';
import type { StoredSignedKey } from '../../store/types.ts';
import { bytesEqual, fromB64, publicKeyAt, toB64 } from '../codec.ts';
import type { ConnectionHandle, Handler, HandlerResult, ProviderContext } from '../context.ts';
import { NOT_FOUND_MESSAGE, ProviderError } from '../errors.ts';
import { gateRecipient, limitRate } from './consent-gate.ts';

/** XEdDSA signatures are 64 bytes; bits 6 and 5 of the last must be zero (ENC-007). */
const SIGNATURE_BYTES = 64;
const SIGNATURE_HIGH_BITS = 0x60;

function verifies(
  ctx: ProviderContext,
  identityKey: Uint8Array,
  key: Uint8Array,
  signature: string,
): boolean {
  try {
    const sig = fromB64(signature);
    const last = SIGNATURE_BYTES - 1;
    if (ctx.faults.has('ignore-signature-high-bits') && sig.length === SIGNATURE_BYTES)
      sig[last] = sig[last]! & ~SIGNATURE_HIGH_BITS;
    if (verifySignature(identityKey, key, sig)) return true;
    return (
      ctx.faults.has('accept-untyped-prekey-signature') &&
      verifySignature(identityKey, key.subarray(1), sig)
    );
  } catch {
    return false;
  }
}

/** A Kyber prekey's public key, refused with SCHEMA_VIOLATION naming the field unless 0x08 ‖ 1568 bytes (KEYS-024). */
function kyberKeyAt(key: KyberPreKey, pointer: string): Uint8Array {
  try {
    return checkKyberPublicKey(fromB64(key.publicKey));
  } catch {
    throw new ProviderError(
      'SCHEMA_VIOLATION',
      `${pointer}: a Kyber public key is the type byte 0x08 followed by 1568 bytes`,
      { pointer },
    );
  }
}

/** The published Kyber prekeys, each signature checked under the identity key (KEYS-002). */
function checkedKyberKeys(
  ctx: ProviderContext,
  identityKey: Uint8Array,
  keys: readonly { key: KyberPreKey; pointer: string }[],
): StoredSignedKey[] {
  const decoded = keys.map(({ key, pointer }) => ({
    key,
    pointer,
    publicKey: kyberKeyAt(key, `${pointer}/publicKey`),
  }));
  return decoded.map(({ key, pointer, publicKey }) => {
    if (
      !ctx.faults.has('skip-kyber-signature') &&
      !verifies(ctx, identityKey, publicKey, key.signature)
    )
      throw new ProviderError(
        'BAD_SIGNATURE',
        `${pointer}: the Kyber prekey signature does not verify`,
        {
          pointer: `${pointer}/signature`,
        },
      ); // KEYS-002
    return { keyId: key.keyId, publicKey, signature: fromB64(key.signature) };
  });
}

function publish(ctx: ProviderContext, conn: ConnectionHandle, f: KeysPublishFrame): HandlerResult {
  const { address, deviceId } = conn.session!;
  const max = ctx.limits.advertised.maxOneTimePreKeysPerPublish;
  if (f.oneTimePreKeys.length > max)
    throw new ProviderError('SCHEMA_VIOLATION', `at most ${max} one-time prekeys per publish`, {
      pointer: `/oneTimePreKeys/${max}`,
    }); // KEYS-005
  const maxKyber = SCHEMA_LIMITS.maxOneTimeKyberPreKeysPerPublish;
  if (f.oneTimeKyberPreKeys.length > maxKyber)
    throw new ProviderError(
      'SCHEMA_VIOLATION',
      `at most ${maxKyber} one-time Kyber prekeys per publish`,
      {
        pointer: `/oneTimeKyberPreKeys/${maxKyber}`,
      },
    ); // KEYS-024
  const identityKey = publicKeyAt(f.identityKey, '/identityKey'); // KEYS-004
  const signedKey = publicKeyAt(f.signedPreKey.publicKey, '/signedPreKey/publicKey');
  const oneTime = f.oneTimePreKeys.map((k, i) => ({
    keyId: k.keyId,
    publicKey: publicKeyAt(k.publicKey, `/oneTimePreKeys/${i}/publicKey`),
  }));
  const device = ctx.store.getDevice(address, deviceId);
  if (
    !ctx.faults.has('skip-identity-check') &&
    (!device || !bytesEqual(device.identityKey, identityKey))
  )
    throw new ProviderError('IDENTITY_MISMATCH', 'identityKey is not this device’s identity key'); // KEYS-003
  if (
    !ctx.faults.has('accept-bad-prekey-signature') &&
    !verifies(ctx, identityKey, signedKey, f.signedPreKey.signature)
  )
    throw new ProviderError('BAD_SIGNATURE', 'the signed prekey signature does not verify', {
      pointer: '/signedPreKey/signature',
    }); // KEYS-001
  // Every key is checked before anything is stored: a refused publish stores nothing (KEYS-002).
  const [lastResortKyberPreKey, ...oneTimeKyberPreKeys] = checkedKyberKeys(ctx, identityKey, [
    { key: f.lastResortKyberPreKey, pointer: '/lastResortKyberPreKey' },
    ...f.oneTimeKyberPreKeys.map((key, i) => ({ key, pointer: `/oneTimeKyberPreKeys/${i}` })),
  ]);
  const counts = ctx.store.publishKeys(address, deviceId, {
    signedPreKey: {
      keyId: f.signedPreKey.keyId,
      publicKey: signedKey,
      signature: fromB64(f.signedPreKey.signature),
    },
    oneTimePreKeys: oneTime,
    lastResortKyberPreKey: lastResortKyberPreKey!,
    oneTimeKyberPreKeys,
  }); // KEYS-006, KEYS-025
  return {
    reply: {
      type: 'keys.published',
      oneTimePreKeyCount: counts.oneTime,
      oneTimeKyberPreKeyCount: counts.oneTimeKyber,
    },
  }; // KEYS-007
}

const kyberOut = (k: StoredSignedKey): KyberPreKey => ({
  keyId: k.keyId,
  publicKey: toB64(k.publicKey),
  signature: toB64(k.signature),
});

function claim(ctx: ProviderContext, conn: ConnectionHandle, f: KeysClaimFrame): HandlerResult {
  const session = conn.session!;
  const { rates } = ctx.limits;
  gateRecipient(ctx, session, f.address, { coMembers: true }); // CONSENT-005/006/008/009, GROUP-047: before any prekey is touched
  const checks = [[`claim:${session.address}`, rates.claimPerAccount] as const];
  if (session.origin.thirdParty)
    limitRate(ctx, [
      ...checks,
      [`claim3p:${session.address}`, rates.claimPerSender],
      [`claim3p@${session.origin.platform}`, rates.claimPerPlatform],
      // KEYS-033: per claimed account and claiming platform, whoever claims.
      ...(ctx.faults.has('claims-limited-per-claimer-only')
        ? []
        : [[`claimed:${f.address}@${session.origin.platform}`, rates.claimPerTarget] as const]),
    ]); // CONSENT-025
  else limitRate(ctx, checks); // KEYS-017
  const bundles = ctx.store.claimKeys(f.address, f.deviceIds);
  if (bundles.length === 0) throw new ProviderError('NOT_FOUND', NOT_FOUND_MESSAGE);
  if (ctx.faults.has('serve-prekey-twice'))
    for (const b of bundles)
      // fault injection: puts the claimed key back, breaks KEYS-012/013
      if (b.oneTimePreKey)
        ctx.store.publishKeys(f.address, b.device.deviceId, {
          signedPreKey: b.signedPreKey,
          oneTimePreKeys: [b.oneTimePreKey],
        });
  const threshold = ctx.limits.advertised.lowPreKeyThreshold;
  return {
    reply: {
      type: 'keys.bundle',
      address: f.address,
      devices: bundles.map((b) => ({
        deviceId: b.device.deviceId,
        registrationId: b.device.registrationId,
        identityKey: toB64(b.device.identityKey),
        signedPreKey: {
          keyId: b.signedPreKey.keyId,
          publicKey: toB64(b.signedPreKey.publicKey),
          signature: toB64(b.signedPreKey.signature),
        },
        oneTimePreKey: b.oneTimePreKey
          ? { keyId: b.oneTimePreKey.keyId, publicKey: toB64(b.oneTimePreKey.publicKey) }
          : null, // KEYS-018
        kyberPreKey: kyberOut(b.kyberPreKey), // KEYS-028, KEYS-030
      })),
      exhausted: bundles.some((b) => b.oneTimePreKey === null), // KEYS-019
    },
    after: () => {
      for (const b of bundles) {
        const ecLow = b.oneTimePreKey !== null && b.remaining.oneTime < threshold; // KEYS-021
        const kyberLow =
          !b.kyberLastResort &&
          b.remaining.oneTimeKyber < threshold &&
          !ctx.faults.has('low-ignores-kyber'); // KEYS-031
        if (!ecLow && !kyberLow) continue;
        const target = ctx.delivery.connection(f.address, b.device.deviceId);
        if (target) ctx.delivery.sendKeysLow(target, b.remaining); // KEYS-032
      }
    },
  };
}

export const keyHandlers = {
  'keys.publish': publish as Handler,
  'keys.claim': claim as Handler,
};

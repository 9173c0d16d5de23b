/**
 * Key directory handlers: `keys.publish` (signature and identity checks) and `keys.claim` (one
 * one-time prekey per device at most once, exhaustion, `keys.low`) (spec/keys.md).
 */
import type { KeysClaimFrame, KeysPublishFrame } from '../../../schemas/frames/keys.ts';
import { verifySignature } from '../../crypto/index.ts';
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

function publish(ctx: ProviderContext, conn: ConnectionHandle, f: KeysPublishFrame): HandlerResult {
  const { address, deviceId } = conn.session!;
  const max = ctx.limits.advertised.maxOneTimePreKeysPerPublish;
  if (f.oneTimePreKeys.length > max)
    throw new ProviderError('SCHEMA_VIOLATION', `at most ${max} one-time prekeys per publish`, {
      pointer: `/oneTimePreKeys/${max}`,
    }); // KEYS-005
  const identityKey = publicKeyAt(f.identityKey, '/identityKey'); // KEYS-004
  const signedKey = publicKeyAt(f.signedPreKey.publicKey, '/signedPreKey/publicKey');
  const oneTime = f.oneTimePreKeys.map((k, i) => ({
    keyId: k.keyId,
    publicKey: publicKeyAt(k.publicKey, `/oneTimePreKeys/${i}/publicKey`),
  }));
  let kyberKey: Uint8Array | undefined;
  if (f.kyberPreKey) {
    kyberKey = fromB64(f.kyberPreKey.publicKey);
    if (kyberKey.length !== 1569 || kyberKey[0] !== 0x08)
      throw new ProviderError('SCHEMA_VIOLATION', 'a Kyber key is 0x08 followed by 1568 bytes', {
        pointer: '/kyberPreKey/publicKey',
      });
  }
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
  let kyberPreKey: StoredSignedKey | undefined;
  if (f.kyberPreKey && kyberKey) {
    if (
      !ctx.faults.has('skip-kyber-signature') &&
      !verifies(ctx, identityKey, kyberKey, f.kyberPreKey.signature)
    )
      throw new ProviderError('BAD_SIGNATURE', 'the Kyber prekey signature does not verify', {
        pointer: '/kyberPreKey/signature',
      }); // KEYS-002
    kyberPreKey = {
      keyId: f.kyberPreKey.keyId,
      publicKey: kyberKey,
      signature: fromB64(f.kyberPreKey.signature),
    };
  }
  const count = ctx.store.publishKeys(address, deviceId, {
    signedPreKey: {
      keyId: f.signedPreKey.keyId,
      publicKey: signedKey,
      signature: fromB64(f.signedPreKey.signature),
    },
    oneTimePreKeys: oneTime,
    ...(kyberPreKey ? { kyberPreKey } : {}),
  });
  return { reply: { type: 'keys.published', oneTimePreKeyCount: count } }; // KEYS-006/007
}

function claim(ctx: ProviderContext, conn: ConnectionHandle, f: KeysClaimFrame): HandlerResult {
  const session = conn.session!;
  const { rates } = ctx.limits;
  gateRecipient(ctx, session, f.address); // CONSENT-005/006/008/009: before any prekey is touched
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
        // KEYS-015: no kyberPreKey while `kyber` is not in welcome.capabilities.
      })),
      exhausted: bundles.some((b) => b.oneTimePreKey === null), // KEYS-019
    },
    after: () => {
      for (const b of bundles) {
        if (b.oneTimePreKey === null || b.remaining >= threshold) continue;
        const target = ctx.delivery.connection(f.address, b.device.deviceId);
        if (target) ctx.delivery.sendKeysLow(target, b.remaining); // KEYS-021
      }
    },
  };
}

export const keyHandlers = {
  'keys.publish': publish as Handler,
  'keys.claim': claim as Handler,
};

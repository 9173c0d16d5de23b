/**
 * base64url and key-encoding helpers for frame members (spec/framing.md PROTO-013, spec/crypto.md
 * encodings: Curve25519 public keys are 0x05 ‖ 32 bytes).
 */
import { hash } from 'node:crypto';
import { ProviderError } from './errors.ts';

export function fromB64(value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value, 'base64url'));
}

export function toB64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Decodes a public key member, refusing anything but 0x05 ‖ 32 bytes at `pointer` (KEYS-004). */
export function publicKeyAt(value: string, pointer: string): Uint8Array {
  const key = fromB64(value);
  if (key.length !== 33 || key[0] !== 0x05)
    throw new ProviderError('SCHEMA_VIOLATION', `${pointer} must be 0x05 followed by 32 bytes`, {
      pointer,
    });
  return key;
}

export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex'); // one call: no Hash object per request
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/** The domain part of an address. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

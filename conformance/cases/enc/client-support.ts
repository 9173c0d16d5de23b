// Shared steps of the ENC client cases: the Signal wire view of what the client sent, decrypting
// with a failure on the right requirement, and "does the client still accept a valid message".
import {
  parseCiphertext,
  ProtocolError,
  ProtocolErrorCode,
  type ParsedCiphertext,
  type SignalMessage,
} from '../../../reference-impl/crypto/index.ts';
import type { Frame } from '../../assert/match.ts';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import type { SuitePeer } from '../../client/peer.ts';
import type { Delivery } from '../../client/mock-provider.ts';
import type { ClientWorld, OpenedCiphertext } from '../../client/world.ts';
import { unb64 } from '../../transport/users.ts';

/** Parses a ciphertext the client sent as its declared type; fails `requirement` when it does not parse. */
export function parsedOrFail(
  requirement: string,
  c: { type: 'prekey' | 'whisper'; body: string },
): ParsedCiphertext {
  try {
    return parseCiphertext(c.type, unb64(c.body));
  } catch (error) {
    must(
      requirement,
      that(false, `a ${c.type} message in libsignal's wire format`, (error as Error).message),
    );
    throw error;
  }
}

/** The SignalMessage inside a parsed ciphertext. */
export function innerOf(parsed: ParsedCiphertext): SignalMessage {
  return parsed.type === 'prekey' ? parsed.message.message : parsed.message;
}

/** Decrypts a client's `message.send` to `peer`, or fails `requirement` naming the crypto error. */
export async function openOrFail(
  requirement: string,
  client: ClientWorld,
  peer: SuitePeer,
  send: Frame,
): Promise<OpenedCiphertext[]> {
  try {
    return await client.open(peer, send);
  } catch (error) {
    must(
      blame(error, requirement),
      that(false, 'ciphertexts the reference Signal core decrypts', (error as Error).message),
    );
    throw error;
  }
}

/**
 * The requirement a refusal of the reference core points at: a reused counter breaks ENC-015, bad
 * CBC padding under a valid MAC ENC-019, a version-3 (X3DH) body ENC-022; anything else (a MAC that does not verify included, as a
 * wrong key derivation causes it too) the requirement the case checks.
 */
function blame(error: unknown, requirement: string): string {
  if (!(error instanceof ProtocolError)) return requirement;
  if (error.code === ProtocolErrorCode.DuplicatedMessage) return 'ENC-015';
  if (error.code === ProtocolErrorCode.LegacyVersion) return 'ENC-022';
  if (error.code === ProtocolErrorCode.InvalidMessage && /CBC/.test(error.message))
    return 'ENC-019';
  return requirement;
}

/** The client sends `text` to `peer`; returns the send and its first ciphertext, decrypted. */
export async function sendAndOpen(
  requirement: string,
  client: ClientWorld,
  peer: SuitePeer,
  text: string,
): Promise<{ send: Frame; opened: OpenedCiphertext; content: Frame | undefined }> {
  const send = await client.sendText(peer, text);
  const [opened] = await openOrFail(requirement, client, peer, send);
  return { send, opened: opened!, content: client.contentOf(opened!.plaintext) };
}

/** Fails `requirement` unless the client accepts a fresh valid text from `peer` (its session still works). */
export async function mustStillReceive(
  requirement: string,
  client: ClientWorld,
  peer: SuitePeer,
  why: string,
): Promise<void> {
  const ok = await client.roundTrip(peer, client.text('still there?'));
  must(
    requirement,
    that(ok, `a later valid message from ${peer.label} received (${why})`, 'no received event'),
  );
}

/** Fails `requirement` when the client reports the delivery as received. */
export async function mustNotReceive(
  requirement: string,
  client: ClientWorld,
  delivery: Delivery,
  what: string,
): Promise<void> {
  const { received } = await client.outcome(delivery);
  must(requirement, that(received === undefined, `${what} not received`, received));
}

/** MAC_LENGTH of spec/crypto.md: the truncated HMAC after every SignalMessage. */
const MAC_LENGTH = 8;

/**
 * A copy of a ciphertext with one bit flipped in its (inner) SignalMessage: in the MAC, or in the
 * last ciphertext byte before it. A PreKeySignalMessage's own fields are left alone, since a
 * receiver that already holds the session rightly ignores them.
 */
export function flipBit(
  c: { type: 'prekey' | 'whisper'; body: string },
  where: 'mac' | 'ciphertext',
): { type: 'prekey' | 'whisper'; body: string } {
  const body = Buffer.from(unb64(c.body));
  const inner = Buffer.from(innerOf(parseCiphertext(c.type, body)).serialized);
  const start = body.indexOf(inner);
  const at = start + inner.length - 1 - (where === 'mac' ? 0 : MAC_LENGTH);
  body[at]! ^= 0x01;
  return { type: c.type, body: body.toString('base64url') };
}

// Reads the SPQR data (field 5) of a ciphertext, for tests that watch the braid's epochs.
import type { CiphertextMessage } from '../../../../reference-impl/crypto/index.ts';
import { parseSpqrMessage, type SpqrMessage } from '../../../../reference-impl/crypto/spqr.ts';
import {
  parsePreKeySignalMessage,
  parseSignalMessage,
} from '../../../../reference-impl/crypto/wire.ts';

/** The SPQR message a ciphertext carries in SignalMessage field 5. */
export function spqrOf(message: CiphertextMessage): SpqrMessage {
  const inner =
    message.type === 'prekey'
      ? parsePreKeySignalMessage(message.body).message
      : parseSignalMessage(message.body);
  return parseSpqrMessage(inner.pqRatchet);
}

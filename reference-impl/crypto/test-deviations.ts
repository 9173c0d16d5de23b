// Deliberate deviations of the decrypt path from spec/crypto.md, for the conformance suite's
// self-test only: conformance/client/reference-faults.ts builds broken reference clients with them,
// so that test/conformance/client-faults.test.ts can show that the ENC client cases catch each one.
// index.ts does not export this module, and no production path passes a deviation to decrypt.
import { InvalidMessageError } from './errors.ts';
import {
  parseSpqrMessage,
  serializeSpqrMessage,
  spqrReceive,
  SpqrMessageType,
  SPQR_VERSION_V1,
  type SpqrState,
} from './spqr.ts';
import { receiveKey } from './spqr/chain.ts';
/** How a broken receiver departs from the spec; every member off means none. */
export interface DecryptDeviations {
  /**
   * Breaks ENC-053: a late message (field 5 names a key below the chain's newest) is salted with
   * the chain's next key instead of the key kept for the index it names.
   */
  readonly lateSpqrKeysFromHead?: boolean;
  /** Breaks ENC-054: refuses SPQR data that carries a braid chunk (types 1 to 6). */
  readonly refuseSpqrChunks?: boolean;
  /** Breaks ENC-055: field 5 that does not parse, or names a used key, is taken as naming the next key. */
  readonly acceptBadSpqrData?: boolean;
  /** Breaks ENC-056: field 6 (`addresses`) is never compared with the session's parties. */
  readonly ignoreAddresses?: boolean;
  /** Breaks ENC-060: every braid chunk received is dropped, so the braid never advances. */
  readonly ignoreBraidChunks?: boolean;
  /** Breaks ENC-061: parity chunks (index n or more of their payload) are dropped. */
  readonly ignoreParityChunks?: boolean;
}

/** Chunks of each payload (n): header ‖ MAC 3, vector 36, ciphertext 1 30, ciphertext 2 ‖ MAC 5. */
const PAYLOAD_CHUNKS: Readonly<Record<number, number>> = {
  [SpqrMessageType.Hdr]: 3,
  [SpqrMessageType.Ek]: 36,
  [SpqrMessageType.EkCt1Ack]: 36,
  [SpqrMessageType.Ct1]: 30,
  [SpqrMessageType.Ct2]: 5,
};

/** `field` with its chunk dropped (type None) when the deviations of `d` drop that chunk. */
function droppingChunks(field: Uint8Array, d: DecryptDeviations): Uint8Array {
  if (!d.ignoreBraidChunks && !d.ignoreParityChunks) return field;
  if (field[0] !== SPQR_VERSION_V1) return field;
  const message = parseSpqrMessage(field);
  if (message.chunk === null) return field;
  const parity = message.chunk.index >= PAYLOAD_CHUNKS[message.type]!;
  if (!d.ignoreBraidChunks && !parity) return field;
  return serializeSpqrMessage({ ...message, type: SpqrMessageType.None, chunk: null });
}

/** The honest receiver. */
export const NO_DEVIATIONS: DecryptDeviations = Object.freeze({});

/** The next key of the receiving direction of chain epoch `epoch`, as if field 5 had named it. */
function nextKey(state: SpqrState, epoch: number): { state: SpqrState; key: Uint8Array | null } {
  const chain = state.chain;
  const link = chain.links[chain.links.length - 1 - (chain.currentEpoch - epoch)]!;
  const keyed = receiveKey(chain, epoch, link.receive.counter + 1);
  return { state: { ...state, chain: keyed.chain }, key: keyed.key };
}

/** `spqrReceive` with the SPQR deviations of `d` applied. */
export function spqrReceiveDeviating(
  state: SpqrState,
  received: Uint8Array,
  d: DecryptDeviations,
): { state: SpqrState; key: Uint8Array | null } {
  const field = droppingChunks(received, d);
  if (d.refuseSpqrChunks && field[0] === SPQR_VERSION_V1 && parseSpqrMessage(field).chunk !== null)
    throw new InvalidMessageError('post-quantum ratchet: chunk refused (test deviation)');
  if (d.acceptBadSpqrData) {
    try {
      return spqrReceive(state, field);
    } catch (error) {
      if (!(error instanceof InvalidMessageError)) throw error;
      return nextKey(state, state.chain.currentEpoch);
    }
  }
  const honest = spqrReceive(state, field);
  if (!d.lateSpqrKeysFromHead || honest.key === null) return honest;
  const message = parseSpqrMessage(field);
  const epoch = message.epoch - 1;
  const chain = honest.state.chain;
  const link = chain.links[chain.links.length - 1 - (chain.currentEpoch - epoch)]!;
  if (message.index >= link.receive.counter) return honest;
  return nextKey(honest.state, epoch);
}

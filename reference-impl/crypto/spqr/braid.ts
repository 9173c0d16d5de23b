// SPQR's braid: the ML-KEM-768 key exchange that runs inside the messages and gives the chain a
// new epoch secret each round (spec: Cryptography — SPQR braid; facts from SparsePostQuantumRatchet
// v1.5.3 src/v1/chunked/states.rs, send_ek.rs, send_ct.rs and src/v1/unchunked/).
//
// Two roles alternate each epoch. The ek side (the initiator in epoch 1) samples a key pair and
// sends its header ρ ‖ H(ek) with a MAC, then the encapsulation-key vector; the ct side encapsulates
// to the header as soon as it has it (ciphertext 1, which already fixes the epoch secret), then
// finishes with ciphertext 2 and a MAC once the vector has arrived. Every payload travels through
// the erasure code, one 32-byte chunk per message. When the ek side has decapsulated, both sides
// hold the epoch secret and swap roles for the next epoch. Eleven states, all plain data.
import { InvalidMessageError } from '../errors.ts';
import {
  CIPHERTEXT1_LENGTH,
  CIPHERTEXT2_LENGTH,
  decapsulate,
  encapsulate1,
  encapsulate2,
  encapsulationKeyVector,
  ENCAPSULATION_KEY_VECTOR_LENGTH,
  generateKeyPair,
  header as headerOf,
  HEADER_LENGTH,
  vectorMatchesHeader,
} from '../kem/mlkem768.ts';
import {
  ciphertextMac,
  epochSecret,
  headerMac,
  initialAuthenticator,
  macMatches,
  MAC_LENGTH,
  updateAuthenticator,
  type Authenticator,
} from './authenticator.ts';
import {
  addChunk,
  decodedPayload,
  encodeChunk,
  newDecoder,
  type Chunk,
  type ChunkDecoder,
} from './erasure.ts';

/** SPQR V1 message types: the byte after the varints. */
export const SpqrMessageType = {
  None: 0,
  Hdr: 1,
  Ek: 2,
  EkCt1Ack: 3,
  Ct1Ack: 4,
  Ct1: 5,
  Ct2: 6,
} as const;
export type SpqrMessageType = (typeof SpqrMessageType)[keyof typeof SpqrMessageType];

/** Payload lengths: header ‖ MAC, vector, ciphertext 1, ciphertext 2 ‖ MAC. */
export const HEADER_PAYLOAD_LENGTH = HEADER_LENGTH + MAC_LENGTH; // 96
export const EK_PAYLOAD_LENGTH = ENCAPSULATION_KEY_VECTOR_LENGTH; // 1152
export const CT1_PAYLOAD_LENGTH = CIPHERTEXT1_LENGTH; // 960
export const CT2_PAYLOAD_LENGTH = CIPHERTEXT2_LENGTH + MAC_LENGTH; // 160

/** A payload being sent, one chunk per message; `next` is the index of the next chunk (mod 2^16). */
export interface ChunkEncoder {
  readonly payload: Uint8Array;
  readonly next: number;
}

interface Common {
  /** The braid epoch this state works on (from 1). */
  readonly epoch: number;
  readonly auth: Authenticator;
}

/** The eleven states (SPQR's names). The first five are the ek side's, the others the ct side's. */
export type BraidState =
  | (Common & { readonly name: 'KeysUnsampled' })
  | (Common & {
      readonly name: 'KeysSampled';
      readonly decapsulationKey: Uint8Array;
      readonly vector: Uint8Array;
      readonly sendingHeader: ChunkEncoder;
    })
  | (Common & {
      readonly name: 'HeaderSent';
      readonly decapsulationKey: Uint8Array;
      readonly sendingEk: ChunkEncoder;
      readonly receivingCt1: ChunkDecoder;
    })
  | (Common & {
      readonly name: 'Ct1Received';
      readonly decapsulationKey: Uint8Array;
      readonly ciphertext1: Uint8Array;
      readonly sendingEk: ChunkEncoder;
    })
  | (Common & {
      readonly name: 'EkSentCt1Received';
      readonly decapsulationKey: Uint8Array;
      readonly ciphertext1: Uint8Array;
      readonly receivingCt2: ChunkDecoder;
    })
  | (Common & { readonly name: 'NoHeaderReceived'; readonly receivingHeader: ChunkDecoder })
  | (Common & {
      readonly name: 'HeaderReceived';
      readonly header: Uint8Array;
      readonly receivingEk: ChunkDecoder;
    })
  | (Common & {
      readonly name: 'Ct1Sampled';
      /** m ‖ r ‖ header (mlkem768.ts encapsulate1), secret. */
      readonly encapsulation: Uint8Array;
      readonly ciphertext1: Uint8Array;
      readonly sendingCt1: ChunkEncoder;
      readonly receivingEk: ChunkDecoder;
    })
  | (Common & {
      readonly name: 'EkReceivedCt1Sampled';
      readonly encapsulation: Uint8Array;
      readonly ciphertext1: Uint8Array;
      readonly vector: Uint8Array;
      readonly sendingCt1: ChunkEncoder;
    })
  | (Common & {
      readonly name: 'Ct1Acknowledged';
      readonly encapsulation: Uint8Array;
      readonly ciphertext1: Uint8Array;
      readonly receivingEk: ChunkDecoder;
    })
  | (Common & { readonly name: 'Ct2Sampled'; readonly sendingCt2: ChunkEncoder });

export type BraidStateName = BraidState['name'];

/** What one message carries of the braid. */
export interface BraidMessage {
  readonly epoch: number;
  readonly type: SpqrMessageType;
  readonly chunk: Chunk | null;
}

/** An epoch secret the braid has produced, to add to the chain. */
export interface EpochSecret {
  readonly epoch: number;
  readonly secret: Uint8Array;
}

function fail(why: string): never {
  throw new InvalidMessageError(`post-quantum ratchet: ${why}`);
}

/** The initiator starts on the ek side, the responder on the ct side, both in epoch 1. */
export function initialBraid(spqrKey: Uint8Array, direction: 'A2B' | 'B2A'): BraidState {
  const auth = initialAuthenticator(spqrKey);
  return direction === 'A2B'
    ? { name: 'KeysUnsampled', epoch: 1, auth }
    : {
        name: 'NoHeaderReceived',
        epoch: 1,
        auth,
        receivingHeader: newDecoder(HEADER_PAYLOAD_LENGTH),
      };
}

function encoder(payload: Uint8Array): ChunkEncoder {
  return { payload, next: 0 };
}

function nextChunk(e: ChunkEncoder): { encoder: ChunkEncoder; chunk: Chunk } {
  return {
    encoder: { payload: e.payload, next: (e.next + 1) % 0x1_0000_0000 },
    chunk: encodeChunk(e.payload, e.next & 0xffff),
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Ciphertext 2 and its MAC over ciphertext 1 ‖ ciphertext 2, as the payload to send. */
function ciphertext2Payload(
  epoch: number,
  auth: Authenticator,
  encapsulation: Uint8Array,
  ciphertext1: Uint8Array,
  vector: Uint8Array,
): ChunkEncoder {
  const ciphertext2 = encapsulate2(encapsulation, vector);
  const mac = ciphertextMac(auth, epoch, concat(ciphertext1, ciphertext2));
  return encoder(concat(ciphertext2, mac));
}

/**
 * What the next message carries and the state after it; `secret` when sending produces an epoch
 * secret (the ct side's first ciphertext chunk). Never changes `state`.
 */
export function braidSend(state: BraidState): {
  state: BraidState;
  message: BraidMessage;
  secret: EpochSecret | null;
} {
  const { epoch } = state;
  const none = (s: BraidState) => ({
    state: s,
    message: { epoch, type: SpqrMessageType.None, chunk: null },
    secret: null,
  });
  switch (state.name) {
    case 'KeysUnsampled': {
      const keys = generateKeyPair();
      const header = headerOf(keys.encapsulationKey);
      const sent = nextChunk(encoder(concat(header, headerMac(state.auth, epoch, header))));
      return {
        state: {
          name: 'KeysSampled',
          epoch,
          auth: state.auth,
          decapsulationKey: keys.decapsulationKey,
          vector: encapsulationKeyVector(keys.encapsulationKey),
          sendingHeader: sent.encoder,
        },
        message: { epoch, type: SpqrMessageType.Hdr, chunk: sent.chunk },
        secret: null,
      };
    }
    case 'KeysSampled': {
      const sent = nextChunk(state.sendingHeader);
      return {
        state: { ...state, sendingHeader: sent.encoder },
        message: { epoch, type: SpqrMessageType.Hdr, chunk: sent.chunk },
        secret: null,
      };
    }
    case 'HeaderSent':
    case 'Ct1Received': {
      const sent = nextChunk(state.sendingEk);
      const type = state.name === 'HeaderSent' ? SpqrMessageType.Ek : SpqrMessageType.EkCt1Ack;
      return {
        state: { ...state, sendingEk: sent.encoder },
        message: { epoch, type, chunk: sent.chunk },
        secret: null,
      };
    }
    case 'EkSentCt1Received':
      return {
        state,
        message: { epoch, type: SpqrMessageType.Ct1Ack, chunk: null },
        secret: null,
      };
    case 'NoHeaderReceived':
    case 'Ct1Acknowledged':
      return none(state);
    case 'HeaderReceived': {
      const first = encapsulate1(state.header);
      const secret = epochSecret(first.sharedSecret, epoch);
      first.sharedSecret.fill(0);
      const sent = nextChunk(encoder(first.ciphertext1));
      return {
        state: {
          name: 'Ct1Sampled',
          epoch,
          auth: updateAuthenticator(state.auth, epoch, secret),
          encapsulation: first.state,
          ciphertext1: first.ciphertext1,
          sendingCt1: sent.encoder,
          receivingEk: state.receivingEk,
        },
        message: { epoch, type: SpqrMessageType.Ct1, chunk: sent.chunk },
        secret: { epoch, secret },
      };
    }
    case 'Ct1Sampled':
    case 'EkReceivedCt1Sampled': {
      const sent = nextChunk(state.sendingCt1);
      return {
        state: { ...state, sendingCt1: sent.encoder },
        message: { epoch, type: SpqrMessageType.Ct1, chunk: sent.chunk },
        secret: null,
      };
    }
    case 'Ct2Sampled': {
      const sent = nextChunk(state.sendingCt2);
      return {
        state: { ...state, sendingCt2: sent.encoder },
        message: { epoch, type: SpqrMessageType.Ct2, chunk: sent.chunk },
        secret: null,
      };
    }
  }
}

const EK_TYPES: ReadonlySet<number> = new Set([SpqrMessageType.Ek, SpqrMessageType.EkCt1Ack]);

/**
 * The state after receiving `message`, and the epoch secret when it completes an epoch (the ek
 * side's last ciphertext-2 chunk). A message of an earlier epoch changes nothing; of a later epoch
 * it is refused, except the first of the next epoch on the side that sent ciphertext 2.
 * @throws InvalidMessageError for a later epoch, a header or ciphertext whose MAC fails, or an
 *   encapsulation-key vector that does not match its header. Never changes `state`.
 */
export function braidReceive(
  state: BraidState,
  message: BraidMessage,
): { state: BraidState; secret: EpochSecret | null } {
  const { epoch } = state;
  const same = { state, secret: null };
  if (message.epoch > epoch) {
    if (state.name === 'Ct2Sampled' && message.epoch === epoch + 1) {
      return { state: { name: 'KeysUnsampled', epoch: epoch + 1, auth: state.auth }, secret: null };
    }
    fail(`braid epoch ${message.epoch} is ahead of ${epoch}`);
  }
  if (message.epoch < epoch) return same;
  const { type, chunk } = message;
  switch (state.name) {
    case 'KeysUnsampled':
    case 'HeaderReceived':
    case 'Ct2Sampled':
      return same;
    case 'KeysSampled':
      if (type !== SpqrMessageType.Ct1 || chunk === null) return same;
      return {
        state: {
          name: 'HeaderSent',
          epoch,
          auth: state.auth,
          decapsulationKey: state.decapsulationKey,
          sendingEk: encoder(state.vector),
          receivingCt1: addChunk(newDecoder(CT1_PAYLOAD_LENGTH), chunk),
        },
        secret: null,
      };
    case 'HeaderSent': {
      if (type !== SpqrMessageType.Ct1 || chunk === null) return same;
      const receivingCt1 = addChunk(state.receivingCt1, chunk);
      const ciphertext1 = decodedPayload(receivingCt1);
      if (ciphertext1 === null) return { state: { ...state, receivingCt1 }, secret: null };
      return {
        state: {
          name: 'Ct1Received',
          epoch,
          auth: state.auth,
          decapsulationKey: state.decapsulationKey,
          ciphertext1,
          sendingEk: state.sendingEk,
        },
        secret: null,
      };
    }
    case 'Ct1Received':
      if (type !== SpqrMessageType.Ct2 || chunk === null) return same;
      return {
        state: {
          name: 'EkSentCt1Received',
          epoch,
          auth: state.auth,
          decapsulationKey: state.decapsulationKey,
          ciphertext1: state.ciphertext1,
          receivingCt2: addChunk(newDecoder(CT2_PAYLOAD_LENGTH), chunk),
        },
        secret: null,
      };
    case 'EkSentCt1Received': {
      if (type !== SpqrMessageType.Ct2 || chunk === null) return same;
      const receivingCt2 = addChunk(state.receivingCt2, chunk);
      const payload = decodedPayload(receivingCt2);
      if (payload === null) return { state: { ...state, receivingCt2 }, secret: null };
      const ciphertext = concat(state.ciphertext1, payload.subarray(0, CIPHERTEXT2_LENGTH));
      const shared = decapsulate(ciphertext, state.decapsulationKey);
      const secret = epochSecret(shared, epoch);
      shared.fill(0);
      const auth = updateAuthenticator(state.auth, epoch, secret);
      if (!macMatches(ciphertextMac(auth, epoch, ciphertext), payload.subarray(CIPHERTEXT2_LENGTH)))
        fail(`ciphertext MAC of epoch ${epoch} does not verify`);
      return {
        state: {
          name: 'NoHeaderReceived',
          epoch: epoch + 1,
          auth,
          receivingHeader: newDecoder(HEADER_PAYLOAD_LENGTH),
        },
        secret: { epoch, secret },
      };
    }
    case 'NoHeaderReceived': {
      if (type !== SpqrMessageType.Hdr || chunk === null) return same;
      const receivingHeader = addChunk(state.receivingHeader, chunk);
      const payload = decodedPayload(receivingHeader);
      if (payload === null) return { state: { ...state, receivingHeader }, secret: null };
      const header = payload.slice(0, HEADER_LENGTH);
      if (!macMatches(headerMac(state.auth, epoch, header), payload.subarray(HEADER_LENGTH)))
        fail(`header MAC of epoch ${epoch} does not verify`);
      return {
        state: {
          name: 'HeaderReceived',
          epoch,
          auth: state.auth,
          header,
          receivingEk: newDecoder(EK_PAYLOAD_LENGTH),
        },
        secret: null,
      };
    }
    case 'Ct1Sampled':
    case 'Ct1Acknowledged': {
      if (!EK_TYPES.has(type) || chunk === null) return same;
      const acknowledged = state.name === 'Ct1Acknowledged' || type === SpqrMessageType.EkCt1Ack;
      const receivingEk = addChunk(state.receivingEk, chunk);
      const vector = decodedPayload(receivingEk);
      const common = { epoch, auth: state.auth, encapsulation: state.encapsulation };
      if (vector === null) {
        return acknowledged
          ? {
              state: {
                name: 'Ct1Acknowledged',
                ...common,
                ciphertext1: state.ciphertext1,
                receivingEk,
              },
              secret: null,
            }
          : { state: { ...state, receivingEk }, secret: null };
      }
      if (!vectorMatchesHeader(state.encapsulation.subarray(64), vector)) {
        fail(`encapsulation key of epoch ${epoch} does not match its header`);
      }
      if (acknowledged) {
        return {
          state: {
            name: 'Ct2Sampled',
            epoch,
            auth: state.auth,
            sendingCt2: ciphertext2Payload(
              epoch,
              state.auth,
              state.encapsulation,
              state.ciphertext1,
              vector,
            ),
          },
          secret: null,
        };
      }
      if (state.name !== 'Ct1Sampled') throw new Error('unreachable');
      return {
        state: {
          name: 'EkReceivedCt1Sampled',
          ...common,
          ciphertext1: state.ciphertext1,
          vector,
          sendingCt1: state.sendingCt1,
        },
        secret: null,
      };
    }
    case 'EkReceivedCt1Sampled':
      if (type !== SpqrMessageType.Ct1Ack && type !== SpqrMessageType.EkCt1Ack) return same;
      return {
        state: {
          name: 'Ct2Sampled',
          epoch,
          auth: state.auth,
          sendingCt2: ciphertext2Payload(
            epoch,
            state.auth,
            state.encapsulation,
            state.ciphertext1,
            state.vector,
          ),
        },
        secret: null,
      };
  }
}

// The SPQR part of a serialised session record (spec: Cryptography — sessions): the braid state
// with its eleven names and the chain's links, as strict JSON. Called by ../record.ts.
import { InvalidSessionRecordError } from '../errors.ts';
import {
  CIPHERTEXT1_LENGTH,
  DECAPSULATION_KEY_LENGTH,
  ENCAPSULATION_KEY_VECTOR_LENGTH,
  ENCAPSULATION_STATE_LENGTH,
  HEADER_LENGTH,
} from '../kem/mlkem768.ts';
import { SPQR_EPOCHS_KEPT_BEFORE_SEND_EPOCH, SPQR_MAX_JUMP, SPQR_TRIM_SIZE } from '../limits.ts';
import type { SpqrState } from '../spqr.ts';
import {
  CT1_PAYLOAD_LENGTH,
  CT2_PAYLOAD_LENGTH,
  EK_PAYLOAD_LENGTH,
  HEADER_PAYLOAD_LENGTH,
  type BraidState,
  type BraidStateName,
} from './braid.ts';
import type { SpqrChain, SpqrLink } from './chain.ts';
import { CHUNK_LENGTH, MAX_CHUNK_INDEX, type ChunkDecoder } from './erasure.ts';
import { b64, strictJson, type Json } from '../strict-json.ts';

/**
 * Links a chain can hold: the send epoch's, one before it, and the epochs added since our last
 * send, at most two (the ek side adds an epoch on receiving, the ct side only when it sends).
 */
const MAX_LINKS = 4;

/** Braid states that have added their epoch to the chain already (the ct side from ciphertext 1 on). */
const EPOCH_ADDED: ReadonlySet<BraidStateName> = new Set([
  'Ct1Sampled',
  'EkReceivedCt1Sampled',
  'Ct1Acknowledged',
  'Ct2Sampled',
]);
type Kind =
  { readonly bytes: number } | { readonly encoder: number } | { readonly decoder: number };

/** The members of each braid state beyond name, epoch and auth, with their kinds. */
const FIELDS: Record<BraidStateName, Record<string, Kind>> = {
  KeysUnsampled: {},
  KeysSampled: {
    decapsulationKey: { bytes: DECAPSULATION_KEY_LENGTH },
    vector: { bytes: ENCAPSULATION_KEY_VECTOR_LENGTH },
    sendingHeader: { encoder: HEADER_PAYLOAD_LENGTH },
  },
  HeaderSent: {
    decapsulationKey: { bytes: DECAPSULATION_KEY_LENGTH },
    sendingEk: { encoder: EK_PAYLOAD_LENGTH },
    receivingCt1: { decoder: CT1_PAYLOAD_LENGTH },
  },
  Ct1Received: {
    decapsulationKey: { bytes: DECAPSULATION_KEY_LENGTH },
    ciphertext1: { bytes: CIPHERTEXT1_LENGTH },
    sendingEk: { encoder: EK_PAYLOAD_LENGTH },
  },
  EkSentCt1Received: {
    decapsulationKey: { bytes: DECAPSULATION_KEY_LENGTH },
    ciphertext1: { bytes: CIPHERTEXT1_LENGTH },
    receivingCt2: { decoder: CT2_PAYLOAD_LENGTH },
  },
  NoHeaderReceived: { receivingHeader: { decoder: HEADER_PAYLOAD_LENGTH } },
  HeaderReceived: {
    header: { bytes: HEADER_LENGTH },
    receivingEk: { decoder: EK_PAYLOAD_LENGTH },
  },
  Ct1Sampled: {
    encapsulation: { bytes: ENCAPSULATION_STATE_LENGTH },
    ciphertext1: { bytes: CIPHERTEXT1_LENGTH },
    sendingCt1: { encoder: CT1_PAYLOAD_LENGTH },
    receivingEk: { decoder: EK_PAYLOAD_LENGTH },
  },
  EkReceivedCt1Sampled: {
    encapsulation: { bytes: ENCAPSULATION_STATE_LENGTH },
    ciphertext1: { bytes: CIPHERTEXT1_LENGTH },
    vector: { bytes: ENCAPSULATION_KEY_VECTOR_LENGTH },
    sendingCt1: { encoder: CT1_PAYLOAD_LENGTH },
  },
  Ct1Acknowledged: {
    encapsulation: { bytes: ENCAPSULATION_STATE_LENGTH },
    ciphertext1: { bytes: CIPHERTEXT1_LENGTH },
    receivingEk: { decoder: EK_PAYLOAD_LENGTH },
  },
  Ct2Sampled: { sendingCt2: { encoder: CT2_PAYLOAD_LENGTH } },
};

const readers = strictJson((m) => new InvalidSessionRecordError(m));
/** Typed here so that TypeScript narrows after a call. */
const fail: (path: string, why: string) => never = readers.fail;
const { object, array, uint, bytes } = readers;

function encodeDecoder(decoder: ChunkDecoder): Json {
  return { chunks: decoder.chunks.map((c) => [c.index, b64(c.data)]) };
}

function decodeDecoder(value: unknown, path: string, length: number): ChunkDecoder {
  const o = object(value, path, ['chunks']);
  const needed = length / CHUNK_LENGTH;
  const chunks = array(o.chunks, `${path}.chunks`, 2 * needed).map((entry, i) => {
    const at = `${path}.chunks[${i}]`;
    const pair = array(entry, at, 2);
    if (pair.length !== 2) fail(at, 'not an [index, chunk] pair');
    return {
      index: uint(pair[0], `${at}[0]`, MAX_CHUNK_INDEX),
      data: bytes(pair[1], `${at}[1]`, 32),
    };
  });
  for (let i = 1; i < chunks.length; i++) {
    if (chunks[i]!.index <= chunks[i - 1]!.index) fail(`${path}.chunks`, 'indexes not ascending');
  }
  return { length, chunks };
}

function encodeBraid(state: BraidState): Json {
  const out: Json = {
    name: state.name,
    epoch: state.epoch,
    rootKey: b64(state.auth.rootKey),
    macKey: b64(state.auth.macKey),
  };
  const record = state as unknown as Record<string, unknown>;
  for (const [member, kind] of Object.entries(FIELDS[state.name])) {
    const value = record[member];
    if ('bytes' in kind) out[member] = b64(value as Uint8Array);
    else if ('encoder' in kind) {
      const e = value as { payload: Uint8Array; next: number };
      out[member] = { payload: b64(e.payload), next: e.next };
    } else out[member] = encodeDecoder(value as ChunkDecoder);
  }
  return out;
}

function decodeBraid(value: unknown, path: string): BraidState {
  if (typeof value !== 'object' || value === null) fail(path, 'not an object');
  const name = (value as Json).name;
  if (typeof name !== 'string' || !Object.hasOwn(FIELDS, name)) fail(`${path}.name`, 'unknown');
  const fields = FIELDS[name as BraidStateName];
  const o = object(value, path, ['name', 'epoch', 'rootKey', 'macKey', ...Object.keys(fields)]);
  const out: Record<string, unknown> = {
    name,
    epoch: uint(o.epoch, `${path}.epoch`, Number.MAX_SAFE_INTEGER - 1),
    auth: {
      rootKey: bytes(o.rootKey, `${path}.rootKey`, 32),
      macKey: bytes(o.macKey, `${path}.macKey`, 32),
    },
  };
  if ((out.epoch as number) < 1) fail(`${path}.epoch`, 'epochs start at 1');
  for (const [member, kind] of Object.entries(fields)) {
    const at = `${path}.${member}`;
    if ('bytes' in kind) out[member] = bytes(o[member], at, kind.bytes);
    else if ('encoder' in kind) {
      const e = object(o[member], at, ['payload', 'next']);
      out[member] = {
        payload: bytes(e.payload, `${at}.payload`, kind.encoder),
        next: uint(e.next, `${at}.next`),
      };
    } else out[member] = decodeDecoder(o[member], at, kind.decoder);
  }
  return out as unknown as BraidState;
}

function encodeLink(link: SpqrLink): Json {
  return {
    sendCounter: link.send.counter,
    sendNext: link.send.next === null ? null : b64(link.send.next),
    receiveCounter: link.receive.counter,
    receiveNext: b64(link.receive.next),
    skipped: link.receive.skipped.map((entry) => [entry.index, b64(entry.key)]),
  };
}

function decodeLink(value: unknown, path: string): SpqrLink {
  const o = object(value, path, [
    'sendCounter',
    'sendNext',
    'receiveCounter',
    'receiveNext',
    'skipped',
  ]);
  const skipped = array(o.skipped, `${path}.skipped`, SPQR_TRIM_SIZE).map((entry, i) => {
    const at = `${path}.skipped[${i}]`;
    const pair = array(entry, at, 2);
    if (pair.length !== 2) fail(at, 'not an [index, key] pair');
    return { index: uint(pair[0], `${at}[0]`), key: bytes(pair[1], `${at}[1]`, 32) };
  });
  return {
    send: {
      counter: uint(o.sendCounter, `${path}.sendCounter`),
      next: o.sendNext === null ? null : bytes(o.sendNext, `${path}.sendNext`, 32),
    },
    receive: {
      counter: uint(o.receiveCounter, `${path}.receiveCounter`),
      next: bytes(o.receiveNext, `${path}.receiveNext`, 32),
      skipped,
    },
  };
}

/** The SPQR state as JSON. */
export function encodeSpqrState(state: SpqrState): Json {
  const chain = state.chain;
  return {
    braid: encodeBraid(state.braid),
    chain: {
      direction: chain.direction,
      currentEpoch: chain.currentEpoch,
      sendEpoch: chain.sendEpoch,
      nextRoot: b64(chain.nextRoot),
      maxJump: chain.maxJump,
      links: chain.links.map(encodeLink),
    },
  };
}

/** Parses the SPQR state strictly. @throws InvalidSessionRecordError naming the member at fault. */
export function decodeSpqrState(value: unknown, path: string): SpqrState {
  const o = object(value, path, ['braid', 'chain']);
  const c = object(o.chain, `${path}.chain`, [
    'direction',
    'currentEpoch',
    'sendEpoch',
    'nextRoot',
    'maxJump',
    'links',
  ]);
  const at = `${path}.chain`;
  if (c.direction !== 'A2B' && c.direction !== 'B2A') fail(`${at}.direction`, 'not A2B or B2A');
  const maxJump = uint(c.maxJump, `${at}.maxJump`);
  if (maxJump !== SPQR_MAX_JUMP && maxJump !== 0xffff_ffff) {
    fail(`${at}.maxJump`, `not ${SPQR_MAX_JUMP} or 4294967295`);
  }
  const currentEpoch = uint(c.currentEpoch, `${at}.currentEpoch`, Number.MAX_SAFE_INTEGER - 1);
  const sendEpoch = uint(c.sendEpoch, `${at}.sendEpoch`, currentEpoch);
  const links = array(c.links, `${at}.links`, MAX_LINKS).map((link, i) =>
    decodeLink(link, `${at}.links[${i}]`),
  );
  // The chain keeps the send epoch's link, every later one and SPQR_EPOCHS_KEPT_BEFORE_SEND_EPOCH before it.
  const oldest = currentEpoch - links.length + 1;
  if (links.length === 0 || oldest < 0 || sendEpoch < oldest) {
    fail(`${at}.links`, 'do not cover the send epoch and the current epoch');
  }
  if (sendEpoch - oldest > SPQR_EPOCHS_KEPT_BEFORE_SEND_EPOCH) {
    fail(`${at}.links`, 'keep more epochs before the send epoch than SPQR does');
  }
  const chain: SpqrChain = {
    direction: c.direction,
    currentEpoch,
    sendEpoch,
    nextRoot: bytes(c.nextRoot, `${at}.nextRoot`, 32),
    maxJump,
    links,
  };
  const braid = decodeBraid(o.braid, `${path}.braid`);
  const added = braid.epoch - (EPOCH_ADDED.has(braid.name) ? 0 : 1);
  if (currentEpoch !== added) {
    fail(
      `${at}.currentEpoch`,
      `${currentEpoch} does not follow braid epoch ${braid.epoch} (${braid.name})`,
    );
  }
  return { braid, chain };
}

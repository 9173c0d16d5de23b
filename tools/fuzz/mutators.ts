/**
 * The fuzzer's mutators: schema-aware ones that read a frame type's JSON Schema to break one member
 * the way a careless or hostile client would (wrong type, missing and extra members, huge numbers
 * and strings, deep nesting, bad base64url, broken Signal bodies, bad enums, envelope faults),
 * byte-level ones on the serialised frame (bit flips, invalid UTF-8), binary frames, and WebSocket
 * fragmentation up to fragment storms. Each frame is a pure function of (seed, index), so any
 * finding replays from the two numbers.
 */
import { Rng } from '../../conformance/runner/rng.ts';
import { FRAME_TYPES } from '../../schemas/frame-types.ts';
import { resolve, type Json, type JsonObject, type SchemaNode, type Seed } from './corpus.ts';

/** One WebSocket message the fuzzer sends. */
export interface FuzzInput {
  /** The frame's index in the run; with the seed it regenerates the input. */
  readonly index: number;
  /** The mutator that made it. */
  readonly mutator: string;
  /** The frame type of the example it started from. */
  readonly seedType: string;
  /** The message bytes. */
  readonly payload: Buffer;
  readonly binary: boolean;
  /** WebSocket frames the message is split into (1: unfragmented; hundreds: a fragment storm). */
  readonly fragments: number;
}

/** What the generator needs to know about the target. */
export interface GeneratorOptions {
  /** The advertised `limits.maxFrameBytes`, so that oversize frames are just over it. */
  readonly maxFrameBytes: number;
}

/** A member of a frame and the schema node that describes it. */
interface Site {
  readonly path: readonly (string | number)[];
  readonly node: SchemaNode | undefined;
  readonly value: Json;
}

const CLIENT_TYPES = Object.entries(FRAME_TYPES)
  .filter(([, info]) => info.direction === 'client')
  .map(([type]) => type);

/** Longest fragment storm: enough to stress reassembly, short enough to keep a run fast. */
const MAX_FRAGMENTS = 2000;
/** Deepest nesting sent; V8's JSON.parse and ajv must both survive it. */
const MAX_DEPTH = 20_000;
const ENVELOPE = new Set(['v', 'type', 'id']);
/** A marker replaced after serialisation, so that raw JSON text can be spliced into a frame. */
const SPLICE = '\u0000splice\u0000';

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.uint32() % items.length]!;
}

function clone<T extends Json>(value: T): T {
  return structuredClone(value);
}

function sites(
  root: SchemaNode,
  value: Json,
  node: SchemaNode | undefined,
  path: (string | number)[],
  out: Site[],
): void {
  const n = resolve(root, node);
  out.push({ path, node: n, value });
  if (Array.isArray(value)) {
    value.forEach((item, i) => sites(root, item, n?.items, [...path, i], out));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, member] of Object.entries(value))
      sites(root, member, n?.properties?.[key], [...path, key], out);
  }
}

function setAt(
  root: JsonObject,
  path: readonly (string | number)[],
  value: Json | undefined,
): void {
  let parent: Json = root;
  for (const step of path.slice(0, -1)) parent = (parent as Record<string, Json>)[step]!;
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete (parent as Record<string, Json>)[last];
  } else (parent as Record<string, Json>)[last] = value;
}

function typeOf(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const ANY_VALUES: readonly Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  '',
  'x',
  '1',
  [],
  {},
  [1],
  { a: 1 },
];
const HUGE_NUMBERS: readonly number[] = [
  1e308,
  -1e308,
  2 ** 53 + 2,
  -(2 ** 53),
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  16381,
  0,
  -0,
  1e-7,
  0.5,
  65537,
];
const NOT_BASE64: readonly string[] = ['=', '==', '+', '/', ' ', '.', '\n', '%', 'é', '\u0000'];

function isBase64Member(node: SchemaNode | undefined): boolean {
  return (
    node?.pattern !== undefined &&
    node.pattern.includes('A-Za-z0-9_-') &&
    !node.pattern.includes('@')
  );
}

function randomText(rng: Rng, length: number): string {
  const alphabets = ['A', 'a0', 'é€𝄞', '"\\\n\t', '\ud800', '<script>', '%s%n', '../'];
  const unit = pick(rng, alphabets);
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

function nested(rng: Rng, depth: number): string {
  return rng.int(0, 1) === 0
    ? '['.repeat(depth) + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** Corrupts a Signal wire message: version byte, truncation, flipped bytes, protobuf garbage. */
function breakSignal(rng: Rng, body: string): string {
  const bytes = Buffer.from(body, 'base64url');
  switch (rng.int(0, 5)) {
    case 0:
      bytes[0] = rng.int(0, 255);
      return bytes.toString('base64url');
    case 1:
      return bytes.subarray(0, rng.int(0, bytes.length - 1)).toString('base64url');
    case 2:
      for (let k = rng.int(1, 8); k > 0; k--) bytes[rng.int(0, bytes.length - 1)] = rng.int(0, 255);
      return bytes.toString('base64url');
    case 3: {
      // A field with an over-long length prefix, right after the version byte.
      const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
      return Buffer.concat([bytes.subarray(0, 1), garbage, bytes.subarray(1)]).toString(
        'base64url',
      );
    }
    case 4:
      return Buffer.concat([bytes, Buffer.alloc(rng.int(1, 64), rng.int(0, 255))]).toString(
        'base64url',
      );
    default:
      return Buffer.from([bytes[0] ?? 0x33]).toString('base64url');
  }
}

type Mutator = (
  rng: Rng,
  frame: JsonObject,
  seed: Seed,
  options: GeneratorOptions,
) => string | Buffer;

function memberSite(
  rng: Rng,
  frame: JsonObject,
  seed: Seed,
  filter: (s: Site) => boolean = () => true,
): Site | undefined {
  const all: Site[] = [];
  sites(seed.schema, frame, seed.schema, [], all);
  // The envelope (`v`, `type`, `id`) has its own mutator; here it would mostly test `v` again.
  const candidates = all.filter(
    (s) =>
      s.path.length > 0 && !(s.path.length === 1 && ENVELOPE.has(String(s.path[0]))) && filter(s),
  );
  return candidates.length === 0 ? undefined : pick(rng, candidates);
}

const json = (frame: JsonObject): string => JSON.stringify(frame);

/** The schema-aware and envelope mutators, each with a weight. */
const MUTATORS: readonly (readonly [string, number, Mutator])[] = [
  ['valid', 4, (_rng, frame) => json(frame)],
  [
    'wrong-type',
    10,
    (rng, frame, seed) => {
      const site = memberSite(rng, frame, seed);
      if (site)
        setAt(
          frame,
          site.path,
          pick(
            rng,
            ANY_VALUES.filter((v) => typeOf(v) !== typeOf(site.value)),
          ),
        );
      return json(frame);
    },
  ],
  [
    'missing-member',
    8,
    (rng, frame, seed) => {
      const site = memberSite(rng, frame, seed);
      if (site) setAt(frame, site.path, undefined);
      return json(frame);
    },
  ],
  [
    'extra-member',
    6,
    (rng, frame, seed) => {
      const objects = [] as Site[];
      sites(seed.schema, frame, seed.schema, [], objects);
      const site = pick(
        rng,
        objects.filter(
          (s) => s.value !== null && typeof s.value === 'object' && !Array.isArray(s.value),
        ),
      );
      const target = (site.path.length === 0 ? frame : site.value) as Record<string, Json>;
      const key = pick(rng, [
        '__proto__',
        'constructor',
        'extra',
        're',
        'type',
        'x'.repeat(rng.int(1, 300)),
      ]);
      // defineProperty makes `__proto__` an own member that JSON.stringify writes out.
      Object.defineProperty(target, key, {
        value: pick(rng, ANY_VALUES),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      return json(frame);
    },
  ],
  [
    'huge-number',
    6,
    (rng, frame, seed) => {
      const site =
        memberSite(rng, frame, seed, (s) => typeof s.value === 'number') ??
        memberSite(rng, frame, seed);
      if (site) setAt(frame, site.path, pick(rng, HUGE_NUMBERS));
      // Numbers JSON.stringify cannot write: spliced in as text.
      const text = json(frame);
      return rng.int(0, 3) === 0
        ? text.replace(
            /(?<!"v":)(?<=:)-?\d+(\.\d+)?(?=[,}\]])/,
            pick(rng, [
              '1e999',
              '-1e999',
              '123456789012345678901234567890',
              '0.0000000000000000000001',
              '1E+2',
            ]),
          )
        : text;
    },
  ],
  [
    'huge-string',
    5,
    (rng, frame, seed, options) => {
      const site =
        memberSite(rng, frame, seed, (s) => typeof s.value === 'string') ??
        memberSite(rng, frame, seed);
      const max = site?.node?.maxLength ?? 64;
      const length =
        rng.int(0, 9) === 0
          ? rng.int(max + 1, options.maxFrameBytes / 2)
          : rng.int(max + 1, max + 200);
      if (site) setAt(frame, site.path, randomText(rng, length));
      return json(frame);
    },
  ],
  [
    'deep-nesting',
    4,
    (rng, frame, seed) => {
      const site = rng.int(0, 3) === 0 ? undefined : memberSite(rng, frame, seed);
      const depth = rng.int(0, 4) === 0 ? rng.int(1000, MAX_DEPTH) : rng.int(2, 200);
      if (!site) return nested(rng, depth);
      setAt(frame, site.path, SPLICE);
      return json(frame).replace(JSON.stringify(SPLICE), nested(rng, depth));
    },
  ],
  [
    'bad-base64',
    6,
    (rng, frame, seed) => {
      const site = memberSite(
        rng,
        frame,
        seed,
        (s) => typeof s.value === 'string' && isBase64Member(s.node),
      );
      if (site) {
        const text = site.value as string;
        const at = rng.int(0, text.length);
        const replaced =
          rng.int(0, 4) === 0
            ? text.slice(0, text.length - (text.length % 4 === 0 ? 3 : 1)) + 'A'
            : text.slice(0, at) + pick(rng, NOT_BASE64) + text.slice(at);
        setAt(frame, site.path, replaced);
      }
      return json(frame);
    },
  ],
  [
    'broken-signal',
    6,
    (rng, frame) => {
      const messages = frame.messages;
      if (Array.isArray(messages) && messages.length > 0) {
        const m = pick(rng, messages) as JsonObject;
        if (rng.int(0, 4) === 0) m.type = m.type === 'prekey' ? 'whisper' : 'prekey';
        else if (typeof m.body === 'string') m.body = breakSignal(rng, m.body);
      }
      return json(frame);
    },
  ],
  [
    'bad-enum',
    3,
    (rng, frame, seed) => {
      const site = memberSite(
        rng,
        frame,
        seed,
        (s) => s.node?.enum !== undefined || s.node?.const !== undefined,
      );
      if (site)
        setAt(
          frame,
          site.path,
          pick(rng, ['', 'PREKEY', 'whisper ', 'all', rng.word(rng.int(1, 12))]),
        );
      return json(frame);
    },
  ],
  [
    'envelope',
    6,
    (rng, frame) => {
      switch (rng.int(0, 7)) {
        case 0:
          frame.v = pick(rng, [0, 2, '1', null, 1.5, -1, [1]] as Json[]);
          break;
        case 1:
          delete frame.v;
          break;
        case 2:
          frame.type = pick(rng, [
            '',
            'HELLO',
            'message',
            'error',
            'welcome',
            'x'.repeat(rng.int(1, 2000)),
            7,
            null,
          ] as Json[]);
          break;
        case 3:
          delete frame.type;
          break;
        case 4:
          frame.id = pick(rng, ['', 'x'.repeat(65), 'a b', 'é', 42, null] as Json[]);
          break;
        case 5:
          delete frame.id;
          break;
        case 6:
          frame.re = 'r1';
          break;
        default:
          return `${json(frame)}${pick(rng, ['', ' ', '\n', '{}', ',', 'x'])}`;
      }
      return json(frame);
    },
  ],
  [
    'type-swap',
    3,
    (rng, frame) => {
      frame.type = pick(rng, CLIENT_TYPES);
      return json(frame);
    },
  ],
  [
    'not-object',
    2,
    (rng) =>
      pick(rng, [
        '',
        ' ',
        'null',
        '[]',
        '[{"v":1}]',
        '1',
        '"hello"',
        'true',
        '{',
        '}',
        '{"v":1,}',
        "{'v':1}",
        'NaN',
        '\ufeff{}',
      ]),
  ],
];

/** Byte-level mutations of a serialised frame; mostly ASCII so that JSON, not UTF-8, is hit. */
function mutateBytes(rng: Rng, bytes: Buffer): Buffer {
  let out = Buffer.from(bytes);
  for (let k = rng.int(1, 8); k > 0; k--) {
    const at = rng.int(0, Math.max(0, out.length - 1));
    switch (rng.int(0, 4)) {
      case 0:
        if (out.length > 0) out[at] = out[at]! ^ (1 << rng.int(0, 6));
        break;
      case 1:
        out = Buffer.concat([
          out.subarray(0, at),
          Buffer.from(
            pick(rng, ['{', '}', '[', ']', '"', ':', ',', '\\', '0', 'e', '-', '.', ' ']),
          ),
          out.subarray(at),
        ]);
        break;
      case 2:
        out = Buffer.concat([
          out.subarray(0, at),
          out.subarray(Math.min(out.length, at + rng.int(1, 16))),
        ]);
        break;
      case 3:
        out = out.subarray(0, at);
        break;
      default:
        out = Buffer.concat([
          out.subarray(0, at),
          out.subarray(at, at + rng.int(1, 32)),
          out.subarray(at),
        ]);
    }
  }
  return out;
}

const BAD_UTF8: readonly number[][] = [
  [0xff],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0x80],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
  [0xfe, 0xfe],
];

function injectBadUtf8(rng: Rng, bytes: Buffer): Buffer {
  const at = rng.int(0, bytes.length);
  return Buffer.concat([
    bytes.subarray(0, at),
    Buffer.from(pick(rng, BAD_UTF8)),
    bytes.subarray(at),
  ]);
}

const TOTAL_WEIGHT = MUTATORS.reduce((sum, [, w]) => sum + w, 0);

/** The `index`-th input of the run with `seed`; ids are `f<index>` unless a mutator broke them. */
export function generate(
  seed: number,
  index: number,
  seeds: readonly Seed[],
  options: GeneratorOptions,
): FuzzInput {
  const rng = new Rng(`${seed}:${index}`);
  const layer = rng.int(0, 99);
  let roll = rng.uint32() % TOTAL_WEIGHT;
  const entry = MUTATORS.find(([, w]) => (roll -= w) < 0)!;
  // Broken Signal bodies only exist in message.send; every other mutator takes any seed.
  const s =
    layer >= 20 && entry[0] === 'broken-signal'
      ? (seeds.find((x) => x.type === 'message.send') ?? pick(rng, seeds))
      : pick(rng, seeds);
  const frame = clone(pick(rng, s.examples));
  frame.id = `f${index}`;
  // The driver registers the examples' alice with device 1 only: a send to that one device gets
  // past the device check to the Signal body checks.
  if (Array.isArray(frame.messages) && rng.int(0, 1) === 0)
    frame.messages = frame.messages.slice(0, 1);
  let mutator: string;
  let payload: Buffer;
  let binary = false;
  if (layer < 4) {
    mutator = 'binary';
    binary = true;
    payload =
      rng.int(0, 1) === 0
        ? Buffer.from(json(frame))
        : Buffer.from(Array.from({ length: rng.int(0, 512) }, () => rng.int(0, 255)));
  } else if (layer < 7) {
    mutator = 'invalid-utf8';
    payload = injectBadUtf8(rng, Buffer.from(json(frame)));
  } else if (layer < 8) {
    mutator = 'oversize';
    const filler = options.maxFrameBytes + rng.int(1, 4096);
    payload = Buffer.from(json({ ...frame, pad: 'A'.repeat(filler) }));
  } else if (layer < 20) {
    mutator = 'bytes';
    payload = mutateBytes(rng, Buffer.from(json(frame)));
  } else {
    mutator = entry[0];
    const out = entry[2](rng, frame, s, options);
    payload = typeof out === 'string' ? Buffer.from(out, 'utf8') : out;
  }
  const split = rng.int(0, 99);
  const fragments = split < 2 ? rng.int(200, MAX_FRAGMENTS) : split < 10 ? rng.int(2, 16) : 1;
  return {
    index,
    mutator,
    seedType: s.type,
    payload,
    binary,
    fragments: Math.max(1, Math.min(fragments, payload.length)),
  };
}

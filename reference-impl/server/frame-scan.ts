/**
 * The structural scan of a text frame before it is parsed (spec/framing.md PROTO-048): nesting
 * depth and the count of array elements and object members, read from the raw bytes in one pass
 * that skips string contents with a native search. A frame of a million `[` or `{}` costs
 * `JSON.parse` seconds of the main thread; the scan refuses it after a few kilobytes.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;

/** Whitespace that JSON allows between tokens (RFC 8259 section 2). */
function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Which structural limit a frame passed. */
export type StructureFault = 'depth' | 'elements';

/**
 * Scans `bytes` (a frame's UTF-8 text) and says which limit it passes first, or undefined. The
 * scan does not validate JSON: text that is not JSON goes on to the parser and its BAD_JSON. It
 * counts what a parser would build: one per array element and object member, at every level.
 */
export function scanStructure(
  bytes: Uint8Array,
  maxDepth: number,
  maxElements: number,
): StructureFault | undefined {
  const buf = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let depth = 0;
  let elements = 0;
  /** Just after `[` or `{`: the next token, unless it closes the container, is its first element. */
  let afterOpen = false;
  const end = buf.length;
  for (let i = 0; i < end; i += 1) {
    const byte = buf[i]!;
    if (isSpace(byte)) continue;
    if (afterOpen) {
      afterOpen = false;
      if (byte !== CLOSE_ARRAY && byte !== CLOSE_OBJECT && ++elements > maxElements)
        return 'elements';
    }
    switch (byte) {
      case QUOTE: {
        // The closing quote is the next one not escaped by an odd run of backslashes.
        let close = buf.indexOf(QUOTE, i + 1);
        while (close !== -1) {
          let slashes = 0;
          while (buf[close - 1 - slashes] === BACKSLASH) slashes += 1;
          if (slashes % 2 === 0) break;
          close = buf.indexOf(QUOTE, close + 1);
        }
        if (close === -1) return undefined; // an unterminated string: the parser's BAD_JSON
        i = close;
        break;
      }
      case OPEN_ARRAY:
      case OPEN_OBJECT:
        if (++depth > maxDepth) return 'depth';
        afterOpen = true;
        break;
      case CLOSE_ARRAY:
      case CLOSE_OBJECT:
        depth -= 1;
        break;
      case COMMA:
        if (depth > 0 && ++elements > maxElements) return 'elements';
        break;
      default:
        break;
    }
  }
  return undefined;
}

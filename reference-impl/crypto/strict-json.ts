// The strict JSON readers shared by the persisted crypto records (the session record, its SPQR
// part, the sender-key record): exact members, bounded lists and integers, canonical base64url.
// Each record throws its own error type, with the path of the offending member.

export type Json = Record<string, unknown>;

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

/** The readers of one record format. */
export interface StrictJson {
  /** Throws the record's error naming `path`; give it an explicit type where it is used, so that TypeScript narrows after it. */
  fail(path: string, why: string): never;
  object(value: unknown, path: string, keys: readonly string[]): Json;
  array(value: unknown, path: string, max: number): unknown[];
  uint(value: unknown, path: string, max?: number): number;
  bytes(value: unknown, path: string, length: number): Uint8Array;
}

/** The readers of one record format, throwing `error(\`${path}: ${why}\`)` on anything else. */
export function strictJson(error: (message: string) => Error): StrictJson {
  function fail(path: string, why: string): never {
    throw error(`${path}: ${why}`);
  }

  /** An object with exactly the members `keys`. */
  function object(value: unknown, path: string, keys: readonly string[]): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      fail(path, 'not an object');
    const actual = Object.keys(value).sort();
    const expected = [...keys].sort();
    if (actual.length !== expected.length || actual.some((key, i) => key !== expected[i]))
      fail(path, `members must be exactly ${expected.join(', ')}`);
    return value as Json;
  }

  /** An array of at most `max` entries. */
  function array(value: unknown, path: string, max: number): unknown[] {
    if (!Array.isArray(value)) fail(path, 'not an array');
    if (value.length > max) fail(path, `more than ${max} entries`);
    return value;
  }

  /** An integer in 0..max. */
  function uint(value: unknown, path: string, max = 0xffff_ffff): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
      fail(path, `not an integer in 0..${max}`);
    return value;
  }

  /** Exactly `length` bytes in canonical base64url. */
  function bytes(value: unknown, path: string, length: number): Uint8Array {
    if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(value)) fail(path, 'not base64url');
    const out = new Uint8Array(Buffer.from(value, 'base64url'));
    if (out.length !== length || b64(out) !== value) fail(path, `not ${length} canonical bytes`);
    return out;
  }

  return { fail, object, array, uint, bytes };
}

// The pure layer of the conformance assertions (STYLE.md point 4): predicates that describe how a
// value differs from what a requirement expects, returning a Mismatch or undefined.

/** How a value differs from what was expected; both sides are printed beside the requirement. */
export interface Mismatch {
  expected: string;
  actual: string;
}

/** A frame as received: any JSON object. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = Record<string, any>;

/** A predicate over a value: undefined when it holds, a Mismatch when it does not. */
export type Matcher<T = Frame> = (value: T) => Mismatch | undefined;

/**
 * The canonical JSON text of a value: members of every object in code-point order, no whitespace.
 * JSON is compared by value only (member order and whitespace never matter): through `sameJson`.
 */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (typeof v !== 'object' || v === null) return v;
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, sort(o[k])]),
    );
  };
  return JSON.stringify(sort(value)) ?? 'undefined';
}

/** Two JSON values are equal by value: the same members (in any order) and array items in order. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** A short JSON rendering of a frame for `actual`. */
export function show(value: unknown, max = 300): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

/** The frame's `type` is `type`. */
export function isType(type: string): Matcher {
  return (f) => (f?.type === type ? undefined : { expected: `a ${type} frame`, actual: show(f) });
}

/** The frame is an `error` carrying `code` (and, when given, `pointer`). */
export function isError(code: string, pointer?: string): Matcher {
  return (f) => {
    const expected = `an error frame with code ${code}${pointer === undefined ? '' : ` and pointer ${pointer}`}`;
    if (f?.type !== 'error' || f.code !== code) return { expected, actual: show(f) };
    if (pointer !== undefined && f.pointer !== pointer) return { expected, actual: show(f) };
    return undefined;
  };
}

/** The frame is a reply (not an `error`) of `type` whose members equal those of `members`. */
export function hasMembers(type: string, members: Frame): Matcher {
  return (f) => {
    const expected = `a ${type} frame with ${JSON.stringify(members)}`;
    if (f?.type !== type) return { expected, actual: show(f) };
    for (const [k, v] of Object.entries(members))
      if (!sameJson(f[k], v)) return { expected, actual: show(f) };
    return undefined;
  };
}

/** Two values are equal as JSON, by value (member order never matters). */
export function equals<T>(expected: T, what = 'value'): Matcher<T> {
  return (actual) =>
    sameJson(actual, expected)
      ? undefined
      : { expected: `${what} ${show(expected)}`, actual: show(actual) };
}

/** A boolean fact: `holds` true, else the mismatch given. */
export function that(holds: boolean, expected: string, actual: unknown): Mismatch | undefined {
  return holds ? undefined : { expected, actual: show(actual) };
}

/** All matchers hold; the first mismatch wins. */
export function allOf<T>(...matchers: Matcher<T>[]): Matcher<T> {
  return (value) => {
    for (const m of matchers) {
      const mismatch = m(value);
      if (mismatch) return mismatch;
    }
    return undefined;
  };
}

/** Two error frames are identical apart from `re` (the no-existence-oracle rule, CONSENT-006). */
export function sameErrorApartFromRe(reference: Frame): Matcher {
  const strip = (f: Frame): string => {
    const rest: Frame = { ...(f ?? {}) };
    delete rest.re;
    return canonicalJson(rest);
  };
  return (f) =>
    strip(f) === strip(reference)
      ? undefined
      : { expected: `the same frame as ${show(reference)} apart from re`, actual: show(f) };
}

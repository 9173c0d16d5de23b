// The frame transcript of one case: every frame sent and received by its peers, in order, with
// secrets redacted (registration tokens, partner JWTs, device proofs; private keys are never sent).

/** One line of a transcript. */
export interface TranscriptEntry {
  /** Milliseconds since the case started. */
  t: number;
  /** The peer's label (`alice`, `probe`). */
  peer: string;
  dir: 'sent' | 'received' | 'event';
  /** The frame after redaction, or raw text when it is not a JSON object. */
  frame?: unknown;
  text?: string;
}

/** What replaces a redacted value. */
export const REDACTED = '«redacted»';

const SECRET_MEMBERS = new Set(['registrationToken', 'token', 'uploadToken']);
const MAX_TEXT = 2048;

/** A copy of `frame` with its secrets replaced; the device proof of `auth` too. */
export function redact(frame: unknown): unknown {
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return frame;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(frame as Record<string, unknown>)) {
    const secret =
      SECRET_MEMBERS.has(key) ||
      (key === 'signature' && (frame as Record<string, unknown>).type === 'auth');
    out[key] = secret && typeof value === 'string' ? REDACTED : value;
  }
  return out;
}

const MAX_VALUE = 256;

/** A copy with every string longer than MAX_VALUE shortened (ciphertext bodies, padding). */
export function shorten(value: unknown): unknown {
  if (typeof value === 'string')
    return value.length > MAX_VALUE ? `${value.slice(0, 64)}… (${value.length} chars)` : value;
  if (Array.isArray(value)) return value.map(shorten);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shorten(v)]));
  return value;
}

/** Shortens long raw text (oversize frames) to a summary that keeps the transcript small. */
export function summarise(text: string): string {
  return text.length > MAX_TEXT
    ? `${text.slice(0, 200)}… (${Buffer.byteLength(text)} bytes)`
    : text;
}

/** Collects the entries of one case; peers append to it. */
export class Transcript {
  readonly entries: TranscriptEntry[] = [];
  private readonly started = Date.now();
  private readonly secrets: string[] = [];

  /** Registers a secret string (the registration token) that must never appear verbatim. */
  addSecret(secret: string): void {
    if (secret.length >= 4) this.secrets.push(secret);
  }

  record(peer: string, dir: TranscriptEntry['dir'], content: unknown): void {
    const entry: TranscriptEntry = { t: Date.now() - this.started, peer, dir };
    if (typeof content === 'string') entry.text = this.scrub(summarise(content));
    else entry.frame = JSON.parse(this.scrub(JSON.stringify(shorten(redact(content))))) as unknown;
    this.entries.push(entry);
  }

  private scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join(REDACTED);
    // Compact JWS anywhere (e.g. inside raw hostile frames).
    return out.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, REDACTED);
  }
}

/**
 * One client paired with its own upstream connection (spec/proxy.md "The proxy's side"): every
 * WebSocket message forwarded byte for byte, text as text and binary as binary, in order; a close
 * on either side closes the other with the same code; nothing is kept once either side is gone.
 */
import WebSocket from 'ws';

/**
 * Bytes one direction may have handed to the other socket and not yet written before the proxy
 * stops reading the sender (its TCP buffers then hold the rest): two of the provider's largest
 * frames, so one frame in flight never pauses a link, and a bound on what a slow reader costs.
 */
export const HIGH_WATER_BYTES = 8 * 1024 * 1024;
/** Reading resumes once the pending bytes fall to this. */
export const LOW_WATER_BYTES = 2 * 1024 * 1024;
/** How long the other side has to finish the closing handshake before its socket is dropped. */
export const CLOSE_GRACE_MS = 2000;

/** Whether RFC 6455 lets an endpoint send `code` in a close frame (as ws checks it). */
export function sendableCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/**
 * What a broken variant changes (faults.ts); a real proxy passes none: `rewrite` changes a client's
 * message, `orphan` takes what arrives for a client that left, `keepUpstream` leaves the upstream
 * open when the client goes.
 */
export interface RelayFaults {
  readonly rewrite?: (data: Buffer, isBinary: boolean) => Buffer;
  readonly orphan?: (data: Buffer, isBinary: boolean) => void;
  readonly keepUpstream?: boolean;
}

/** Forwards `from`'s messages to `to`, pausing `from` while `to` has too much unwritten. */
function forward(
  from: WebSocket,
  to: WebSocket,
  rewrite?: RelayFaults['rewrite'],
  orphan?: RelayFaults['orphan'],
): void {
  let pending = 0;
  let paused = false;
  from.on('message', (raw: Buffer, isBinary: boolean) => {
    // The other side is gone or going: the message is dropped, not kept for anyone.
    if (to.readyState !== WebSocket.OPEN) {
      orphan?.(raw, isBinary);
      return;
    }
    const data = rewrite ? rewrite(raw, isBinary) : raw;
    const size = data.length;
    pending += size;
    to.send(data, { binary: isBinary, compress: false }, () => {
      pending -= size;
      if (paused && pending <= LOW_WATER_BYTES) {
        paused = false;
        if (from.readyState === WebSocket.OPEN) from.resume();
      }
    });
    if (!paused && pending > HIGH_WATER_BYTES) {
      paused = true;
      from.pause();
    }
  });
}

/** Closes `other` as `code` closed its partner: the same code, no code (1005), or a drop (1006). */
function closeLike(other: WebSocket, code: number, reason: Buffer): void {
  if (other.readyState === WebSocket.CLOSED) return;
  if (other.readyState === WebSocket.CONNECTING || code === 1006) {
    other.terminate();
    return;
  }
  if (sendableCloseCode(code)) other.close(code, reason.subarray(0, 123));
  else other.close();
  setTimeout(() => other.terminate(), CLOSE_GRACE_MS).unref();
}

/** Pairs `client` with `upstream` for their common lifetime. */
export function relay(client: WebSocket, upstream: WebSocket, faults: RelayFaults = {}): void {
  forward(client, upstream, faults.rewrite);
  forward(upstream, client, undefined, faults.orphan);
  client.on('close', (code, reason) => {
    if (!faults.keepUpstream) closeLike(upstream, code, reason);
  });
  upstream.on('close', (code, reason) => closeLike(client, code, reason));
  // 'close' follows every error; a socket error says nothing the other side needs.
  client.on('error', () => undefined);
  upstream.on('error', () => undefined);
}

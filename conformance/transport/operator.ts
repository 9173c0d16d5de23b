// Operator hooks: what only the operator of a target can do (restart it, move its clock, state its
// unadvertised quota and first-party limits). The embedded target implements every hook; a remote
// target has those its operator driver offers (`--operator-cmd`, conformance/operator/), and the
// cases that need another one skip with the reason (conformance/README.md).
import { SkipCase } from '../runner/signals.ts';

/** Attachment limits the operator applies outside Parley (ATT-013), as `welcome.limits.attachments`. */
export type AttachmentLimits = Readonly<Record<'image' | 'video' | 'audio' | 'document', number>>;

/**
 * Bounds a provider applies to abusive peers (PROTO-045, PROTO-046), as an operator may set them.
 * `maxConnectionsPerAddress` counts the suite's own address too (no loopback exemption).
 */
export interface PeerBounds {
  /** Unsent bytes a connection may hold before the provider closes it with 1008. */
  readonly maxSendBufferBytes: number;
  /** How long a connection may stay congested before the provider closes it with 1008. */
  readonly maxSendStallMs: number;
  /** Connections one client address may hold open at once; the next upgrade gets 429. */
  readonly maxConnectionsPerAddress: number;
  /**
   * Bytes of frames the provider reads from one connection at once (`burst`) and then per minute
   * (`perMinute`) before it stops reading from it until the budget refills (PROTO-049).
   */
  readonly bytesPerConnection: { readonly burst: number; readonly perMinute: number };
  /** The authentication window the provider advertises and applies (AUTH-031), in seconds. */
  readonly authWindowSeconds: number;
  /** Characters of base64url bodies one device's queue holds before sends are refused (DELIV-032). */
  readonly maxQueuedBytesPerDevice: number;
}

/** The hooks a target's operator may offer; each is optional. */
export interface Operator {
  /**
   * Stops the provider as an operator would (PROTO-036: UNAVAILABLE and close 1012 on every open
   * connection) and starts it again on the same store and URL; resolves once it accepts connections.
   */
  restart?(): Promise<void>;
  /**
   * Moves the target's clock `ms` ahead of real time (0 puts it back) and resolves once the target
   * has swept what expired by then (queue entries, blobs). Only exclusive cases move the clock, and
   * they put it back; a target may restart to do so (open connections then close with 1012).
   */
  setClockAhead?(ms: number): Promise<void>;
  /**
   * True when `setClockAhead` restarts the target even to move the clock ahead, so no connection
   * lives through the move (a case that needs one, AUTH-004's stale challenge, cannot use it).
   */
  clockAheadRestarts?: boolean;
  /**
   * Applies `bounds` to the target (undefined puts its own back) and resolves once it accepts
   * connections again. Only exclusive cases call it, and they put the bounds back; a target may
   * restart to apply them (open connections then close with 1012).
   */
  setPeerBounds?(bounds: Partial<PeerBounds> | undefined): Promise<void>;
  /** The per-user attachment quota in bytes (ATT-016): `welcome` does not advertise it. */
  attachmentQuotaBytes?: number;
  /** The attachment limits the provider's own first-party clients get outside Parley (ATT-013). */
  firstPartyAttachmentLimits?: AttachmentLimits;
  /**
   * The addresses the operator enlisted the suite's proxy from (spec/proxy.md#enlistment), so that
   * a case can speak as that proxy from another loopback address (PROXY-002).
   */
  proxySources?: readonly string[];
  /**
   * The `maxConnections` the operator enlisted the suite's proxy with (spec/proxy.md#enlistment),
   * so that a case can fill it and see the next upgrade refused (PROXY-005).
   */
  proxyMaxConnections?: number;
}

const operators = new Map<string, Operator>();

/**
 * Makes `operator` the hooks of the target at `url` (the embedded target registers itself; a
 * remote target's come from its `--operator-cmd` driver).
 */
export function registerOperator(url: string, operator: Operator): void {
  operators.set(url, operator);
}

/** Forgets the hooks of the target at `url` once it is stopped. */
export function unregisterOperator(url: string): void {
  operators.delete(url);
}

/** The hooks registered for the target at `url`; none for a remote target without a driver. */
export function operatorFor(url: string): Operator {
  return operators.get(url) ?? {};
}

/**
 * The hook `name` of the target's operator; ends the case as skipped, naming the hook and `why` it
 * is needed, when the target offers none.
 */
export function operatorHook<K extends keyof Operator>(
  operator: Operator | undefined,
  name: K,
  why: string,
): NonNullable<Operator[K]> {
  const hook = operator?.[name];
  if (hook === undefined)
    throw new SkipCase(
      `needs the operator hook ${name} (${why}); the target's operator offers none (--operator-cmd, conformance/README.md#operator-hooks)`,
    );
  return hook as NonNullable<Operator[K]>;
}

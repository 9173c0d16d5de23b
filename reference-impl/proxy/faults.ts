/**
 * Fault injection for the suite's self-test of proxies ("red against broken variants"): named faults
 * of the reference proxy that each break one PROXY requirement of the proxy's side. Off unless
 * passed to `startProxy` in code; `parley proxy` has no flag for them.
 */

/** Every fault, with the requirement it breaks in one line. */
export const PROXY_FAULTS = {
  'rewrite-ciphertext':
    'PROXY-023: text messages of clients are parsed and re-serialised, so a frame carrying a ciphertext reaches the provider with other bytes',
  'pool-upstream': 'PROXY-020: every client shares the first open upstream connection',
  'keep-upstream-open':
    'PROXY-021: a client’s upstream connection stays open after the client left',
  'drop-client-address': 'PROXY-025: proxy tokens carry no addr',
  'buffer-after-close':
    'PROXY-027: messages that arrive for a client that left are kept and handed to the next connection of the same login',
  'invent-frames': 'PROXY-024: the proxy sends a Parley ping upstream every 200 ms on its own',
  'drop-login-sub': 'PROXY-028: upstream proxy tokens do not name the user the client logged in as',
  'swallow-refusal':
    'PROXY-026: a refused upstream upgrade is answered 502 with the proxy’s own body',
} as const satisfies Record<string, string>;

/** A named fault of the reference proxy. */
export type ProxyFault = keyof typeof PROXY_FAULTS;

/** The requirement ID a fault breaks: the head of its description. */
export function proxyRequirementOf(fault: ProxyFault): string {
  return PROXY_FAULTS[fault].slice(0, PROXY_FAULTS[fault].indexOf(':'));
}

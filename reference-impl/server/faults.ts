/**
 * Fault injection for the conformance suite's self-test ("red against broken variants"): named
 * faults that each break exactly one MUST (or SHOULD) of the spec. Off unless passed to
 * `startProvider` in code; never reachable from `parley serve`'s flags or config file. Never enable
 * one in production.
 */
import type { ServerLimits } from './limits.ts';
import type { EnlistedProxy, ProxyChecks } from './proxies.ts';

/** Every fault, with what it breaks (the requirement ID) in one line. */
export const FAULTS = {
  'type-before-v': 'PROTO-044: a frame without v is judged on its type and session state first',
  'accept-plaintext': 'ENC-034: a body that is not a Signal message is accepted and queued',
  'foreign-prekey-identity':
    'ENC-035: a prekey message under another identity than the sender device’s is accepted',
  'serve-prekey-twice': 'KEYS-012: a claimed one-time prekey is put back and handed out again',
  'ignore-consent':
    'CONSENT-005: third-party sends and claims reach local users who have not opted in',
  'reveal-nonexistence':
    'CONSENT-006: an unknown address is refused with another message than a non-consenting user',
  'spoofable-origin':
    'CONSENT-010: messages from partner sessions are stamped first-party (origin of the provider)',
  'redeliver-acked': 'DELIV-025: message.ack counts the deliveries but does not delete them',
  'skip-device-check': 'DELIV-002: a send that does not match the recipient’s devices is accepted',
  'skip-size-check': 'DELIV-005: a body longer than maxMessageBytes is accepted',
  'accept-bad-prekey-signature':
    'KEYS-001: keys.publish stores a signed prekey whose signature does not verify',
  'skip-identity-check': 'KEYS-003: keys.publish under another identity key is accepted',
  'accept-forged-device-proof':
    'AUTH-006: a device auth for a known device is accepted whatever its signature',
  'accept-expired-token': 'AUTH-015: a partner token whose exp lies in the past is accepted',
  'accept-wrong-audience': 'AUTH-012: a partner token for another provider’s domain is accepted',
  'ignore-block': 'CONSENT-019: messages from a blocked sender are still delivered',
  'skip-digest-check':
    'ATT-021: an upload whose SHA-256 differs from the slot’s digest is stored and downloadable',
  'timing-oracle':
    'CONSENT-007: a refusal for lack of consent takes 50 ms longer than one for an unknown address',
  'accept-replayed-token': 'AUTH-017: a partner token is accepted again with the same iss and jti',
  'accept-stale-challenge':
    'AUTH-004: an auth more than 60 seconds after its welcome is accepted (no challenge lifetime)',
  'skip-kyber-signature':
    'KEYS-002: keys.publish stores a Kyber prekey whose signature does not verify',
  'serve-kyber-prekey-twice':
    'KEYS-029: a claimed one-time Kyber prekey is put back and handed out again',
  'last-resort-kyber-first':
    'KEYS-028: the last-resort Kyber prekey is served while one-time Kyber prekeys are left',
  'number-devices-upward':
    'AUTH-032: device.add numbers devices upward, never reusing a removed id, so ids pass 127',
  'consume-last-resort-kyber':
    'KEYS-030: handing out the last-resort Kyber prekey deletes it, so later claims find none',
  'low-ignores-kyber':
    'KEYS-031: keys.low is pushed on the one-time prekey count alone, never on the Kyber count',
  'untyped-legacy-refusal':
    'ENC-057: an X3DH (version 3) body is refused with NOT_SIGNAL_CIPHERTEXT, not LEGACY_SIGNAL_VERSION',
  'ignore-signature-high-bits':
    'ENC-007: signatures are verified with bits 6 and 5 of byte 63 cleared instead of refused',
  'accept-untyped-prekey-signature':
    'ENC-008: a signed prekey signature over the key without its 0x05 type byte is accepted too',
  'ignore-quota': 'ATT-016: attachment.slot never checks the owner’s attachment quota',
  'serve-expired-blob': 'ATT-032: expired blobs are never swept and are still served for download',
  'count-expired-quota':
    'ATT-033: expired blobs are never swept and keep counting against the owner’s quota',
  'deliver-expired': 'DELIV-028: queued messages past queueTtlSeconds are kept and delivered',
  'no-send-buffer-bound':
    'PROTO-045: a connection whose client does not read is never closed; its unsent frames pile up',
  'no-connection-limit':
    'PROTO-046: WebSocket upgrades are never refused, however many connections one address opens',
  'idle-close-early': 'PROTO-028: a connection silent for one second is closed for idleness',
  'full-frame-limit-before-auth':
    'PROTO-047: before auth.ok, frames up to maxFrameBytes are read, not only up to maxUnauthenticatedFrameBytes',
  'parse-before-scan':
    'PROTO-048: frames are parsed however deep they nest and however many elements they hold',
  'rate-limit-reveals-block':
    'CONSENT-022: sends to a user who blocked the sender each count as a new request, sends to one whose request waits do not',
  'claims-limited-per-claimer-only':
    'KEYS-033: keys.claim is limited per claiming account and platform only, so many accounts of one platform drain a pool',
  'requests-limited-per-sender-only':
    'CONSENT-033: messages from unaccepted senders are limited per sender only, so minted senders fill a user’s requests',
  'slot-bytes-per-user-only':
    'ATT-034: attachment.slot counts only each user’s quota, so minted users of one platform reserve without end',
  'unlimited-writes':
    'PROTO-050: block.set, report and the other writing frames are never rate-limited',
  'token-spent-only-on-success':
    'AUTH-029: a partner token first presented with a bad device proof is not spent and works again',
  'unlimited-registration-guesses':
    'AUTH-030: account.register answers every wrong registration token, however many one connection tries',
  'no-read-budget':
    'PROTO-049: a connection is read from as fast as its frames arrive, whatever they cost',
  'unbounded-queue':
    'DELIV-032: a device’s queue takes every send, however many bytes and messages wait in it',
  'members-act-as-admins':
    'GROUP-011: group.add, group.remove and group.role from a member who is not an admin are carried out',
  'group-add-reveals-consent':
    'GROUP-021: an addition refused for consent carries another message than one for an unknown address',
  'third-party-adds-directly':
    'GROUP-020: a third-party user adds a first-party user who has not accepted them as a member, without an invitation',
  'no-invitation-push':
    'GROUP-025: an invitation is filed in requests.list but nothing is pushed to the invitee’s devices',
  'accept-non-member-send': 'GROUP-042: message.send to a group from a non-member is fanned out',
  'deliver-to-removed':
    'GROUP-043: a removed member stays in the fan-out and receives messages sent after the removal',
  'fan-out-first-device-only':
    'GROUP-041: a group message is queued for the first device of each member only',
  'unlimited-group-additions':
    'GROUP-033: third-party users add addresses to groups without any rate limit',
  'accept-non-sender-key':
    'GROUP-045: a group message body that is not a SenderKeyMessage is accepted and fanned out',
  'group-changes-to-actor-only':
    'GROUP-013: group.changed is queued for the devices of the member who made the change only',
  'skip-group-version-check':
    'GROUP-044: a group send for a version other than the current one is accepted and fanned out',
  'no-group-size-limit':
    'GROUP-031: group.add takes a group past the advertised limits.maxGroupMembers',
  'decline-reveals':
    'GROUP-022: a declined invitation disappears from the group, telling its members of the decline',
  'distribution-to-non-members':
    'GROUP-046: a distribution entry for an address that is not a member is accepted',
  'partners-never-claim':
    'GROUP-047: partner users of one group cannot claim each other’s keys, so they cannot share sender keys',
  'no-admin-heir':
    'GROUP-015: when the last admin leaves, nobody becomes an admin and the group can never change again',
  'refuse-group-leave': 'GROUP-014: group.leave is refused with FORBIDDEN, so members cannot leave',
  'group-folder-inbox':
    'GROUP-024: group messages are filed in the inbox even when the group has a partner platform’s member',
  'group-create-not-idempotent':
    'GROUP-061: a repeated group.create creates a new group each time, whatever its idempotency key',
  'unbounded-group-queue':
    'GROUP-062: a group message is queued for every member device, however many bytes and messages wait in its queue',
  'groups-start-at-version-2':
    'GROUP-001: group.create answers a new group at version 2, every later version one higher than the spec’s',
  'group-get-members-only': 'GROUP-003: group.get lists the members but leaves out the invitations',
  'group-get-reveals-membership':
    'GROUP-004: group.get of an existing group from a non-member is refused with another message than for an unknown group',
  'group-adds-skip-partners':
    'GROUP-010: group.create and group.add leave out the partner platforms’ users they name',
  'role-change-counts-twice':
    'GROUP-012: a role change takes the group’s version up by two, as two changes',
  'deliver-to-invitees':
    'GROUP-023: group messages are fanned out to pending and declined invitees as to members',
  'no-group-size-advertised':
    'GROUP-030: welcome advertises capability groups without limits.maxGroupMembers',
  'group-sends-not-idempotent':
    'GROUP-040: a group send retried with its idempotency key is stored and fanned out again as a new message',
  'group-fan-out-ignores-consent':
    'GROUP-048: a third-party sender’s group messages reach first-party members whose interop settings do not allow its platform',
  'undistributed-devices-accepted':
    'GROUP-052: a group send is accepted although a member device never had the sending device’s sender key',
  'auth-window-ignored':
    'AUTH-031: a connection that never authenticates stays open past the advertised authWindowSeconds',
  'proxy-key-unchecked':
    'PROXY-001: a proxy token is accepted without checking its signature, so any key speaks for an enlisted proxy',
  'proxy-any-source':
    'PROXY-002: a valid proxy token is accepted from any address, not only the proxy’s enlisted ones',
  'proxy-token-replay': 'PROXY-003: a proxy token is accepted again with the same iss and jti',
  'proxy-counted-at-proxy':
    'PROXY-004: connections through a proxy count under the proxy’s own address, so one client’s share is the whole platform’s',
  'proxy-login-ignored':
    'PROXY-007: a connection whose proxy token names a sub authenticates any user of the platform',
  'unbounded-proxy-connections':
    'PROXY-005: an enlisted proxy may hold any number of connections open, whatever its maxConnections',
  'proxy-carries-any-user':
    'PROXY-006: a connection through a proxy may authenticate any user, first-party ones included',
  'accept-identity-key-proof':
    'AUTH-033: a device auth signed by the account’s identity key is accepted as well as one by the device key',
  'forget-removed-device-keys':
    'AUTH-034: device.add refuses the keys of current devices and the identity key, but takes a removed device’s key again',
  'removed-device-stays-connected':
    'AUTH-035: device.remove leaves the removed device’s open connections working',
  'reused-id-keeps-removed-key':
    'AUTH-036: a device added under a removed device’s id keeps the removed device’s key, which signs in again',
  'ignore-token-binding':
    'AUTH-037: a partner token is accepted with any identity key, whatever its cnf.jkt names',
  'partner-session-outlives-token':
    'AUTH-038: a partner session stays open after the exp of the token it was authenticated with',
} as const satisfies Record<string, string>;

/** The proxy-token checks a broken variant leaves out (PROXY-001..003 and 007, proxies.ts). */
export function proxyChecksWithFaults(faults: readonly Fault[]): ProxyChecks {
  return {
    signature: !faults.includes('proxy-key-unchecked'),
    source: !faults.includes('proxy-any-source'),
    replay: !faults.includes('proxy-token-replay'),
    user: !faults.includes('proxy-login-ignored'),
  };
}

/**
 * The enlisted proxies of a broken variant: `unbounded-proxy-connections` lifts every proxy's
 * `maxConnections` (PROXY-005), so that the registry carries no branch for it.
 */
export function proxiesWithFaults(
  proxies: readonly EnlistedProxy[],
  faults: readonly Fault[],
): readonly EnlistedProxy[] {
  if (!faults.includes('unbounded-proxy-connections')) return proxies;
  return proxies.map((p) => ({ ...p, maxConnections: Number.POSITIVE_INFINITY }));
}

/**
 * The limits of a broken variant whose fault is a matter of limits only, so that the production
 * code carries no branch for it: `no-read-budget` lifts the per-connection read budget (PROTO-049),
 * `unbounded-queue` the bound of a device's queue (DELIV-032), `no-group-size-advertised` leaves
 * `limits.maxGroupMembers` out of `welcome` (GROUP-030).
 */
export function limitsWithFaults(limits: ServerLimits, faults: readonly Fault[]): ServerLimits {
  if (faults.includes('no-group-size-advertised')) {
    const advertised = { ...limits.advertised };
    delete advertised.maxGroupMembers;
    limits = { ...limits, advertised };
  }
  if (faults.includes('unbounded-queue'))
    limits = {
      ...limits,
      queuePerDevice: {
        maxBytes: Number.POSITIVE_INFINITY,
        maxMessages: Number.POSITIVE_INFINITY,
      },
    };
  if (!faults.includes('no-read-budget')) return limits;
  const unlimited = { burst: Number.POSITIVE_INFINITY, perMinute: Number.POSITIVE_INFINITY };
  return {
    ...limits,
    peers: {
      ...limits.peers,
      bytesPerConnection: unlimited,
      readMsPerConnection: unlimited,
      bytesBeforeAuth: unlimited,
    },
  };
}

/** A named fault of the reference provider (see FAULTS). */
export type Fault = keyof typeof FAULTS;

/** The requirement ID a fault breaks: the head of its description. */
export function requirementOf(fault: Fault): string {
  return FAULTS[fault].slice(0, FAULTS[fault].indexOf(':'));
}

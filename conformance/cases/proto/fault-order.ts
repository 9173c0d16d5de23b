// PROTO-030 of spec/framing.md#faulty-frames: a frame with two faults is answered with the error of
// the one that comes first in the order binary, size, JSON, `v`, `type`, session state, schema,
// then the frame's own rules. Each frame below carries two adjacent faults of that order.
import type { Frame } from '../../assert/match.ts';
import { isError } from '../../assert/match.ts';
import { mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';
import type { Peer } from '../../transport/peer.ts';

/** Waits for the error the target sends next on `peer`. */
function nextError(peer: Peer): Promise<Frame> {
  return peer.next((f: Frame) => f.type === 'error', undefined, 'an error frame');
}

export const faultOrderCases = [
  defineCase({
    id: 'PROTO-030-first-fault-reported',
    title:
      'frames with two faults each get the error of the earlier check: size before JSON, v before type, type before state, state before schema, schema before own rules',
    requirements: ['PROTO-030'],
    level: 'MUST',
    quote:
      "When a frame has several faults, the provider MUST report the first in this order: binary frame, frame size, structure (PROTO-048), JSON, `v`, `type`, session state, schema, then the frame's own rules.",
    sends:
      'oversize non-JSON text; v 2 with an unknown type; unknown type before hello; message.send with an extra member before auth; keys.claim of an unknown address with an extra member',
    exclusive: true,
    timeoutMs: 8000,
    async run({ target, world }) {
      const max = target.welcome.limits?.maxFrameBytes as number;
      const big = await world.raw('big');
      big.raw('{'.repeat(max + 1), `${max + 1} bytes of "{" (too large and not JSON)`);
      mustMatch('PROTO-030', await nextError(big), isError('FRAME_TOO_LARGE'), 'size before JSON');

      const versioned = await world.greeted('eve');
      versioned.peer.send({ v: 2, type: 'no.such.type', id: 'e.1' });
      mustMatch(
        'PROTO-030',
        await nextError(versioned.peer),
        isError('UNSUPPORTED_VERSION'),
        'v before type',
      );

      const { peer } = await world.greeted('mallory');

      const fresh = await world.raw('fresh');
      fresh.send({ v: 1, type: 'no.such.type', id: 'f.1' });
      mustMatch(
        'PROTO-030',
        await nextError(fresh),
        isError('UNKNOWN_TYPE'),
        'type before session state',
      );

      peer.send({ v: 1, type: 'message.send', id: 'm.2', bogus: true });
      mustMatch(
        'PROTO-030',
        await nextError(peer),
        isError('NOT_AUTHENTICATED'),
        'session state before schema',
      );

      const alice = await world.firstParty('alice', { preKeys: 0 });
      alice.peer.send({
        v: 1,
        type: 'keys.claim',
        id: 'a.1',
        address: `nobody.${world.rng.word(8)}@${target.domain}`,
        bogus: true,
      });
      mustMatch(
        'PROTO-030',
        await nextError(alice.peer),
        isError('SCHEMA_VIOLATION', '/bogus'),
        "schema before the frame's own rules",
      );
    },
  }),
];

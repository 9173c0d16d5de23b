// PROTO cases of spec/errors.md: every error code the target sends is in the registry, and the
// connection survives exactly the codes the registry marks as surviving (schemas/errors.ts).
import { ERROR_CODES } from '../../../schemas/errors.ts';
import type { Frame } from '../../assert/match.ts';
import { that } from '../../assert/match.ts';
import { must } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

export const registryCases = [
  defineCase({
    id: 'PROTO-037-registry-codes',
    title:
      'four different faults on one connection get registry codes and the connection survives each',
    requirements: ['PROTO-037', 'PROTO-038'],
    level: 'MUST',
    quote: 'The provider MUST send only the error codes listed in the registry.',
    sends:
      'hello; then bad JSON, an unknown type, keys.claim before auth, and ping with an extra member',
    exclusive: true,
    async run({ world, target }) {
      const { peer } = await world.greeted('mallory');
      const provocations: (() => void)[] = [
        () => peer.raw('{not json'),
        () => peer.send({ v: 1, type: 'nonsense', id: 'r1' }),
        () => peer.send({ v: 1, type: 'keys.claim', id: 'r2', address: `x@${target.domain}` }),
        () => peer.send({ v: 1, type: 'ping', id: 'r3', extra: true }),
      ];
      for (const provoke of provocations) {
        provoke();
        const error: Frame = await peer.next(
          (f) => f.type === 'error',
          undefined,
          'an error frame',
        );
        const entry = (ERROR_CODES as Record<string, { connectionSurvives: boolean }>)[error.code];
        must('PROTO-037', that(entry !== undefined, 'a code from the registry', error.code));
        must(
          'PROTO-037',
          that(entry!.connectionSurvives, 'a surviving code for a surviving fault', error.code),
        );
        must(
          'PROTO-038',
          that(await peer.alive(), 'the connection open after the error', 'closed'),
        );
      }
    },
  }),
];

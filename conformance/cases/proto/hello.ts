// PROTO cases of spec/framing.md#versions and #transport: what `hello` is answered with, the
// advertised frame limit and the mandatory capabilities, and a hello with no version in common.
import { isError, isType, that } from '../../assert/match.ts';
import { must, mustMatch } from '../../assert/must.ts';
import { defineCase } from '../../runner/case.ts';

export const helloCases = [
  defineCase({
    id: 'PROTO-019-welcome-highest-version',
    title: 'hello listing versions 7, 2 and 1 is answered by welcome with version 1',
    requirements: ['PROTO-019', 'PROTO-018'],
    level: 'MUST',
    quote:
      'The provider MUST answer `hello` with `welcome` whose `version` is the highest version listed in `versions` that the provider speaks.',
    sends: 'hello{versions:[7,2,1]}',
    async run({ world }) {
      const peer = await world.raw('alice');
      const welcome = await peer.request('hello', { versions: [7, 2, 1] });
      mustMatch('PROTO-019', welcome, isType('welcome'));
      must('PROTO-019', that(welcome.version === 1, 'welcome.version 1', welcome.version));
    },
  }),
  defineCase({
    id: 'PROTO-006-advertised-limits',
    title: 'welcome advertises maxFrameBytes of at least 262144 and the mandatory capabilities',
    requirements: ['PROTO-006', 'PROTO-022', 'DELIV-006'],
    level: 'MUST',
    quote: 'The provider MUST advertise a `limits.maxFrameBytes` of at least 262144 bytes.',
    sends: 'hello{versions:[1]}',
    async run({ world }) {
      const { welcome } = await world.greeted('alice');
      const limits = welcome.limits ?? {};
      must(
        'PROTO-006',
        that(limits.maxFrameBytes >= 262144, 'maxFrameBytes ≥ 262144', limits.maxFrameBytes),
      );
      must('DELIV-006', that(limits.maxDevicesPerMessage >= 1, 'maxDevicesPerMessage ≥ 1', limits));
      const caps: string[] = welcome.capabilities ?? [];
      must(
        'PROTO-022',
        that(
          caps.includes('attachments') && caps.includes('consent'),
          'capabilities with attachments and consent',
          caps,
        ),
      );
    },
  }),
  defineCase({
    id: 'PROTO-020-no-common-version',
    title: 'hello offering only version 9 gets UNSUPPORTED_VERSION and close code 4000',
    requirements: ['PROTO-020', 'PROTO-039'],
    level: 'MUST',
    quote:
      'When `hello` lists no version the provider speaks, the provider MUST answer with `UNSUPPORTED_VERSION` and close the connection with close code 4000.',
    sends: 'hello{versions:[9]}',
    async run({ world }) {
      const peer = await world.raw('alice');
      mustMatch(
        'PROTO-020',
        await peer.request('hello', { versions: [9] }),
        isError('UNSUPPORTED_VERSION'),
      );
      const code = await peer.closedWithin();
      must('PROTO-020', that(code === 4000, 'close code 4000', code ?? 'still open'));
    },
  }),
  defineCase({
    id: 'PROTO-021-wrong-v',
    title: 'a frame with v 2 after welcome gets UNSUPPORTED_VERSION and close code 4000',
    requirements: ['PROTO-021'],
    level: 'MUST',
    quote:
      'The provider MUST answer a frame whose `v` is not the negotiated version (before `welcome`: not a version the provider speaks) with `UNSUPPORTED_VERSION` and close the connection with close code 4000.',
    sends: 'hello, then ping{v:2}',
    async run({ world }) {
      const { peer } = await world.greeted('alice');
      peer.send({ v: 2, type: 'ping', id: 'p1' });
      mustMatch(
        'PROTO-021',
        await peer.next((f) => f.type === 'error'),
        isError('UNSUPPORTED_VERSION'),
      );
      const code = await peer.closedWithin();
      must('PROTO-021', that(code === 4000, 'close code 4000', code ?? 'still open'));
    },
  }),
];

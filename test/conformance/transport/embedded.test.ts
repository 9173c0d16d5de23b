// The embedded reference provider of a run: stopping it leaves nothing behind, even with a restart
// in flight (a case cut off by its time limit or by Ctrl-C may leave one).
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { expect } from 'chai';
import WebSocket from 'ws';
import { startEmbeddedTarget } from '../../../conformance/transport/embedded.ts';
import { operatorFor } from '../../../conformance/transport/operator.ts';

const conformDirs = (): Set<string> =>
  new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('parley-conform-')));

async function listening(url: string): Promise<boolean> {
  const ws = new WebSocket(url);
  return new Promise((resolve) => {
    ws.once('open', () => {
      ws.terminate();
      resolve(true);
    });
    ws.once('error', () => resolve(false));
  });
}

describe('the embedded reference provider of a run', function () {
  this.timeout(30_000);

  it('stopped while a restart is in flight, leaves no provider listening and no directory behind', async () => {
    const before = conformDirs();
    const target = await startEmbeddedTarget();
    const [dir] = [...conformDirs()].filter((name) => !before.has(name));
    expect(dir, 'the target made a parley-conform- directory').to.be.a('string');
    const restarted = operatorFor(target.url).restart!();
    await target.stop();
    await restarted.catch(() => undefined);
    expect(existsSync(`${tmpdir()}/${dir}`), `${dir} is still there`).to.equal(false);
    expect(await listening(target.url), 'a provider still listens').to.equal(false);
  });
});

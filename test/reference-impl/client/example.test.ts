// The runnable example (examples/third-party-chat.ts) end to end: one command starts the reference
// provider in-process, runs the whole conversation and exits 0 (spec/consent.md CONSENT-012).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'examples/third-party-chat.ts', ...args],
      { cwd: ROOT, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('the third-party chat example', function () {
  this.timeout(40_000);

  it('runs alice’s and bob’s conversation against an in-process provider and exits 0', async () => {
    const { code, stdout, stderr } = await run([]);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.include('message request from bob@chat.example via chat.example');
    expect(stdout).to.include('← carol@wa.example (origin wa.example, folder inbox)');
    expect(stdout).to.include('reaction 👍 from bob@chat.example (folder third-party)');
    expect(stdout).to.include('← read receipt for 2 messages');
    // The second run: bob through chat.example's proxy (spec/proxy.md), same conversation.
    expect(stdout).to.match(
      /bob connects through chat\.example's proxy at ws:\/\/127\.0\.0\.1:\d+/,
    );
    expect(stdout).to.include('message request from bob-p@chat.example via chat.example');
    expect(stdout).to.include('reaction 👍 from bob-p@chat.example (folder third-party)');
    const inbox = stdout.slice(stdout.indexOf("alice@wa.example's inbox"));
    expect(inbox.indexOf('Chats')).to.be.lessThan(inbox.indexOf('carol@wa.example'));
    expect(inbox.indexOf('Third Party Chats')).to.be.lessThan(
      inbox.indexOf('bob@chat.example [via chat.example]'),
    );
    expect(inbox.indexOf('carol@wa.example')).to.be.lessThan(inbox.indexOf('Third Party Chats'));
  });

  it('shows alice’s group with bob of chat.example and dan of talk.example under Third Party Chats', async () => {
    const { code, stdout, stderr } = await run([]);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.include('← group message from alice@wa.example (folder third-party)');
    expect(stdout).to.include('bob    │ ← the group is now called "Trip planning"');
    expect(stdout).to.include('← reaction from dan@talk.example (folder third-party)');
    const inbox = stdout.slice(stdout.indexOf("alice@wa.example's inbox"));
    const section = inbox.indexOf('Third Party Chats');
    const group = inbox.indexOf('│   group g');
    expect(inbox.slice(group).split('\n')[0]).to.match(/“Trip planning”$/);
    expect(section).to.be.greaterThan(-1);
    expect(group).to.be.greaterThan(section);
    expect(inbox).to.include(
      'members: alice@wa.example, bob@chat.example [via chat.example], dan@talk.example [via talk.example]',
    );
    expect(inbox.indexOf('bob: Count me in!')).to.be.greaterThan(group);
  });

  it('exits 2 with its usage when --server comes without a registration token and partner key', async () => {
    const { code, stderr } = await run(['--server', 'ws://127.0.0.1:1/parley/v1']);
    expect(code).to.equal(2);
    expect(stderr).to.include('usage:');
  });
});

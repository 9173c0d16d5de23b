// The attachments example (examples/attachments.ts) end to end, as a child process: in-process
// provider by default, and against `parley serve` with the flags of the chat example
// (spec/attachments.md, spec/content.md "Content kinds").
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function run(
  command: string[],
  timeout = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, command, { cwd: ROOT, timeout }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

const example = (args: string[]) => run(['--import', 'tsx', 'examples/attachments.ts', ...args]);

/** Checks the transcript: four files verified, the video in many chunks, the inbox at the end. */
function expectTranscript(stdout: string, bob: string): void {
  expect(stdout.match(/= what bob sent ✓/g)).to.have.length(4);
  expect(stdout).to.match(/🎬 video: encrypted 6\.0 MiB .* (\d+) chunks/);
  expect(stdout).to.include('thumbnail 64×48');
  expect(stdout).to.include('verified ✓');
  expect(stdout).to.include('slotted as audio (a voice message stays audio: ATT-010)');
  const inbox = stdout.slice(stdout.indexOf("'s inbox"));
  expect(inbox).to.include('Third Party Chats');
  expect(inbox).to.include(`${bob} [via chat.example]`);
  for (const line of [
    'sunset.png, image/png',
    'voice message, audio/wav',
    'harbour.mp4',
    'tickets.pdf',
  ])
    expect(inbox).to.include(line);
}

describe('the attachments example', function () {
  this.timeout(90_000);

  it('sends an image with a thumbnail, a voice message, a video and a PDF through an in-process provider, verifies each and exits 0', async () => {
    const { code, stdout, stderr } = await example([]);
    expect(code, stderr).to.equal(0);
    expectTranscript(stdout, 'bob@chat.example');
    expect(stdout).to.match(/98\/98 chunks ✓/);
  });

  it('runs against `parley serve` in its own process with --server, --registration-token and --partner-key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-example-serve-'));
    let server: ChildProcess | undefined;
    try {
      const keygen = await run([
        'bin/parley.js',
        'keygen',
        'partner',
        '--domain',
        'chat.example',
        '--out',
        join(dir, 'partner.json'),
      ]);
      expect(keygen.code, keygen.stderr).to.equal(0);
      server = spawn(
        process.execPath,
        [
          'bin/parley.js',
          'serve',
          '--port',
          '0',
          '--db',
          join(dir, 'p.db'),
          '--domain',
          'wa.example',
          '--registration-token',
          'example-token',
          '--enlist',
          join(dir, 'partner.pub.json'),
        ],
        { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('parley serve did not listen')), 20_000);
        createInterface({ input: server!.stderr! }).on('line', (line) => {
          const entry = JSON.parse(line) as { event?: string; port?: number };
          if (entry.event === 'listening' && entry.port !== undefined) {
            clearTimeout(timer);
            resolve(entry.port);
          }
        });
        server!.once('exit', (code) => reject(new Error(`parley serve exited ${code}`)));
      });
      const { code, stdout, stderr } = await example([
        '--server',
        `ws://127.0.0.1:${port}/parley/v1`,
        '--registration-token',
        'example-token',
        '--partner-key',
        join(dir, 'partner.json'),
      ]);
      expect(code, stderr).to.equal(0);
      expect(stdout).to.include(`using the provider at ws://127.0.0.1:${port}/parley/v1`);
      expectTranscript(stdout, /signed in as (bob-[0-9a-f]{6}@chat\.example)/.exec(stdout)![1]!);
    } finally {
      if (server && server.exitCode === null) {
        const exited = new Promise((resolve) => server!.once('exit', resolve));
        server.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 with its usage when --server comes without a registration token and partner key', async () => {
    const { code, stderr } = await example(['--server', 'ws://127.0.0.1:1/parley/v1']);
    expect(code).to.equal(2);
    expect(stderr).to.include('usage:');
  });
});

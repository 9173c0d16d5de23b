/**
 * The parent's handle on a load process (bench/support/idle-load.ts): spawns it with an IPC
 * channel and turns each command into a promise of its result.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadCommand } from './idle-load.ts';
import { ROOT, spawnNode, stopProcess } from './processes.ts';

const LOAD_SCRIPT = fileURLToPath(new URL('./idle-load.ts', import.meta.url));

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export class LoadProcess {
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: Reply) => void>();

  private constructor(readonly child: ChildProcess) {
    child.on('message', (message: Reply | { ready: true }) => {
      if (!('id' in message)) return;
      const settle = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      settle?.(message);
    });
    child.once('exit', (code, signal) => {
      const error = `the load process exited (${code ?? signal}) before answering`;
      for (const settle of this.waiting.values()) settle({ id: -1, ok: false, error });
      this.waiting.clear();
    });
  }

  /** Spawns a load process and resolves once it is ready for commands. */
  static start(): Promise<LoadProcess> {
    const child = spawnNode(['--import', 'tsx', LOAD_SCRIPT], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      child.once('message', () => resolve(new LoadProcess(child)));
      child.once('exit', (code) => reject(new Error(`the load process exited with ${code}`)));
    });
  }

  /** Sends a command; resolves its result or rejects with the load process's error. */
  command<T>(command: LoadCommand): Promise<T> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (reply) => {
        if (reply.ok) resolve(reply.result as T);
        else reject(new Error(`load process ${command.op}: ${reply.error}`));
      });
      this.child.send({ id, ...command });
    });
  }

  /** Closes its connections and waits for it to exit (killing it if it lingers). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      await this.command({ op: 'close' });
    } catch {
      // It may already be gone; stopProcess below makes sure.
    }
    await stopProcess(this.child);
  }
}

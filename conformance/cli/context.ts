// What every `parley` subcommand module receives: output streams and the exit-code convention
// (0 pass, 1 findings, 2 usage or harness error), so commands can be run in-process by tests.

/** Where a command writes; tests pass collecting functions. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Exit codes shared by every subcommand. */
export const EXIT = { ok: 0, findings: 1, usage: 2 } as const;

/** A command's outcome: one of `EXIT`. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Passed to each subcommand module's `register`. */
export interface CliContext {
  io: CliIo;
  /** Records the exit code of the action that ran; `main` returns it. */
  setExitCode: (code: number) => void;
}

let pipesGuarded = false;

/** The process's stdout and stderr; a closed pipe (`parley spec check | head`) is not an error. */
export const processIo: CliIo = {
  out: (text) => {
    if (!pipesGuarded) {
      pipesGuarded = true;
      process.stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') throw error;
      });
    }
    process.stdout.write(text);
  },
  err: (text) => void process.stderr.write(text),
};

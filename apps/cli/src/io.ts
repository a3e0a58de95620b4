import { homedir } from "node:os";

/**
 * Everything a command touches outside its arguments. Tests pass their own writers, cwd, home
 * directory and port allocator, so commands run in-process with exact, repeatable output.
 */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Relative paths on the command line are resolved against this directory. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where `~` points, and where the default node directory (~/.tahoe) lives. */
  readonly homeDir: string;
  /** Picks a free TCP port now, for `--hostname` (tub.port = tcp:PORT). */
  readonly allocatePort: (options?: { host?: string }) => Promise<number>;
}

let closedPipeWatched = false;

/**
 * A reader that went away (`tahoe logs | head`) ends the command quietly, as SIGPIPE ends a C
 * program, instead of an unhandled EPIPE with a stack trace. Other stream errors stay loud.
 */
function exitOnClosedPipe(): void {
  if (closedPipeWatched) return;
  closedPipeWatched = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(0);
      throw error;
    });
  }
}

/** The real process: console streams, process.cwd(), the user's home, a kernel-chosen port. */
export function processIo(): CliIo {
  exitOnClosedPipe();
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    cwd: process.cwd(),
    env: process.env,
    homeDir: homedir(),
    // Loaded on first use: most verbs never allocate a port, and transport is big to load.
    allocatePort: async (options) => (await import("@lafs/transport")).allocatePort(options),
  };
}

/** Fills what a caller left out with the real process's values. */
export function completeIo(partial: Partial<CliIo> = {}): CliIo {
  return { ...processIo(), ...partial };
}

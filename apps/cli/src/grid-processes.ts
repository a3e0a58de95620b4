import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { TahoeError } from "@lafs/interface";
import { nodeProcessArgs, nodeProcessEnv } from "./node-runtime.js";

/** The CLI's own launcher, so children run exactly this checkout's `tahoe`. */
export const TAHOE_BIN = fileURLToPath(new URL("../bin/tahoe.js", import.meta.url));

/** How many lines of a node's output are kept to explain its death. */
const TAIL_LINES = 20;

export interface GridChild {
  readonly name: string;
  readonly basedir: string;
  readonly pid: number | undefined;
  /** Resolves with the first `node running:` line; rejects if the process exits first or times out. */
  readonly ready: Promise<string>;
  /** Resolves when the process has exited, with its code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines the node printed (stdout and stderr), oldest first. */
  tail(): string[];
  /** Asks the node to stop as Ctrl-C would. */
  stop(): void;
  kill(): void;
}

export class GridStartError extends TahoeError {
  constructor(name: string, basedir: string, why: string, tail: readonly string[]) {
    super(
      "TAHOE_ERR_CLI_GRID_START",
      `grid node ${name} (${basedir}) did not start: ${why}${tail.length > 0 ? `\n  ${tail.join("\n  ")}` : ""}`,
      { hint: `Run 'tahoe run ${basedir}' on its own to see the whole problem.` },
    );
  }
}

export interface SpawnNodeOptions {
  readonly readyTimeoutMs: number;
  /** Called with every line the node prints, for --verbose. */
  readonly onLine?: (name: string, line: string) => void;
}

/**
 * `tahoe run BASEDIR` as a child process in its own process group, so a Ctrl-C in the terminal
 * reaches the supervisor only and the nodes stop in the order it chooses. stdin stays a pipe:
 * `tahoe run` exits when it closes, so the nodes die with a supervisor that is killed outright.
 */
export function spawnNode(name: string, basedir: string, options: SpawnNodeOptions): GridChild {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [...nodeProcessArgs(process.env), TAHOE_BIN, "run", basedir],
    { stdio: "pipe", detached: true, env: nodeProcessEnv(process.env) },
  );
  const lines: string[] = [];
  let readyLine: ((line: string) => void) | undefined;
  const ready = new Promise<string>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new GridStartError(name, basedir, why, lines));
    };
    const timer = setTimeout(
      () => fail(`no ready line after ${options.readyTimeoutMs} ms`),
      options.readyTimeoutMs,
    );
    readyLine = (line) => {
      clearTimeout(timer);
      resolve(line);
    };
    // "close", not "exit": only then has all its output been read, for the message.
    child.once("close", (code, signal) => fail(`it exited (${signal ?? `code ${code}`})`));
    child.once("error", (error) => fail(error.message));
  });
  // Once ready, a later exit is how the node ended, not a start failure: nobody awaits that rejection.
  ready.catch(() => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("close", (code, signal) => resolve({ code, signal }));
    child.once("error", () => resolve({ code: null, signal: null }));
  });
  const collect = (stream: NodeJS.ReadableStream) => {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        if (lines.length > TAIL_LINES) lines.shift();
        options.onLine?.(name, line);
        if (line.startsWith("node running:")) readyLine?.(line);
      }
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  return {
    name,
    basedir,
    pid: child.pid,
    ready,
    exited,
    tail: () => [...lines],
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

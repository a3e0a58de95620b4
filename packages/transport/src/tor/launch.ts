import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ClientEndpoint } from "@lafs/config";
import { type TorBootstrapProgress, waitForBootstrap } from "./bootstrap.js";
import { connectTorControl, type TorControl } from "./control-connection.js";
import { TorError } from "./errors.js";
import { parseSocksListeners } from "./socks-listeners.js";

export interface LaunchTorOptions {
  /** The tor program; default "tor" from PATH. */
  executable?: string | undefined;
  /** Tor's DataDirectory (created 0700); the node uses private/tor-statedir. */
  dataDirectory: string;
  /**
   * Lines added to the generated torrc, e.g. a private test network's DirAuthority lines and
   * `TestingTorNetwork 1` ([tor]torrc.file).
   */
  extraTorrcLines?: readonly string[] | undefined;
  /**
   * Keep tor off the network: it still answers ADD_ONION (enough to make an onion key at
   * create time) but never connects anywhere and opens no SOCKS port.
   */
  disableNetwork?: boolean | undefined;
  /** How long to wait for tor's control port to appear; default 30 s. */
  startTimeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** A tor process this node started and owns: it exits when the node's control connection closes. */
export interface LaunchedTor {
  readonly pid: number;
  readonly control: TorControl;
  readonly dataDirectory: string;
  waitForBootstrap(options: {
    timeoutMs: number;
    onProgress?: ((p: TorBootstrapProgress) => void) | undefined;
    signal?: AbortSignal | undefined;
  }): Promise<void>;
  /** Tor's SOCKS listener (SocksPort auto), asked through the control port. */
  socksEndpoint(): Promise<ClientEndpoint>;
  /** Stops tor and waits for it to exit. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const OUTPUT_LINES_KEPT = 15;

function torrcText(options: LaunchTorOptions, controlPortFile: string): string {
  const lines = [
    "# Written by lafs-ts for the tor it launches; rewritten at every start.",
    `DataDirectory ${options.dataDirectory}`,
    "ControlPort auto",
    `ControlPortWriteToFile ${controlPortFile}`,
    "CookieAuthentication 1",
    `CookieAuthFile ${join(options.dataDirectory, "control_auth_cookie")}`,
    options.disableNetwork ? "SocksPort 0" : "SocksPort auto",
    // Tor exits by itself if this process dies without stopping it.
    `__OwningControllerProcess ${process.pid}`,
    "Log notice stdout",
    `Log notice file ${join(options.dataDirectory, "notice.log")}`,
  ];
  if (options.extraTorrcLines?.length) {
    lines.push("# from [tor]torrc.file:", ...options.extraTorrcLines);
  }
  // Last, so that no extra line (the last value wins in torrc) can put an offline tor online.
  if (options.disableNetwork) lines.push("DisableNetwork 1");
  return `${lines.join("\n")}\n`;
}

/**
 * Starts a private tor with cookie authentication and automatic control/SOCKS ports, connects
 * to its control port and takes ownership of it. Does not wait for bootstrap: ADD_ONION works
 * at once, and callers that need SOCKS call waitForBootstrap() with a progress callback.
 */
export async function launchTor(options: LaunchTorOptions): Promise<LaunchedTor> {
  const executable = options.executable ?? "tor";
  const dir = options.dataDirectory;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const controlPortFile = join(dir, "control.port");
  await rm(controlPortFile, { force: true });
  const torrc = join(dir, "torrc");
  const defaults = join(dir, "torrc-defaults");
  await writeFile(torrc, torrcText(options, controlPortFile), { mode: 0o600 });
  // An empty defaults file keeps a system-wide torrc-defaults out of the node's tor.
  await writeFile(defaults, "", { mode: 0o600 });

  const output: string[] = [];
  const remember = (chunk: Buffer) => {
    output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    output.splice(0, Math.max(0, output.length - OUTPUT_LINES_KEPT));
  };
  const launchError = (why: string, cause?: unknown) =>
    new TorError(
      "TAHOE_ERR_TOR_LAUNCH",
      `could not launch tor ('${executable}', data directory ${dir}): ${why}${output.length ? `\ntor said:\n  ${output.join("\n  ")}` : ""}`,
      {
        hint: "Install tor (Debian: apt-get install tor) or set [tor]tor.executable (--tor-executable) to its path; check the lines tor printed.",
        cause,
      },
    );

  let child: ChildProcess;
  try {
    child = spawn(executable, ["--defaults-torrc", defaults, "-f", torrc], {
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    throw launchError((error as Error).message, error);
  }
  child.stdout?.on("data", remember);
  child.stderr?.on("data", remember);
  const exited = new Promise<{ code: number | null; signal: string | null; error?: Error }>((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };

  let control: TorControl;
  try {
    const port = await waitForControlPort(controlPortFile, exited, options, launchError);
    control = await connectTorControl(port, { signal: options.signal });
    // Tor exits when this connection closes: no tor outlives its node.
    await control.command("TAKEOWNERSHIP");
    await control.command("RESETCONF __OwningControllerProcess");
  } catch (error) {
    await kill();
    throw error;
  }

  return {
    pid: child.pid ?? 0,
    control,
    dataDirectory: dir,
    waitForBootstrap: (o) => waitForBootstrap(control, o),
    async socksEndpoint() {
      const info = await control.getInfo("net/listeners/socks");
      const found = parseSocksListeners(info.get("net/listeners/socks") ?? "");
      if (found[0] === undefined) {
        throw launchError("it opened no SOCKS port (is DisableNetwork or SocksPort 0 in [tor]torrc.file?)");
      }
      return found[0];
    },
    async stop() {
      await control.close().catch(() => {});
      await kill();
    },
  };
}

async function waitForControlPort(
  file: string,
  exited: Promise<{ code: number | null; signal: string | null; error?: Error }>,
  options: LaunchTorOptions,
  launchError: (why: string, cause?: unknown) => TorError,
): Promise<ClientEndpoint> {
  const deadline = Date.now() + (options.startTimeoutMs ?? START_TIMEOUT_MS);
  let exit: { code: number | null; signal: string | null; error?: Error } | undefined;
  void exited.then((e) => {
    exit = e;
  });
  for (;;) {
    if (exit !== undefined) {
      if (exit.error) {
        const code = (exit.error as NodeJS.ErrnoException).code;
        throw launchError(code === "ENOENT" ? "the program was not found" : exit.error.message, exit.error);
      }
      throw launchError(`it exited at start (${exit.signal ?? `exit code ${exit.code}`})`);
    }
    if (options.signal?.aborted) throw launchError("cancelled");
    const text = await readFile(file, "utf8").catch(() => "");
    const m = /^PORT=([\d.]+):(\d+)\s*$/m.exec(text);
    if (m) return { kind: "tcp", host: m[1] as string, port: Number(m[2]) };
    if (Date.now() > deadline)
      throw launchError(
        `its control port did not open within ${Math.round((options.startTimeoutMs ?? START_TIMEOUT_MS) / 1000)} s`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

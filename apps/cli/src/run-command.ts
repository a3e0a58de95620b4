import type { NodeStatus, TahoeNode } from "@lafs/node";
import type { TorMonitor, TorStatus } from "@lafs/transport";
import type { CliCommand, CommandContext } from "./command.js";
import { resolveBasedir } from "./create-options.js";
import { capYoungGeneration, compileWasmLeanly } from "./node-runtime.js";
import { flag, type ParsedOptions, param } from "./option-parser.js";
import { quotePath } from "./paths.js";
import { CliUsageError } from "./usage-error.js";

/** How long `tahoe run` waits for Tor to be ready before it says why it is not. */
const DEFAULT_TOR_TIMEOUT_SECONDS = 60;

function torTimeoutSeconds(parsed: ParsedOptions): number {
  const text = param(parsed, "tor-timeout");
  if (text === undefined) return DEFAULT_TOR_TIMEOUT_SECONDS;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new CliUsageError(
      `--tor-timeout=${text} is not a positive number of seconds.`,
      "For example: --tor-timeout=120.",
    );
  }
  return seconds;
}

/** Tor's state as `tahoe run` prints it: ready on stdout; not ready, with its hint, on stderr. */
export function torLines(status: TorStatus, waitedSeconds?: number): { out?: string; err?: string } {
  if (status.ready) return { out: `tor: ready: ${describeTorStatus(status)}\n` };
  const after = waitedSeconds === undefined ? "" : ` after ${waitedSeconds} s`;
  const hint = status.hint ? `hint: ${status.hint}\n` : "";
  return {
    err:
      `tor: not ready${after}: ${status.problem ?? "no reason known"}\n${hint}` +
      "tor: the node keeps running and checking; uploads through Tor cannot start until Tor is ready (`tahoe status` shows Tor's state)\n",
  };
}

/** The summary after "ready:", without the problem (there is none when ready). */
function describeTorStatus(s: TorStatus): string {
  const parts: string[] = [];
  if (s.bootstrap !== undefined) parts.push(`bootstrapped ${s.bootstrap.progress}%`);
  parts.push(`SOCKS ${s.socks.endpoint ?? "port"} answers`);
  if (s.onion !== undefined) parts.push(`onion service ${s.onion.address} descriptor uploaded`);
  return parts.join(", ");
}

/**
 * Waits up to timeoutSeconds for Tor, then prints its state, and after that every change, so
 * a tor that is missing, has no SOCKS port, cannot bootstrap or has DisableNetwork 1 is named
 * where the user looks instead of behind a "node running". Returns the unsubscribe call.
 */
function reportTor(
  tor: TorMonitor,
  timeoutSeconds: number,
  signal: AbortSignal,
  context: CommandContext,
): () => void {
  let unsubscribe = () => {};
  const print = (status: TorStatus, waited?: number) => {
    const lines = torLines(status, waited);
    if (lines.out) context.out(lines.out);
    if (lines.err) context.err(lines.err);
  };
  void tor.waitUntilReady(timeoutSeconds * 1000, signal).then((status) => {
    if (signal.aborted) return;
    print(status, status.ready ? undefined : timeoutSeconds);
    unsubscribe = tor.onChange((next) => print(next));
  });
  return () => unsubscribe();
}

/** The line a person (or a test, or a supervisor script) waits for: the node is up. */
export function readyLine(status: NodeStatus, redactUrlSecret: (url: string) => string): string {
  const storage = status.storage;
  if (storage === undefined) {
    const web = status.nodeUrl === undefined ? "" : `; web at ${status.nodeUrl}`;
    return `node running: no storage server ([storage]enabled = false or tub.port = disabled)${web}\n`;
  }
  const where =
    storage.nurls.length > 0
      ? storage.nurls.map(redactUrlSecret).join(" ")
      : storage.addresses
          .map((a) => `${a.host}:${a.port} (no NURL: tub.location has no tcp:, tor: or i2p:ADDR:PORT hint)`)
          .join(" ");
  const web = status.nodeUrl === undefined ? "" : `; web at ${status.nodeUrl}`;
  return `node running: storage server at ${where}${web}\n`;
}

/**
 * Tahoe-LAFS's `tahoe run` exits when its stdin closes, so a parent that dies takes the node
 * with it; --allow-stdin-close turns that off (for daemons started with stdin on /dev/null).
 */
function watchStdin(stop: () => void): () => void {
  const stdin = process.stdin;
  stdin.on("end", stop);
  stdin.on("close", stop);
  stdin.on("error", stop);
  stdin.resume();
  return () => {
    stdin.off("end", stop);
    stdin.off("close", stop);
    stdin.off("error", stop);
    stdin.pause();
    stdin.destroy();
  };
}

async function run(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  const basedir = resolveBasedir("node", parsed, context);
  const cappedYoung = capYoungGeneration();
  const stopper = new AbortController();
  const torTimeout = torTimeoutSeconds(parsed);
  let unwatch = () => {};
  let unreportTor = () => {};
  let node: TahoeNode | undefined;
  // The node and its config parser load only here, so other verbs and --help start fast.
  const [{ runNode }, { formatIssue, redactUrlSecret }, { createErasureCoder, onWorkerStart }] =
    await Promise.all([import("@lafs/node"), import("@lafs/config"), import("@lafs/immutable")]);
  // Making a coder compiles its SIMD kernel, which must keep V8's optimizing tier.
  compileWasmLeanly(() => createErasureCoder(2, 4));
  // A worker thread's start raises the growth factor back to V8's minimum of 2: cap it again.
  if (cappedYoung) onWorkerStart(() => capYoungGeneration());
  try {
    node = await runNode(basedir, {
      signal: stopper.signal,
      // A launched tor can take a while to bootstrap: show where it is instead of hanging silently.
      onTorProgress: (p) =>
        context.err(`tor: bootstrapped ${p.progress}% (${p.summary})${p.warning ? `: ${p.warning}` : ""}\n`),
      onReady: (running) => {
        for (const w of running.warnings) context.err(`warning: ${formatIssue(w)}\n`);
        const status = running.status();
        context.out(readyLine(status, redactUrlSecret));
        if (status.storage) {
          context.out(
            `announcement for a client's private/servers.yaml: ${quotePath(status.storage.announcementFile)}\n`,
          );
        }
        if (status.tor !== undefined)
          unreportTor = reportTor(status.tor, torTimeout, stopper.signal, context);
        if (!flag(parsed, "allow-stdin-close")) unwatch = watchStdin(() => stopper.abort());
      },
    });
  } finally {
    stopper.abort();
    unreportTor();
    unwatch();
  }
  context.out(`node stopped: ${quotePath(node.basedir)}\n`);
  return 0;
}

export const runCommand: CliCommand = {
  name: "run",
  group: "Controlling a node",
  summary: "Run a node until stopped.",
  synopsis: "[options] [NODEDIR]",
  description:
    "Run the node in NODEDIR in the foreground until it gets SIGINT or SIGTERM, or its stdin closes.\n\n" +
    "The whole configuration (tahoe.cfg, private/servers.yaml) is checked first: every problem is " +
    "listed and nothing starts. A directory runs one node at a time (BASEDIR/running.process). " +
    "With [storage]enabled the storage server listens on tub.port, and its announcement, NURLs " +
    "included, is written to private/storage-announcement.yaml for clients' private/servers.yaml. " +
    "With [node]web.port the web server (welcome page and web API) starts and its URL is written to " +
    "BASEDIR/node.url, which `tahoe put`/`tahoe get` read. The control tub listens on 127.0.0.1 only " +
    "(private/control.url), for `tahoe status`, `tahoe logs` and `tahoe stop`. A node that uses Tor " +
    "prints `tor: ready: ...` once Tor is bootstrapped, its SOCKS port answers and the onion service (if any) " +
    "is uploaded, or after --tor-timeout `tor: not ready: ...` with the reason and a hint, then every change.",
  options: (context) => [
    {
      name: "basedir",
      short: "C",
      takesValue: true,
      help:
        "Specify which Tahoe base directory should be used. This has the same effect as the global " +
        `--node-directory option. [default: ${quotePath(context.defaultNodeDir)}]`,
    },
    {
      name: "tor-timeout",
      takesValue: true,
      help:
        "For a node that uses Tor: how many seconds to wait for Tor to be bootstrapped, with its SOCKS port " +
        "answering and the onion service's descriptor uploaded, before printing why it is not. " +
        `[default: ${DEFAULT_TOR_TIMEOUT_SECONDS}]`,
    },
    {
      name: "allow-stdin-close",
      takesValue: false,
      help: 'Do not exit when stdin closes ("tahoe run" otherwise will exit).',
    },
  ],
  run,
};

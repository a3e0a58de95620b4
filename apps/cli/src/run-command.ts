import type { NodeStatus, TahoeNode } from "@lafs/node";
import type { CliCommand, CommandContext } from "./command.js";
import { resolveBasedir } from "./create-options.js";
import { flag, type ParsedOptions } from "./option-parser.js";
import { quotePath } from "./paths.js";

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
          .map((a) => `${a.host}:${a.port} (no NURL: tub.location has no tcp: or tor: hint)`)
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
  const stopper = new AbortController();
  let unwatch = () => {};
  let node: TahoeNode | undefined;
  // The node and its config parser load only here, so other verbs and --help start fast.
  const [{ runNode }, { formatIssue, redactUrlSecret }] = await Promise.all([
    import("@lafs/node"),
    import("@lafs/config"),
  ]);
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
        if (!flag(parsed, "allow-stdin-close")) unwatch = watchStdin(() => stopper.abort());
      },
    });
  } finally {
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
    "(private/control.url), for `tahoe status`, `tahoe logs` and `tahoe stop`.",
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
      name: "allow-stdin-close",
      takesValue: false,
      help: 'Do not exit when stdin closes ("tahoe run" otherwise will exit).',
    },
  ],
  run,
};

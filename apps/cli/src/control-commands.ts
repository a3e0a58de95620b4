import type { LogLine } from "@lafs/control-tub";
import type { CliCommand, CommandContext, HelpContext } from "./command.js";
import { resolveBasedir } from "./create-options.js";
import { flag, type OptionSpec, type ParsedOptions, param } from "./option-parser.js";
import { quotePath } from "./paths.js";
import { CliUsageError } from "./usage-error.js";

/**
 * pino's levels, as @lafs/control-tub's LOG_LEVELS has them. Spelled out here so `--help` does not
 * load the control tub (fastify, config); the control tub checks the level again when it runs.
 */
const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
const LEVEL_NAMES = Object.keys(LOG_LEVELS);
const isLogLevelName = (text: string): text is keyof typeof LOG_LEVELS => Object.hasOwn(LOG_LEVELS, text);

/** The control client loads only when a control verb runs. */
async function openControlClient(basedir: string) {
  return (await import("@lafs/control-tub")).openControlClient(basedir);
}

function basedirOption(context: HelpContext): OptionSpec {
  return {
    name: "basedir",
    short: "C",
    takesValue: true,
    help:
      "Specify which Tahoe base directory should be used. This has the same effect as the global " +
      `--node-directory option. [default: ${quotePath(context.defaultNodeDir)}]`,
  };
}

const JSON_OPTION: OptionSpec = { name: "json", takesValue: false, help: "Print the answer as JSON." };

const CONTROL_NOTE =
  "It talks to the node's control tub, found through BASEDIR/private/control.url (127.0.0.1 only, " +
  "with the certificate pin checked before anything is sent).";

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h ${m}m ${s}s` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

interface StatusAnswer {
  version?: string;
  nodeId?: string;
  nickname?: string;
  uptimeSeconds?: number;
  servers?: {
    known: number;
    connected: number;
    list: { serverId: string; nickname: string; connected: boolean }[];
  };
  activity?: { kind: string; name: string; doneBytes: number; totalBytes: number | null }[];
  /** transport's TorStatus, when the node uses Tor. */
  tor?: {
    ready: boolean;
    via: string;
    bootstrap?: { progress: number; summary: string; warning?: string };
    socks: { endpoint?: string; reachable: boolean };
    onion?: { address: string; descriptorUploaded: boolean };
    problem?: string;
    hint?: string;
  };
}

function torStatusLines(tor: NonNullable<StatusAnswer["tor"]>): string[] {
  const bootstrap =
    tor.bootstrap === undefined
      ? "bootstrap unknown (no control port to ask)"
      : `bootstrapped ${tor.bootstrap.progress}% (${tor.bootstrap.summary})`;
  const socks = `SOCKS ${tor.socks.endpoint ?? "port"} ${tor.socks.reachable ? "answers" : "not reachable"}`;
  const onion =
    tor.onion === undefined
      ? ""
      : `, onion ${tor.onion.address} descriptor ${tor.onion.descriptorUploaded ? "uploaded" : "not uploaded"}`;
  const lines = [`tor: ${tor.ready ? "ready" : "NOT READY"}: ${bootstrap}, ${socks}${onion}`];
  if (!tor.ready) {
    lines.push(`  why: ${tor.problem ?? "no reason known"}`);
    if (tor.hint) lines.push(`  hint: ${tor.hint}`);
  }
  return lines;
}

/** The status a person reads: who the node is, which servers it reaches, what it transfers. */
export function formatStatus(basedir: string, answer: StatusAnswer): string {
  const lines = [
    `node: ${answer.nodeId ?? "?"} (${answer.nickname ?? ""}) in ${quotePath(basedir)}`,
    `version: ${answer.version ?? "?"}`,
    `uptime: ${duration(answer.uptimeSeconds ?? 0)}`,
  ];
  const servers = answer.servers;
  if (servers !== undefined) {
    lines.push(`servers: ${servers.connected} of ${servers.known} connected`);
    for (const s of servers.list) {
      lines.push(`  ${s.serverId} (${s.nickname}): ${s.connected ? "connected" : "not connected"}`);
    }
  }
  if (answer.tor !== undefined) lines.push(...torStatusLines(answer.tor));
  const activity = answer.activity ?? [];
  if (activity.length === 0) lines.push("uploads and downloads in progress: none");
  else {
    lines.push("uploads and downloads in progress:");
    for (const a of activity) {
      const of = a.totalBytes === null ? "" : ` of ${a.totalBytes}`;
      const pct = a.totalBytes ? ` (${Math.floor((100 * a.doneBytes) / a.totalBytes)}%)` : "";
      lines.push(`  ${a.kind} ${a.name}: ${a.doneBytes}${of} bytes${pct}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

const LEVEL_WORD = new Map<number, string>(
  Object.entries(LOG_LEVELS).map(([name, n]) => [n, name.toUpperCase()]),
);

/** One log event as a line: time, level, component, message, then the other fields as JSON. */
export function formatLogEvent(event: Record<string, unknown>): string {
  const { seq: _seq, level, time, msg, component, ...fields } = event;
  const when = typeof time === "number" ? new Date(time).toISOString() : "?";
  const word = LEVEL_WORD.get(level as number) ?? String(level);
  const where = component === undefined ? "" : ` [${String(component)}]`;
  const rest = Object.keys(fields).length === 0 ? "" : ` ${JSON.stringify(fields)}`;
  return `${when} ${word}${where} ${String(msg)}${rest}\n`;
}

async function status(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  const basedir = resolveBasedir("node", parsed, context);
  const answer = await (await openControlClient(basedir)).status();
  context.out(flag(parsed, "json") ? `${JSON.stringify(answer, null, 2)}\n` : formatStatus(basedir, answer));
  return 0;
}

async function logs(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  const basedir = resolveBasedir("node", parsed, context);
  const level = param(parsed, "level") ?? "info";
  if (!isLogLevelName(level)) {
    throw new CliUsageError(`--level=${level} is not a log level.`, `Use one of: ${LEVEL_NAMES.join(", ")}.`);
  }
  const limitText = param(parsed, "limit");
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
    throw new CliUsageError(`--limit=${limitText} is not a whole number.`, "For example: --limit=100.");
  }
  const json = flag(parsed, "json");
  const follow = flag(parsed, "follow");
  const client = await openControlClient(basedir);
  const stopper = new AbortController();
  const onSignal = () => stopper.abort();
  if (follow) process.once("SIGINT", onSignal);
  let dropped = 0;
  try {
    await client.logs({
      level,
      limit,
      follow,
      signal: stopper.signal,
      onLine: (line: LogLine) => {
        if ("live" in line && line.live === true) return;
        if ("dropped" in line && typeof line.dropped === "number" && !("seq" in line)) {
          dropped += line.dropped;
          context.err(`warning: ${line.dropped} log events dropped here: this reader fell behind the node\n`);
          return;
        }
        context.out(json ? `${JSON.stringify(line)}\n` : formatLogEvent(line as Record<string, unknown>));
      },
    });
  } finally {
    process.off("SIGINT", onSignal);
  }
  if (dropped > 0) context.err(`warning: ${dropped} log events dropped in all\n`);
  return 0;
}

const STOP_WAIT_MS = 20_000;

/** Socket errors of a control tub that is closing its connections while the node stops. */
const CLOSING_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "ERR_SSL_WRONG_VERSION_NUMBER"]);

/**
 * What one status probe after the stop request says: the node is gone (nothing listens), or it
 * is still stopping: answering, or dropping the connection while its control tub closes (which
 * printed "internal error" before). Anything else is a real error.
 */
export function stopProgress(error: unknown): "stopped" | "stopping" {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  if (e?.code === "TAHOE_ERR_CONTROL_NOT_RUNNING") return "stopped";
  if (typeof e?.code === "string" && CLOSING_CODES.has(e.code)) return "stopping";
  if (
    typeof e?.message === "string" &&
    /socket hang up|socket disconnected before secure TLS/.test(e.message)
  ) {
    return "stopping";
  }
  throw error;
}

async function stop(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  const basedir = resolveBasedir("node", parsed, context);
  const client = await openControlClient(basedir);
  await client.stop();
  // The answer comes before the node stops; wait until its control port is closed, as `tahoe stop` waits for the process.
  const deadline = Date.now() + STOP_WAIT_MS;
  while (Date.now() < deadline) {
    try {
      await client.status();
    } catch (error) {
      if (stopProgress(error) === "stopped") {
        context.out(`node stopped: ${quotePath(basedir)}\n`);
        return 0;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  context.err(
    `the node in ${quotePath(basedir)} was asked to stop but still answers after ${STOP_WAIT_MS / 1000} s\n`,
  );
  return 1;
}

export const statusCommand: CliCommand = {
  name: "status",
  group: "Controlling a node",
  summary: "Show the status of a running node.",
  synopsis: "[options] [NODEDIR]",
  description: `Show the node's version, uptime, the storage servers it is connected to, and the uploads and downloads in progress. ${CONTROL_NOTE}`,
  options: (context) => [basedirOption(context), JSON_OPTION],
  run: status,
};

export const logsCommand: CliCommand = {
  name: "logs",
  group: "Controlling a node",
  summary: "Show a running node's log (--follow: keep reading).",
  synopsis: "[options] [NODEDIR]",
  description: `Print the node's buffered log events, newest first, then with --follow every new event until interrupted or the node stops. Secrets (swissnums, keys, capabilities) are redacted by the node. A reader that falls behind is told how many events it lost. ${CONTROL_NOTE}`,
  options: (context) => [
    basedirOption(context),
    { name: "follow", short: "f", takesValue: false, help: "Keep printing new events as they happen." },
    {
      name: "level",
      takesValue: true,
      defaultValue: "info",
      help: `Only events at this level or above: ${LEVEL_NAMES.join(", ")}.`,
    },
    { name: "limit", takesValue: true, defaultValue: "1000", help: "At most this many buffered events." },
    { ...JSON_OPTION, help: "Print each event as a JSON line (pino's format)." },
  ],
  run: logs,
};

export const stopCommand: CliCommand = {
  name: "stop",
  group: "Controlling a node",
  summary: "Stop a running node.",
  synopsis: "[options] [NODEDIR]",
  description: `Ask the node to stop gracefully and wait until it has. ${CONTROL_NOTE}`,
  options: (context) => [basedirOption(context)],
  run: stop,
};

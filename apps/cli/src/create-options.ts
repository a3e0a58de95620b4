import type { CommandContext, HelpContext } from "./command.js";
import { flag, type OptionSpec, type ParsedOptions, param } from "./option-parser.js";
import { absolutePath, quotePath } from "./paths.js";
import { CliUsageError } from "./usage-error.js";

export type NodeKind = "node" | "client" | "introducer";
export type ListenerKind = "tcp" | "tor" | "i2p";
const LISTENERS: readonly ListenerKind[] = ["tcp", "tor", "i2p"];

export const DEFAULT_WEBPORT = "tcp:3456:interface=127.0.0.1";
export const DEFAULT_SHARES = { needed: 3, happy: 7, total: 10 } as const;
/** zfec's limit: a share number fits in one byte. */
export const MAX_SHARES = 256;

/** Everything `tahoe create-*` was asked for, checked and resolved (absolute paths, numbers). */
export interface CreateRequest {
  readonly kind: NodeKind;
  readonly basedir: string;
  /** "" when -n was not given. */
  readonly nickname: string;
  readonly introducer: string | undefined;
  /** An endpoint, or "" for no web server (--webport=none, and always for introducers). */
  readonly webPort: string;
  readonly hideIp: boolean;
  /** Empty for --listen=none. */
  readonly listen: readonly ListenerKind[];
  readonly hostname: string | undefined;
  readonly port: string | undefined;
  readonly location: string | undefined;
  /** How --listen=tor reaches Tor to make the onion service (ignored without tor in --listen). */
  readonly tor: CreateTorRequest;
  /** --i2p-sam-port as typed, for --listen=i2p (undefined: the default tcp:127.0.0.1:7656). */
  readonly i2pSamPort: string | undefined;
  readonly client: CreateClientRequest | undefined;
}

export interface CreateTorRequest {
  /** --tor-launch: start a private tor (at create time only to make the key; at run for good). */
  readonly launch: boolean;
  readonly executable: string | undefined;
  /** --tor-control-port as typed. */
  readonly controlPort: string | undefined;
  /** --tor-socks-port as typed: a running tor's SOCKS port ([tor]socks.port). */
  readonly socksPort: string | undefined;
  /** --tor-torrc-file, absolute: extra torrc lines for the launched tor ([tor]torrc.file). */
  readonly torrcFile: string | undefined;
}

export interface CreateClientRequest {
  readonly sharesNeeded: number;
  readonly sharesHappy: number;
  readonly sharesTotal: number;
  readonly storageEnabled: boolean;
  readonly storageDir: string | undefined;
}

function basedirOption(kind: NodeKind, context: HelpContext): OptionSpec {
  const help =
    kind === "introducer"
      ? "Specify which Tahoe base directory should be used."
      : "Specify which Tahoe base directory should be used. This has the same effect as the global " +
        `--node-directory option. [default: ${quotePath(context.defaultNodeDir)}]`;
  return { name: "basedir", short: "C", takesValue: true, help };
}

const HIDE_IP: OptionSpec = {
  name: "hide-ip",
  takesValue: false,
  help: "prohibit any configuration that would reveal the node's IP address",
};

const CLIENT_OPTIONS: readonly OptionSpec[] = [
  { name: "nickname", short: "n", takesValue: true, help: "Specify the nickname for this node." },
  {
    name: "introducer",
    short: "i",
    takesValue: true,
    help: "Specify the introducer NURL (pb://...#v=1) or fURL to use.",
  },
  {
    name: "webport",
    short: "p",
    takesValue: true,
    defaultValue: DEFAULT_WEBPORT,
    help: "Specify which TCP port to run the HTTP interface on. Use 'none' to disable.",
  },
  {
    name: "shares-needed",
    takesValue: true,
    defaultValue: String(DEFAULT_SHARES.needed),
    help: "Needed shares required for uploaded files.",
  },
  {
    name: "shares-happy",
    takesValue: true,
    defaultValue: String(DEFAULT_SHARES.happy),
    help: "How many servers new files must be placed on.",
  },
  {
    name: "shares-total",
    takesValue: true,
    defaultValue: String(DEFAULT_SHARES.total),
    help: "Total shares required for uploaded files.",
  },
];

const WHERE_OPTIONS: readonly OptionSpec[] = [
  { name: "location", takesValue: true, help: "Server location to advertise (e.g. tcp:example.org:12345)" },
  {
    name: "port",
    takesValue: true,
    help: "Server endpoint to listen on (e.g. tcp:12345, or tcp:12345:interface=127.0.0.1).",
  },
  {
    name: "hostname",
    takesValue: true,
    help: "Hostname to automatically set --location/--port when --listen=tcp",
  },
  {
    name: "listen",
    takesValue: true,
    defaultValue: "tcp",
    help: "Comma-separated list of listener types (tcp,tor,i2p,none).",
  },
];

const TOR_OPTIONS: readonly OptionSpec[] = [
  {
    name: "tor-control-port",
    takesValue: true,
    help: "Tor's control port endpoint descriptor string (e.g. tcp:127.0.0.1:9051 or unix:/var/run/tor/control)",
  },
  {
    name: "tor-executable",
    takesValue: true,
    help: "The 'tor' executable to run (default is to search $PATH).",
  },
  {
    name: "tor-launch",
    takesValue: false,
    help: "Launch a tor instead of connecting to a tor control port.",
  },
  {
    name: "tor-socks-port",
    takesValue: true,
    help:
      "(lafs-ts) A running tor's SOCKS port endpoint (e.g. tcp:127.0.0.1:9050, or tcp:127.0.0.1:9150 for " +
      "Tor Browser); written as [tor]socks.port and checked now.",
  },
  {
    name: "tor-torrc-file",
    takesValue: true,
    help:
      "(lafs-ts) With --tor-launch: a file of extra torrc lines for the launched tor (e.g. Bridge lines, or a " +
      "private network's DirAuthority lines); written as [tor]torrc.file and tried now on an offline tor.",
  },
];

const I2P_OPTIONS: readonly OptionSpec[] = [
  {
    name: "i2p-sam-port",
    takesValue: true,
    help: "I2P's SAM API port endpoint descriptor string (e.g. tcp:127.0.0.1:7656)",
  },
  {
    name: "i2p-executable",
    takesValue: true,
    help: "(future) The 'i2prouter' executable to run (default is to search $PATH).",
  },
  {
    name: "i2p-launch",
    takesValue: false,
    help: "(future) Launch an I2P router instead of connecting to a SAM API port.",
  },
];

/** The options of create-node, create-client and create-introducer, as in Tahoe-LAFS 1.20. */
export function createOptionSpecs(kind: NodeKind, context: HelpContext): readonly OptionSpec[] {
  const basedir = basedirOption(kind, context);
  if (kind === "client") return [basedir, HIDE_IP, ...CLIENT_OPTIONS, ...TOR_OPTIONS];
  if (kind === "introducer") return [basedir, HIDE_IP, ...WHERE_OPTIONS, ...TOR_OPTIONS, ...I2P_OPTIONS];
  return [
    basedir,
    HIDE_IP,
    { name: "no-storage", takesValue: false, help: "Do not offer storage service to other nodes." },
    { name: "storage-dir", takesValue: true, help: "Path where the storage will be placed." },
    ...CLIENT_OPTIONS,
    ...WHERE_OPTIONS,
    ...TOR_OPTIONS,
    ...I2P_OPTIONS,
  ];
}

/**
 * Which directory to create, from -d (global), -C/--basedir or the NODEDIR argument, with
 * Tahoe-LAFS's BasedirOptions.parseArgs rules: at most one of them, and ~/.tahoe when none is
 * given (except for create-introducer, which has no default).
 */
export function resolveBasedir(kind: NodeKind, parsed: ParsedOptions, context: CommandContext): string {
  if (parsed.args.length > 1) {
    const got = parsed.args.map((a) => `'${a}'`).join(", ");
    throw new CliUsageError(
      `Wrong number of arguments: expected at most one NODEDIR, got ${parsed.args.length} (${got}).`,
      "Put options before or after NODEDIR; quote a directory name that contains spaces.",
    );
  }
  const positional = parsed.args[0];
  const basedir = param(parsed, "basedir");
  const nodeDirectory = context.global.nodeDirectory;
  if (nodeDirectory !== undefined && basedir !== undefined) {
    throw new CliUsageError(
      "The --node-directory (or -d) and --basedir (or -C) options cannot both be used.",
      "Give the directory once.",
    );
  }
  if (nodeDirectory !== undefined && positional !== undefined) {
    throw new CliUsageError(
      "The --node-directory (or -d) option and a basedir argument cannot both be used.",
      "Give the directory once.",
    );
  }
  if (basedir !== undefined && positional !== undefined) {
    throw new CliUsageError(
      "The --basedir (or -C) option and a basedir argument cannot both be used.",
      "Give the directory once.",
    );
  }
  const typed = positional ?? basedir ?? nodeDirectory;
  if (typed === undefined) {
    if (kind === "introducer") {
      throw new CliUsageError(
        "No default basedir available, you must provide one with --node-directory, --basedir, or a basedir argument",
        "For example: tahoe create-introducer --hostname=intro.example.org ~/introducer",
      );
    }
    return context.defaultNodeDir;
  }
  if (typed.trim() === "") {
    throw new CliUsageError(
      "The node directory name is empty.",
      "Give the path of a new or empty directory.",
    );
  }
  return absolutePath(typed, context.io.cwd, context.io.homeDir);
}

function readShares(parsed: ParsedOptions): { needed: number; happy: number; total: number } {
  const read = (name: string, fallback: number): number => {
    const text = param(parsed, name);
    if (text === undefined) return fallback;
    if (!/^\s*\+?[0-9]+\s*$/.test(text)) {
      throw new CliUsageError(
        `--${name} must be an integer (got '${text}')`,
        `Encoding parameters are whole numbers with 1 <= needed <= happy <= total <= ${MAX_SHARES}.`,
      );
    }
    return Number(text);
  };
  const needed = read("shares-needed", DEFAULT_SHARES.needed);
  const happy = read("shares-happy", DEFAULT_SHARES.happy);
  const total = read("shares-total", DEFAULT_SHARES.total);
  const rule = `Encoding parameters must satisfy 1 <= needed <= happy <= total <= ${MAX_SHARES}.`;
  if (needed < 1) throw new CliUsageError(`--shares-needed must be at least 1 (got ${needed})`, rule);
  if (total > MAX_SHARES) {
    throw new CliUsageError(`--shares-total must be at most ${MAX_SHARES} (got ${total})`, rule);
  }
  if (needed > happy) {
    throw new CliUsageError(
      `--shares-needed (${needed}) must not be more than --shares-happy (${happy})`,
      rule,
    );
  }
  if (happy > total) {
    throw new CliUsageError(
      `--shares-happy (${happy}) must not be more than --shares-total (${total})`,
      rule,
    );
  }
  return { needed, happy, total };
}

/** `--listen=tcp,tor`: the listener kinds, [] for none. */
export function parseListen(text: string): ListenerKind[] {
  const allowed = "--listen= must be none, or one/some of: tcp, tor, i2p";
  const hint = "Use --listen=none alone, or a comma-separated list such as --listen=tcp or --listen=tcp,tor.";
  const words = text.split(",").map((w) => w.trim());
  if (words.length === 1 && words[0] === "none") return [];
  const kinds: ListenerKind[] = [];
  for (const word of words) {
    const kind = LISTENERS.find((l) => l === word);
    if (kind === undefined) throw new CliUsageError(`${allowed} (got '${text}')`, hint);
    if (kinds.includes(kind)) throw new CliUsageError(`--listen= names ${kind} twice (got '${text}')`, hint);
    kinds.push(kind);
  }
  return kinds;
}

/** Tahoe-LAFS's validate_where_options, plus --hide-ip refusing a tcp listener. */
function checkWhere(parsed: ParsedOptions, listen: readonly ListenerKind[]): void {
  const hostname = param(parsed, "hostname");
  const port = param(parsed, "port");
  const location = param(parsed, "location");
  if (listen.length === 0) {
    if (hostname !== undefined) {
      throw new CliUsageError(
        "--hostname cannot be used when --listen=none",
        "--listen=none makes a node that accepts no connections, so it has no hostname to advertise.",
      );
    }
    if (port !== undefined || location !== undefined) {
      throw new CliUsageError(
        "--port/--location cannot be used when --listen=none",
        "--listen=none makes a node that accepts no connections; drop --port/--location or --listen=none.",
      );
    }
  }
  if (location !== undefined && port === undefined) {
    throw new CliUsageError(
      "--location must be used with --port",
      "Give both: --port=ENDPOINT to listen on and --location=HINTS to advertise.",
    );
  }
  if (port !== undefined && location === undefined) {
    throw new CliUsageError(
      "--port must be used with --location",
      "Give both: --port=ENDPOINT to listen on and --location=HINTS to advertise.",
    );
  }
  if (port !== undefined && location !== undefined) {
    if (hostname !== undefined) {
      throw new CliUsageError(
        "--hostname cannot be used with --location/--port",
        "--hostname picks the port and location for you; use either it or --port with --location.",
      );
    }
    return;
  }
  if (listen.length === 0) return;
  if (listen.includes("tcp") && flag(parsed, "hide-ip")) {
    throw new CliUsageError(
      "--hide-ip cannot be used with --listen=tcp: tub.location would advertise this node's IP address",
      "Use --listen=tor or --listen=i2p to accept connections anonymously, or --listen=none.",
    );
  }
  if (listen.includes("tcp") && hostname === undefined) {
    throw new CliUsageError(
      "--listen=tcp requires --hostname=",
      "Give --hostname=NAME (the DNS name or IP address other nodes reach this one at), " +
        "or --port= with --location=, or --listen=none for a node that accepts no connections.",
    );
  }
  if (!listen.includes("tcp") && hostname !== undefined) {
    throw new CliUsageError(
      "--listen= must be tcp to use --hostname",
      "--hostname is only for TCP listeners: add tcp to --listen=, or drop --hostname.",
    );
  }
}

/**
 * Tahoe-LAFS's validate_tor_options and validate_i2p_options. Tor options also configure how a
 * node reaches Tor to connect out: a client always, a server or introducer with --hide-ip.
 */
function checkTorAndI2p(kind: NodeKind, parsed: ParsedOptions, listen: readonly ListenerKind[]): void {
  const torUsed = kind === "client" || listen.includes("tor") || flag(parsed, "hide-ip");
  const torHint =
    "Tor options apply to a node that listens on Tor (--listen=tor) or connects through it (--hide-ip).";
  for (const option of ["tor-control-port", "tor-socks-port", "tor-executable", "tor-torrc-file"]) {
    if (!torUsed && param(parsed, option) !== undefined) {
      throw new CliUsageError(`--${option}= requires --listen=tor`, torHint);
    }
  }
  if (!torUsed && flag(parsed, "tor-launch"))
    throw new CliUsageError("--tor-launch requires --listen=tor", torHint);
  if (flag(parsed, "tor-launch") && param(parsed, "tor-control-port") !== undefined) {
    throw new CliUsageError(
      "use either --tor-launch or --tor-control-port=, not both",
      "--tor-launch starts a private tor; --tor-control-port= uses a tor that is already running.",
    );
  }
  if (flag(parsed, "tor-launch") && param(parsed, "tor-socks-port") !== undefined) {
    throw new CliUsageError(
      "use either --tor-launch or --tor-socks-port=, not both",
      "--tor-launch starts a private tor with its own SOCKS port; --tor-socks-port= names a tor that is already running.",
    );
  }
  for (const option of ["tor-executable", "tor-torrc-file"]) {
    if (param(parsed, option) !== undefined && !flag(parsed, "tor-launch")) {
      throw new CliUsageError(
        `--${option}= is used only with --tor-launch`,
        `Add --tor-launch, or drop --${option}=.`,
      );
    }
  }
  const i2p = listen.includes("i2p");
  const i2pHint = "I2P options only apply to a node that listens on I2P: add --listen=i2p.";
  if (!i2p && flag(parsed, "i2p-launch"))
    throw new CliUsageError("--i2p-launch requires --listen=i2p", i2pHint);
  if (!i2p && param(parsed, "i2p-sam-port") !== undefined) {
    throw new CliUsageError("--i2p-sam-port= requires --listen=i2p", i2pHint);
  }
  if (flag(parsed, "i2p-launch") && param(parsed, "i2p-sam-port") !== undefined) {
    throw new CliUsageError(
      "use either --i2p-launch or --i2p-sam-port=, not both",
      "--i2p-launch would start an I2P router; --i2p-sam-port= uses one that is already running.",
    );
  }
  if (flag(parsed, "i2p-launch")) {
    throw new CliUsageError(
      "--i2p-launch is under development",
      "Run an I2P router yourself and give its SAM API with --i2p-sam-port=tcp:127.0.0.1:7656.",
    );
  }
  if (param(parsed, "i2p-executable") !== undefined) {
    throw new CliUsageError(
      "--i2p-executable= is used only with --i2p-launch, which is under development",
      "Run an I2P router yourself and give its SAM API with --i2p-sam-port=.",
    );
  }
}

/** One line of text: a newline in a value would add lines (and keys) to tahoe.cfg. */
function singleLine(name: string, value: string | undefined): void {
  if (value !== undefined && /[\r\n\0]/.test(value)) {
    throw new CliUsageError(
      `--${name} must be a single line of text`,
      "Remove the line break: each value is written on one line of tahoe.cfg.",
    );
  }
}

/** Checks the command line of one create-* verb, the way Tahoe-LAFS does, and resolves it. */
export function readCreateRequest(
  kind: NodeKind,
  parsed: ParsedOptions,
  context: CommandContext,
): CreateRequest {
  const basedir = resolveBasedir(kind, parsed, context);
  for (const name of [
    "nickname",
    "introducer",
    "webport",
    "storage-dir",
    "hostname",
    "port",
    "location",
    "tor-executable",
    "tor-control-port",
    "tor-socks-port",
    "tor-torrc-file",
    "i2p-sam-port",
  ]) {
    singleLine(name, param(parsed, name));
  }
  const shares = kind === "introducer" ? undefined : readShares(parsed);
  const listen = kind === "client" ? [] : parseListen(param(parsed, "listen") ?? "tcp");
  if (kind !== "client") checkWhere(parsed, listen);
  checkTorAndI2p(kind, parsed, listen);
  if (kind === "node" && listen.length === 0 && !flag(parsed, "no-storage")) {
    throw new CliUsageError(
      "--listen=none cannot be used with a storage server: no client could reach it",
      "Add --no-storage (or use 'tahoe create-client') for a node that accepts no connections, " +
        "or listen with --listen=tcp --hostname=NAME.",
    );
  }
  const webPortText = kind === "introducer" ? "none" : (param(parsed, "webport") ?? DEFAULT_WEBPORT);
  const storageDir = param(parsed, "storage-dir");
  if (storageDir !== undefined && storageDir.trim() === "") {
    throw new CliUsageError("--storage-dir= is empty", "Give a directory path, or leave the option out.");
  }
  return {
    kind,
    basedir,
    nickname: param(parsed, "nickname") ?? "",
    introducer: param(parsed, "introducer"),
    webPort: webPortText.trim().toLowerCase() === "none" ? "" : webPortText.trim(),
    hideIp: flag(parsed, "hide-ip"),
    listen,
    hostname: param(parsed, "hostname"),
    port: param(parsed, "port"),
    location: param(parsed, "location"),
    tor: {
      launch: flag(parsed, "tor-launch"),
      executable: param(parsed, "tor-executable"),
      controlPort: param(parsed, "tor-control-port"),
      socksPort: param(parsed, "tor-socks-port"),
      torrcFile: optionalPath(param(parsed, "tor-torrc-file"), context),
    },
    i2pSamPort: param(parsed, "i2p-sam-port"),
    client:
      shares === undefined
        ? undefined
        : {
            sharesNeeded: shares.needed,
            sharesHappy: shares.happy,
            sharesTotal: shares.total,
            storageEnabled: kind === "node" && !flag(parsed, "no-storage"),
            storageDir:
              storageDir === undefined
                ? undefined
                : absolutePath(storageDir, context.io.cwd, context.io.homeDir),
          },
  };
}

function optionalPath(text: string | undefined, context: CommandContext): string | undefined {
  return text === undefined ? undefined : absolutePath(text, context.io.cwd, context.io.homeDir);
}

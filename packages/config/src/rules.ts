import { formatEndpoint, isLoopbackEndpoint, isLoopbackHost } from "./endpoint.js";
import { formatHint } from "./hint.js";
import type { IssueSeverity, SeverityIssue } from "./ini.js";
import { lineOf, type TahoeConfig } from "./schema.js";
import type { ClientEndpoint } from "./values.js";
import { formatClientEndpoint } from "./values.js";

/** A static server as the rules need it (servers.yaml). */
export interface RuleServer {
  serverId: string;
  line?: number | undefined;
  connections?: { tcp: string } | undefined;
}

export interface RuleContext {
  config: TahoeConfig;
  file: string;
  servers: readonly RuleServer[];
  serversFile: string;
}

/** A key as `[section, key]`, spelled as in the schema. */
export type KeyRef = readonly [section: string, key: string];

export interface RuleFinding {
  severity: IssueSeverity;
  /** The keys involved, the one to fix first; the issue points at the first one present in the file. */
  where: readonly KeyRef[];
  message: string;
  allowed?: string;
  /** For findings about another file (servers.yaml). */
  file?: string;
  line?: number | undefined;
}

export interface CrossFieldRule {
  id: string;
  /** Tahoe-LAFS checks it too, or lafs-ts is stricter. */
  origin: "tahoe-lafs" | "lafs-ts";
  /** Every key the rule reads; it is skipped when one of them failed to parse. */
  keys: readonly KeyRef[];
  /** In words, for docs/CONFIGURATION.md. */
  summary: string;
  check: (ctx: RuleContext) => RuleFinding[];
}

const REVEAL: KeyRef = ["node", "reveal-IP-address"];
const TCP: KeyRef = ["connections", "tcp"];
const TUB_PORT: KeyRef = ["node", "tub.port"];
const TUB_LOCATION: KeyRef = ["node", "tub.location"];
const WEB_PORT: KeyRef = ["node", "web.port"];
const CONTROL_PORT: KeyRef = ["node", "control.port"];

/** `[node]tub.port (line 4)` or `[node]tub.port (not set)`: how a message names a key. */
export function describeKey(config: TahoeConfig, [section, key]: KeyRef): string {
  const line = lineOf(config, section, key);
  return `[${section}]${key} (${line === undefined ? "not set" : `line ${line}`})`;
}

function revealOff(ctx: RuleContext): boolean {
  return !ctx.config.node.revealIpAddress;
}

function reveal(ctx: RuleContext): string {
  return `${describeKey(ctx.config, REVEAL)} is false`;
}

function tubListens(config: TahoeConfig): boolean {
  return config.node.tubPort === undefined || config.node.tubPort.kind === "listen";
}

function clientEndpointIsLocal(e: ClientEndpoint): boolean {
  return e.kind === "unix" || isLoopbackHost(e.host);
}

function need(
  ctx: RuleContext,
  section: "tor" | "i2p",
  flag: string,
  missing: [string, unknown][],
): RuleFinding[] {
  return missing
    .filter(([, value]) => value === undefined)
    .map(([key]) => ({
      severity: "error",
      where: [
        [section, key],
        [section, flag],
      ],
      message: `${describeKey(ctx.config, [section, flag])} is true but [${section}]${key} is missing`,
      allowed: `set [${section}]${key} (create-node writes it when it sets up the service)`,
    }));
}

export const CROSS_FIELD_RULES: readonly CrossFieldRule[] = [
  {
    id: "reveal-ip-tcp-handler",
    origin: "tahoe-lafs",
    keys: [REVEAL, TCP],
    summary:
      "reveal-IP-address = false needs [connections]tcp = tor or disabled (tcp, also the default, connects directly).",
    check: (ctx) =>
      revealOff(ctx) && ctx.config.connections.tcp === "tcp"
        ? [
            {
              severity: "error",
              where: [TCP, REVEAL],
              message: `${reveal(ctx)} but ${describeKey(ctx.config, TCP)} is tcp: direct TCP connections reveal this node's IP address`,
              allowed: "set [connections]tcp = tor (or disabled)",
            },
          ]
        : [],
  },
  {
    id: "reveal-ip-auto-location",
    origin: "tahoe-lafs",
    keys: [REVEAL, TUB_PORT, TUB_LOCATION],
    summary:
      "reveal-IP-address = false while tub.port listens (or is not set) needs a tub.location without AUTO (a missing tub.location means AUTO).",
    check: (ctx) => {
      const loc = ctx.config.node.tubLocation;
      const auto = loc === undefined || (loc.kind === "hints" && loc.auto);
      if (!revealOff(ctx) || !tubListens(ctx.config) || !auto) return [];
      return [
        {
          severity: "error",
          where: [TUB_LOCATION, REVEAL],
          message: `${reveal(ctx)} but ${describeKey(ctx.config, TUB_LOCATION)} is AUTO while ${describeKey(ctx.config, TUB_PORT)} listens: AUTO announces this machine's IP addresses`,
          allowed:
            "set tub.location to tor:ONION:PORT or i2p:ADDR hints (or disabled with tub.port = disabled)",
        },
      ];
    },
  },
  {
    id: "reveal-ip-tcp-hint",
    origin: "tahoe-lafs",
    keys: [REVEAL, TUB_LOCATION],
    summary: "reveal-IP-address = false forbids tcp: hints in tub.location.",
    check: (ctx) => {
      const loc = ctx.config.node.tubLocation;
      if (!revealOff(ctx) || loc?.kind !== "hints") return [];
      const tcp = loc.hints.filter((h) => h.kind === "tcp");
      if (tcp.length === 0) return [];
      return [
        {
          severity: "error",
          where: [TUB_LOCATION, REVEAL],
          message: `${reveal(ctx)} but ${describeKey(ctx.config, TUB_LOCATION)} has tcp hints (${tcp.map(formatHint).join(", ")}) that reveal an address`,
          allowed: "only tor: and i2p: hints",
        },
      ];
    },
  },
  {
    id: "tub-disabled-together",
    origin: "tahoe-lafs",
    keys: [TUB_PORT, TUB_LOCATION],
    summary: 'tub.port and tub.location are "disabled" together or not at all.',
    check: (ctx) => {
      const portOff = ctx.config.node.tubPort?.kind === "disabled";
      const locOff = ctx.config.node.tubLocation?.kind === "disabled";
      if (portOff === locOff) return [];
      const [off, on] = portOff ? [TUB_PORT, TUB_LOCATION] : [TUB_LOCATION, TUB_PORT];
      return [
        {
          severity: "error",
          where: [on, off],
          message: `${describeKey(ctx.config, off)} is disabled but ${describeKey(ctx.config, on)} is not`,
          allowed: 'set both tub.port and tub.location to "disabled", or neither',
        },
      ];
    },
  },
  {
    id: "tub-port-zero",
    origin: "tahoe-lafs",
    keys: [TUB_PORT],
    summary:
      "tub.port must name a real port: port 0 (pick any) is refused, since peers could not find it again.",
    check: (ctx) => {
      const port = ctx.config.node.tubPort;
      if (port?.kind !== "listen") return [];
      const zero = port.endpoints.filter((e) => e.kind === "tcp" && e.port === 0);
      return zero.map((e) => ({
        severity: "error",
        where: [TUB_PORT],
        message: `${describeKey(ctx.config, TUB_PORT)} listens on ${formatEndpoint(e)}: port 0 changes at every start, so the node's NURLs would go stale`,
        allowed: "a fixed port such as tcp:3457 (create-node picks a free one)",
      }));
    },
  },
  {
    id: "tor-launch-or-control-port",
    origin: "tahoe-lafs",
    keys: [
      ["tor", "launch"],
      ["tor", "control.port"],
    ],
    summary: "[tor] launch = true and [tor]control.port exclude each other.",
    check: (ctx) =>
      ctx.config.tor.launch && ctx.config.tor.controlPort !== undefined
        ? [
            {
              severity: "error",
              where: [
                ["tor", "control.port"],
                ["tor", "launch"],
              ],
              message: `${describeKey(ctx.config, ["tor", "launch"])} is true and ${describeKey(ctx.config, ["tor", "control.port"])} is set: the node either launches its own tor or uses an existing one`,
              allowed: "remove control.port, or set launch = false",
            },
          ]
        : [],
  },
  {
    id: "i2p-launch-or-sam-port",
    origin: "tahoe-lafs",
    keys: [
      ["i2p", "launch"],
      ["i2p", "sam.port"],
    ],
    summary: "[i2p] launch = true and [i2p]sam.port exclude each other.",
    check: (ctx) =>
      ctx.config.i2p.launch && ctx.config.i2p.samPort !== undefined
        ? [
            {
              severity: "error",
              where: [
                ["i2p", "sam.port"],
                ["i2p", "launch"],
              ],
              message: `${describeKey(ctx.config, ["i2p", "launch"])} is true and ${describeKey(ctx.config, ["i2p", "sam.port"])} is set: the node either launches its own I2P router or uses an existing one`,
              allowed: "remove sam.port, or set launch = false",
            },
          ]
        : [],
  },
  {
    id: "i2p-launch-unsupported",
    origin: "lafs-ts",
    keys: [["i2p", "launch"]],
    summary:
      "[i2p] launch = true is refused: lafs-ts does not start an I2P router of its own yet, and quietly using another router would surprise the user.",
    check: (ctx) =>
      ctx.config.i2p.launch
        ? [
            {
              severity: "error",
              where: [["i2p", "launch"]],
              message: `${describeKey(ctx.config, ["i2p", "launch"])} is true, but lafs-ts cannot launch an I2P router yet`,
              allowed:
                "launch = false, with a running I2P router (e.g. Debian's i2pd with its SAM bridge on) named by sam.port = tcp:127.0.0.1:7656",
            },
          ]
        : [],
  },
  {
    id: "tor-onion-keys",
    origin: "tahoe-lafs",
    keys: [
      ["tor", "onion"],
      ["tor", "launch"],
      ["tor", "control.port"],
      ["tor", "onion.local_port"],
      ["tor", "onion.external_port"],
      ["tor", "onion.private_key_file"],
    ],
    summary:
      "[tor] onion = true needs onion.local_port, onion.external_port and onion.private_key_file, and either launch = true or control.port.",
    check: (ctx) => {
      const tor = ctx.config.tor;
      if (!tor.onion) return [];
      const out = need(ctx, "tor", "onion", [
        ["onion.local_port", tor.onionLocalPort],
        ["onion.external_port", tor.onionExternalPort],
        ["onion.private_key_file", tor.onionPrivateKeyFile],
      ]);
      if (!tor.launch && tor.controlPort === undefined) {
        out.push({
          severity: "error",
          where: [
            ["tor", "onion"],
            ["tor", "launch"],
            ["tor", "control.port"],
          ],
          message: `${describeKey(ctx.config, ["tor", "onion"])} is true but neither [tor]launch = true nor [tor]control.port is set: nothing could create the onion service`,
          allowed: "set launch = true, or control.port = tcp:127.0.0.1:9051",
        });
      }
      return out;
    },
  },
  {
    id: "i2p-dest-keys",
    origin: "tahoe-lafs",
    keys: [
      ["i2p", "dest"],
      ["i2p", "launch"],
      ["i2p", "sam.port"],
      ["i2p", "dest.port"],
      ["i2p", "dest.private_key_file"],
    ],
    summary:
      "[i2p] dest = true needs dest.port and dest.private_key_file, and either launch = true or sam.port.",
    check: (ctx) => {
      const i2p = ctx.config.i2p;
      if (!i2p.dest) return [];
      const out = need(ctx, "i2p", "dest", [
        ["dest.port", i2p.destPort],
        ["dest.private_key_file", i2p.destPrivateKeyFile],
      ]);
      if (!i2p.launch && i2p.samPort === undefined) {
        out.push({
          severity: "error",
          where: [
            ["i2p", "dest"],
            ["i2p", "launch"],
            ["i2p", "sam.port"],
          ],
          message: `${describeKey(ctx.config, ["i2p", "dest"])} is true but neither [i2p]launch = true nor [i2p]sam.port is set: nothing could create the destination`,
          allowed: "set launch = true, or sam.port = tcp:127.0.0.1:7656",
        });
      }
      return out;
    },
  },
  {
    id: "tcp-via-disabled-tor",
    origin: "tahoe-lafs",
    keys: [TCP, ["tor", "enabled"]],
    summary: "[connections]tcp = tor needs Tor: [tor]enabled must not be false.",
    check: (ctx) =>
      ctx.config.connections.tcp === "tor" && !ctx.config.tor.enabled
        ? [
            {
              severity: "error",
              where: [TCP, ["tor", "enabled"]],
              message: `${describeKey(ctx.config, TCP)} is tor but ${describeKey(ctx.config, ["tor", "enabled"])} is false: no connection could be made`,
              allowed: "set [tor]enabled = true, or pick another [connections]tcp",
            },
          ]
        : [],
  },
  {
    id: "introducer-furl-deprecated",
    origin: "tahoe-lafs",
    keys: [["client", "introducer.furl"]],
    summary:
      "[client]introducer.furl still works but is deprecated (warning): list introducers in private/introducers.yaml.",
    check: (ctx) =>
      ctx.config.client.introducerFurl !== undefined
        ? [
            {
              severity: "warning",
              where: [["client", "introducer.furl"]],
              message:
                '[client]introducer.furl in tahoe.cfg is deprecated; it is used as the introducer named "default"',
              allowed:
                "move it to private/introducers.yaml (introducers: {default: {furl: ...}}) and delete this line",
            },
          ]
        : [],
  },
  {
    id: "expire-cutoff-date",
    origin: "tahoe-lafs",
    keys: [
      ["storage", "expire.mode"],
      ["storage", "expire.cutoff_date"],
    ],
    summary: "[storage]expire.mode = cutoff-date needs expire.cutoff_date.",
    check: (ctx) =>
      ctx.config.storage.expireMode === "cutoff-date" && ctx.config.storage.expireCutoffDate === undefined
        ? [
            {
              severity: "error",
              where: [
                ["storage", "expire.cutoff_date"],
                ["storage", "expire.mode"],
              ],
              message: `${describeKey(ctx.config, ["storage", "expire.mode"])} is cutoff-date but [storage]expire.cutoff_date is missing`,
              allowed: "expire.cutoff_date = YYYY-MM-DD",
            },
          ]
        : [],
  },
  {
    id: "reveal-ip-servers-yaml",
    origin: "lafs-ts",
    keys: [REVEAL],
    summary:
      "reveal-IP-address = false forbids servers.yaml entries with connections: {tcp: tcp}, which would connect directly to that server.",
    check: (ctx) =>
      revealOff(ctx)
        ? ctx.servers
            .filter((s) => s.connections?.tcp === "tcp")
            .map((s) => ({
              severity: "error" as const,
              where: [REVEAL],
              file: ctx.serversFile,
              line: s.line,
              message: `server ${s.serverId} has connections: {tcp: tcp} but ${reveal(ctx)} in ${ctx.file}: a direct connection reveals this node's IP address`,
              allowed: "connections: {tcp: tor} or {tcp: disabled}, or remove the override",
            }))
        : [],
  },
  {
    id: "reveal-ip-web-port",
    origin: "lafs-ts",
    keys: [REVEAL, WEB_PORT],
    summary:
      "reveal-IP-address = false needs web.port on a loopback interface or a unix socket (no interface means all interfaces).",
    check: (ctx) => {
      const web = ctx.config.node.webPort;
      if (!revealOff(ctx) || web === undefined || isLoopbackEndpoint(web)) return [];
      return [
        {
          severity: "error",
          where: [WEB_PORT, REVEAL],
          message: `${reveal(ctx)} but ${describeKey(ctx.config, WEB_PORT)} = ${formatEndpoint(web)} listens on ${web.kind === "tcp" && web.interface !== undefined ? `interface ${web.interface}` : "all interfaces"}, reachable from outside`,
          allowed: "tcp:PORT:interface=127.0.0.1 or unix:PATH",
        },
      ];
    },
  },
  {
    id: "reveal-ip-daemon-ports",
    origin: "lafs-ts",
    keys: [REVEAL, ["tor", "socks.port"], ["tor", "control.port"], ["i2p", "sam.port"]],
    summary:
      "reveal-IP-address = false needs [tor]socks.port, [tor]control.port and [i2p]sam.port on a loopback IP address, localhost or a unix socket (a name resolved by the system could leak, and a remote daemon sees the traffic in clear).",
    check: (ctx) => {
      if (!revealOff(ctx)) return [];
      const ports: [KeyRef, ClientEndpoint | undefined][] = [
        [["tor", "socks.port"], ctx.config.tor.socksPort],
        [["tor", "control.port"], ctx.config.tor.controlPort],
        [["i2p", "sam.port"], ctx.config.i2p.samPort],
      ];
      return ports
        .filter(([, e]) => e !== undefined && !clientEndpointIsLocal(e))
        .map(([ref, e]) => ({
          severity: "error" as const,
          where: [ref, REVEAL],
          message: `${reveal(ctx)} but ${describeKey(ctx.config, ref)} = ${formatClientEndpoint(e!)} is not on this machine's loopback interface`,
          allowed: "tcp:127.0.0.1:PORT, tcp:[::1]:PORT, tcp:localhost:PORT or unix:PATH",
        }));
    },
  },
  {
    id: "reveal-ip-public-tub-port",
    origin: "lafs-ts",
    keys: [REVEAL, TUB_PORT, TUB_LOCATION],
    summary:
      "reveal-IP-address = false with a tub.location of only tor:/i2p: hints needs tub.port on loopback: a public listener lets anyone who scans the IP address find the node.",
    check: (ctx) => {
      const loc = ctx.config.node.tubLocation;
      const port = ctx.config.node.tubPort;
      if (!revealOff(ctx) || loc?.kind !== "hints" || loc.auto || loc.hints.length === 0) return [];
      if (!loc.hints.every((h) => h.kind === "tor" || h.kind === "i2p") || port?.kind !== "listen") return [];
      return port.endpoints
        .filter((e) => !isLoopbackEndpoint(e))
        .map((e) => ({
          severity: "error" as const,
          where: [TUB_PORT, TUB_LOCATION, REVEAL],
          message: `${reveal(ctx)} and ${describeKey(ctx.config, TUB_LOCATION)} has only onion/I2P hints, but ${describeKey(ctx.config, TUB_PORT)} listens on ${formatEndpoint(e)}, reachable from outside`,
          allowed: "tcp:PORT:interface=127.0.0.1",
        }));
    },
  },
  {
    id: "control-port-loopback",
    origin: "lafs-ts",
    keys: [CONTROL_PORT],
    summary:
      "control.port must be tcp:PORT:interface=127.0.0.1: the control tub answers stop and log requests, so only this machine may reach it.",
    check: (ctx) => {
      const e = ctx.config.node.controlPort;
      if (e === undefined || (e.kind === "tcp" && e.interface === "127.0.0.1")) return [];
      const where =
        e.kind === "unix"
          ? `a unix socket (${e.path})`
          : e.interface === undefined
            ? "all interfaces"
            : `interface ${e.interface}`;
      return [
        {
          severity: "error",
          where: [CONTROL_PORT],
          message: `${describeKey(ctx.config, CONTROL_PORT)} = ${formatEndpoint(e)} listens on ${where}; the control tub listens on 127.0.0.1 only`,
          allowed: "tcp:PORT:interface=127.0.0.1",
        },
      ];
    },
  },
  {
    id: "encoding-order",
    origin: "lafs-ts",
    keys: [
      ["client", "shares.needed"],
      ["client", "shares.happy"],
      ["client", "shares.total"],
    ],
    summary:
      "1 <= shares.needed <= shares.happy <= shares.total <= 256 (Tahoe-LAFS fails later, at upload time; lafs-ts refuses the file).",
    check: (ctx) => {
      const { sharesNeeded: k, sharesHappy: h, sharesTotal: n } = ctx.config.client;
      const K: KeyRef = ["client", "shares.needed"];
      const H: KeyRef = ["client", "shares.happy"];
      const N: KeyRef = ["client", "shares.total"];
      const out: RuleFinding[] = [];
      const fail = (a: KeyRef, av: number, b: KeyRef, bv: number) =>
        out.push({
          severity: "error",
          where: [a, b],
          message: `${describeKey(ctx.config, a)} = ${av} is greater than ${describeKey(ctx.config, b)} = ${bv}`,
          allowed: "1 <= shares.needed <= shares.happy <= shares.total <= 256",
        });
      if (k > h) fail(K, k, H, h);
      if (h > n) fail(H, h, N, n);
      return out;
    },
  },
  {
    id: "storage-needs-tub-port",
    origin: "lafs-ts",
    keys: [["storage", "enabled"], TUB_PORT],
    summary:
      "A storage server ([storage]enabled = true, the default) needs tub.port: with tub.port = disabled nobody could reach it.",
    check: (ctx) =>
      ctx.config.storage.enabled && ctx.config.node.tubPort?.kind === "disabled"
        ? [
            {
              severity: "error",
              where: [["storage", "enabled"], TUB_PORT],
              message: `${describeKey(ctx.config, ["storage", "enabled"])} is true (the default) but ${describeKey(ctx.config, TUB_PORT)} is disabled: no client could reach the storage server`,
              allowed:
                "set [storage]enabled = false for a client-only node, or give tub.port a listening endpoint",
            },
          ]
        : [],
  },
];

/**
 * Runs every cross-field rule. A rule is skipped when a key it reads failed to parse, so one
 * typo does not also produce confusing follow-up errors.
 */
export function checkCrossFieldRules(ctx: RuleContext, failedKeys: ReadonlySet<string>): SeverityIssue[] {
  const issues: SeverityIssue[] = [];
  for (const rule of CROSS_FIELD_RULES) {
    if (rule.keys.some(([s, k]) => failedKeys.has(`[${s}]${k.toLowerCase()}`))) continue;
    for (const f of rule.check(ctx)) {
      const present = f.where.find(([s, k]) => lineOf(ctx.config, s, k) !== undefined);
      const [section, key] = present ?? f.where[0]!;
      const line =
        f.file !== undefined ? f.line : (lineOf(ctx.config, section, key) ?? lineOf(ctx.config, section));
      issues.push({
        severity: f.severity,
        file: f.file ?? ctx.file,
        line,
        section: f.file !== undefined ? undefined : section,
        key: f.file !== undefined ? undefined : key,
        message: f.message,
        allowed: f.allowed,
      });
    }
  }
  return issues;
}

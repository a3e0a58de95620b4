import {
  type ConnectionHint,
  formatHint,
  type StaticServer,
  type TahoeConfig,
  type TcpHandlerChoice,
} from "@lafs/config";
import { hintMatches } from "./hint-pattern.js";
import type { OverrideRule } from "./override-rules.js";

export type HandlerName = "tcp" | "tor" | "i2p" | "disabled";

/** What an introducer (or any announcement source) says about reaching one server. */
export interface AnnouncedConnections {
  tcp: TcpHandlerChoice;
}

/** The handler for one hint, and the setting that chose it, in words a user can go and change. */
export interface HandlerDecision {
  handler: HandlerName;
  /** e.g. `[connections]tcp = tor (tahoe.cfg line 7)` or `private/connections.rules:3: hint *.lan tcp`. */
  setting: string;
  source: "hint-kind" | "servers.yaml" | "rules" | "announced" | "tahoe.cfg";
}

export interface PolicyInput {
  tcp: TcpHandlerChoice;
  tcpLine?: number | undefined;
  staticServers: readonly StaticServer[];
  serversFile: string;
  rules: readonly OverrideRule[];
  announced: ReadonlyMap<string, AnnouncedConnections>;
}

export function policyInput(
  config: Pick<TahoeConfig, "connections"> & Partial<Pick<TahoeConfig, "sourceLines">>,
  staticServers: readonly StaticServer[],
  serversFile: string,
  rules: readonly OverrideRule[],
  announced: ReadonlyMap<string, AnnouncedConnections>,
): PolicyInput {
  return {
    tcp: config.connections.tcp ?? "tcp",
    tcpLine: config.sourceLines?.["[connections]tcp"],
    staticServers,
    serversFile,
    rules,
    announced,
  };
}

function ruleText(rule: OverrideRule): string {
  const target =
    rule.match.kind === "server" ? `server ${rule.match.serverId}` : `hint ${rule.match.pattern.text}`;
  return `${rule.file}:${rule.line}: ${target} ${rule.handler}`;
}

/** Whether a rule decides this hint: server rules and non-disabled rules only steer tcp hints. */
function ruleApplies(rule: OverrideRule, hint: ConnectionHint, serverId: string | undefined): boolean {
  if (rule.match.kind === "server") return hint.kind === "tcp" && rule.match.serverId === serverId;
  if (!hintMatches(rule.match.pattern, hint)) return false;
  return hint.kind === "tcp" || rule.handler === "disabled";
}

/**
 * Chooses the handler for a hint: servers.yaml `connections:` > override rules (first match) >
 * announced data > `[connections] tcp`. An announcement may move a server off direct TCP but
 * never onto it: a hostile introducer must not be able to make a node reveal its address.
 */
export function decideHandler(
  input: PolicyInput,
  hint: ConnectionHint,
  serverId: string | undefined,
): HandlerDecision {
  const hintText = safeHint(hint);
  if (hint.kind === "tcp" && serverId !== undefined) {
    const server = input.staticServers.find((s) => s.serverId === serverId);
    if (server?.connections) {
      const where =
        server.line === undefined ? input.serversFile : `${input.serversFile} line ${server.line}`;
      return {
        handler: server.connections.tcp,
        setting: `connections: {tcp: ${server.connections.tcp}} for server ${serverId} (${where})`,
        source: "servers.yaml",
      };
    }
  }
  const rule = input.rules.find((r) => ruleApplies(r, hint, serverId));
  if (rule) return { handler: rule.handler, setting: ruleText(rule), source: "rules" };
  if (hint.kind !== "tcp") {
    return { handler: hint.kind, setting: `${hintText} is a ${hint.kind}: hint`, source: "hint-kind" };
  }
  const announced = serverId === undefined ? undefined : input.announced.get(serverId);
  if (announced && !(announced.tcp === "tcp" && input.tcp !== "tcp")) {
    return {
      handler: announced.tcp,
      setting: `the announcement of server ${serverId} (connections: {tcp: ${announced.tcp}})`,
      source: "announced",
    };
  }
  const line = input.tcpLine === undefined ? "the default" : `tahoe.cfg line ${input.tcpLine}`;
  return { handler: input.tcp, setting: `[connections]tcp = ${input.tcp} (${line})`, source: "tahoe.cfg" };
}

export function safeHint(hint: ConnectionHint): string {
  try {
    return formatHint(hint);
  } catch {
    return `${hint.kind}:${hint.host}${hint.port === undefined ? "" : `:${hint.port}`}`;
  }
}

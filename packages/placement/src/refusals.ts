import { nameServers, serverLabel } from "./server-label.js";
import type { PlacementRefusal } from "./types.js";

interface Named {
  readonly id: string;
  readonly nickname?: string | undefined;
}

function serverPhrase(servers: readonly Named[]): { subject: string; verb: string } {
  const names = nameServers(servers.map(serverLabel));
  return servers.length === 1
    ? { subject: `server ${names}`, verb: "is" }
    : { subject: `servers ${names}`, verb: "are" };
}

const ids = (servers: readonly Named[]): string[] => servers.map((s) => s.id);

export function requiredNotAllowed(servers: readonly Named[]): PlacementRefusal {
  const { subject, verb } = serverPhrase(servers);
  return {
    code: "TAHOE_ERR_PLACEMENT_REQUIRED_NOT_ALLOWED",
    message: `uploads disabled: ${subject} ${verb} required but not allowed`,
    hint: 'A required server must also be allowed: tick "allowed" for it in the control panel, or untick "required".',
    servers: ids(servers),
  };
}

export function requiredNotConnected(servers: readonly Named[]): PlacementRefusal {
  const { subject, verb } = serverPhrase(servers);
  return {
    code: "TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED",
    message: `uploads disabled: ${subject} ${verb} required but not connected`,
    hint: 'Wait until the server is connected (see the welcome page), or untick "required" for it in the control panel.',
    servers: ids(servers),
  };
}

export function requiredReadOnly(servers: readonly Named[]): PlacementRefusal {
  const { subject, verb } = serverPhrase(servers);
  return {
    code: "TAHOE_ERR_PLACEMENT_REQUIRED_READ_ONLY",
    message: `uploads disabled: ${subject} ${verb} required but read-only or full, and hold${servers.length === 1 ? "s" : ""} no share of this file`,
    hint: 'A required server must accept a share: free space on it (or make it writable), or untick "required" for it in the control panel.',
    servers: ids(servers),
  };
}

export function noServers(): PlacementRefusal {
  return {
    code: "TAHOE_ERR_PLACEMENT_NO_SERVERS",
    message: "uploads disabled: no storage servers are known",
    hint: "Check that the node reaches its introducer (private/introducers.yaml) or lists servers in private/servers.yaml.",
    servers: [],
  };
}

export function notEnoughAllowed(allowed: number, happy: number): PlacementRefusal {
  return {
    code: "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_ALLOWED",
    message: `uploads disabled: only ${allowed} server(s) are allowed, but shares must go to at least ${happy} server(s) (shares.happy = ${happy})`,
    hint: 'Tick "allowed" for more servers in the control panel, or lower shares.happy in tahoe.cfg [client].',
    servers: [],
  };
}

export function notEnoughConnected(
  connected: number,
  allowed: number,
  happy: number,
  disconnected: readonly Named[],
): PlacementRefusal {
  return {
    code: "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_CONNECTED",
    message: `uploads disabled: only ${connected} of the ${allowed} allowed server(s) are connected, but shares must go to at least ${happy} server(s) (shares.happy = ${happy}); not connected: ${nameServers(disconnected.map(serverLabel))}`,
    hint: "Wait until more servers are connected (see the welcome page), allow more servers, or lower shares.happy.",
    servers: ids(disconnected),
  };
}

export function notEnoughWritable(
  writable: number,
  connected: number,
  happy: number,
  readOnly: readonly Named[],
): PlacementRefusal {
  const { subject, verb } = serverPhrase(readOnly);
  return {
    code: "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_WRITABLE",
    message: `uploads disabled: ${subject} ${verb} read-only or full, so only ${writable} of the ${connected} connected allowed server(s) can take new shares, but shares must go to at least ${happy} server(s) (shares.happy = ${happy})`,
    hint: "Free space on the full servers, allow more servers that have space, or lower shares.happy.",
    servers: ids(readOnly),
  };
}

const UNHAPPY_HINT =
  "Connect to more storage servers or allow more of them, or lower shares.happy (and shares.needed) in tahoe.cfg [client].";

/**
 * Tahoe-LAFS's own words for an upload below happiness (allmydata/util/happinessutil.py
 * `failure_message`), so a user sees what Tahoe would print. `serverCount` is the number
 * of servers that hold or would hold a share.
 */
export function belowHappiness(
  serverCount: number,
  k: number,
  happy: number,
  happiness: number,
): PlacementRefusal {
  if (serverCount < k) {
    return {
      code: "TAHOE_ERR_PLACEMENT_TOO_FEW_SERVERS",
      message: `shares could be placed or found on only ${serverCount} server(s). We were asked to place shares on at least ${happy} server(s) such that any ${k} of them have enough shares to recover the file.`,
      hint: UNHAPPY_HINT,
      servers: [],
    };
  }
  if (happiness < k) {
    return {
      code: "TAHOE_ERR_PLACEMENT_NOT_SPREAD",
      message: `shares could be placed or found on ${serverCount} server(s), but they are not spread out evenly enough to ensure that any ${k} of these servers would have enough shares to recover the file. We were asked to place shares on at least ${happy} servers such that any ${k} of them have enough shares to recover the file.`,
      hint: "The servers that hold shares hold copies of the same few shares; make more servers writable so new shares can be spread, or lower shares.needed.",
      servers: [],
    };
  }
  return {
    code: "TAHOE_ERR_PLACEMENT_UNHAPPY",
    message: `shares could be placed on only ${happiness} server(s) such that any ${k} of them have enough shares to recover the file, but we were asked to place shares on at least ${happy} such servers.`,
    hint: UNHAPPY_HINT,
    servers: [],
  };
}

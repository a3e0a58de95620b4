import {
  type ConfigIssue,
  formatEndpoint,
  formatIssue,
  type ListenEndpoint,
  type TahoeConfig,
} from "@lafs/config";
import {
  type ActivityTracker,
  CONTROL_HOST,
  type ControlIdentity,
  type ControlTub,
  ControlTubError,
  type ControlUrl,
  createControlTub,
  type LogHub,
  newControlIdentity,
  readControlIdentity,
  readControlUrl,
  writeControlFiles,
} from "@lafs/control-tub";
import type { Logger, Startable } from "@lafs/interface";
import { type ServerFlags, serverFlagsFromFiles } from "@lafs/storage-client";
import type { TorStatus } from "@lafs/transport";
import type { GridStatus } from "./introducer-node.js";

export interface ControlTubServiceOptions {
  basedir: string;
  config: TahoeConfig;
  logs: LogHub;
  activity: ActivityTracker;
  logger: Logger;
  version: string;
  nodeId: string;
  /** The grid side once it runs (servers connected); read at each status request. */
  grid: () => GridStatus | undefined;
  /** The node's Tor state, when it uses Tor (transport's TorStatus). */
  torStatus?: (() => TorStatus) | undefined;
  /** Asks the node to stop gracefully (runNode's abort). */
  requestStop: () => void;
  now?: () => number;
}

/** What `POST /SWISSNUM/reload` answers: the servers-allowed / servers-required now in force. */
export interface ReloadAnswer {
  /** The allowed server ids, or null when servers-allowed does not exist (every server allowed). */
  allowed: string[] | null;
  required: string[];
  /** Line-numbered problems (file:line: message); the lines they name are ignored. */
  errors: string[];
}

export interface ControlTubService extends Startable {
  /** private/control.url's content once started. */
  url(): ControlUrl | undefined;
  /** The bound address, from the socket. */
  address(): { host: string; port: number } | undefined;
  /** The flags from the last reload (or from start). */
  serverFlags(): ServerFlags | undefined;
}

/** The port the control tub must use: only 127.0.0.1 is ever bound, whatever the config says. */
export function controlPortOf(endpoint: ListenEndpoint | undefined): number | undefined {
  if (endpoint === undefined) return undefined;
  if (endpoint.kind !== "tcp" || endpoint.interface !== CONTROL_HOST) {
    throw new ControlTubError(
      "TAHOE_ERR_CONTROL_NOT_LOOPBACK",
      `[node]control.port = ${formatEndpoint(endpoint)} is not on ${CONTROL_HOST}; the control tub listens there only`,
      { hint: `write control.port = tcp:PORT:interface=${CONTROL_HOST}` },
    );
  }
  return endpoint.port;
}

function reloadAnswer(flags: ServerFlags): ReloadAnswer {
  return {
    allowed: flags.allowedIds === undefined ? null : [...flags.allowedIds],
    required: [...flags.requiredIds],
    errors: flags.issues.map((i: ConfigIssue) => formatIssue(i)),
  };
}

/**
 * The node's control tub: its own key (private/control.pem, made at create time or at the first
 * start of an older directory), on 127.0.0.1 at [node]control.port, or at the port
 * private/control.url already names, or at a fresh one. private/control.url is rewritten when
 * the port or key changes, so local tools always find the running node.
 */
export function createControlTubService(options: ControlTubServiceOptions): ControlTubService {
  const now = options.now ?? Date.now;
  const log = options.logger.child({ component: "control-tub" });
  let tub: ControlTub | undefined;
  let url: ControlUrl | undefined;
  let flags: ServerFlags | undefined;
  let startedAt = 0;

  function status(): Record<string, unknown> {
    const grid = options.grid();
    const servers = grid?.serverList?.servers() ?? [];
    return {
      version: options.version,
      nodeId: options.nodeId,
      nickname: options.config.node.nickname,
      startedAt: new Date(startedAt).toISOString(),
      uptimeSeconds: Math.floor((now() - startedAt) / 1000),
      introducer: grid?.introducerNurls !== undefined,
      servers: {
        known: servers.length,
        connected: servers.filter((s) => s.connection.state === "connected").length,
        list: servers.map((s) => ({
          serverId: s.serverId,
          nickname: s.nickname,
          connected: s.connection.state === "connected",
          since: "since" in s.connection ? s.connection.since : null,
        })),
      },
      activity: options.activity.list().map((a) => ({
        kind: a.kind,
        name: a.name,
        doneBytes: a.doneBytes,
        totalBytes: a.totalBytes ?? null,
        progress: a.totalBytes ? a.doneBytes / a.totalBytes : null,
        startedAt: new Date(a.startedAt).toISOString(),
      })),
      ...(options.torStatus === undefined ? {} : { tor: options.torStatus() }),
    };
  }

  async function reload(): Promise<ReloadAnswer> {
    flags = await serverFlagsFromFiles(options.basedir, { newServers: options.config.client.newServers });
    const answer = reloadAnswer(flags);
    log.info(
      {
        allowed: answer.allowed?.length ?? "all",
        required: answer.required.length,
        errors: answer.errors.length,
      },
      "servers-allowed / servers-required reloaded",
    );
    return answer;
  }

  async function listen(identity: ControlIdentity, port: number): Promise<ControlTub> {
    const candidate = createControlTub({
      tls: identity.tls,
      port,
      swissnum: identity.swissnum,
      logs: options.logs,
      status,
      onStop: () => {
        log.info("stop requested through the control tub");
        options.requestStop();
      },
      reload,
    });
    await candidate.start();
    return candidate;
  }

  return {
    async start() {
      const configured = controlPortOf(options.config.node.controlPort);
      const existing = await readControlUrl(options.basedir).catch(() => undefined);
      const identity =
        (await readControlIdentity(options.basedir).catch(() => undefined)) ?? newControlIdentity();
      flags = await serverFlagsFromFiles(options.basedir, { newServers: options.config.client.newServers });
      startedAt = now();
      if (configured !== undefined) tub = await listen(identity, configured);
      else {
        // An older directory has no control.port: keep the port it was given last time if it is free.
        try {
          tub = await listen(identity, existing?.port ?? 0);
        } catch (error) {
          if (existing === undefined) throw error;
          tub = await listen(identity, 0);
        }
      }
      const bound = tub.address()!;
      url = { spkiHash: identity.tls.spkiHash, port: bound.port, swissnum: identity.swissnum };
      if (
        existing?.port !== url.port ||
        existing.spkiHash !== url.spkiHash ||
        existing.swissnum !== url.swissnum
      ) {
        await writeControlFiles(options.basedir, identity, bound.port);
      }
      log.info({ address: `${bound.host}:${bound.port}` }, "control tub running");
    },

    async stop() {
      await tub?.stop();
      tub = undefined;
    },

    url: () => url,
    address: () => tub?.address(),
    serverFlags: () => flags,
  };
}

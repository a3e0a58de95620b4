import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  formatHint,
  NODE_FILES,
  parseNurl,
  parseServersYaml,
  type StaticServer,
  writePrivateFile,
} from "@lafs/config";
import type { Logger, Startable } from "@lafs/interface";
import {
  type ConnectFunction,
  createServerList,
  gridSnapshot,
  type IntroducerClient,
  type ProbeFunction,
  type ServerInfo,
  type ServerList,
  ServerUnreachableError,
} from "@lafs/introducer-client";
import { createStorageClient, type StorageClient } from "@lafs/storage-client";
import { errnoCode } from "./errors.js";

/**
 * What the node knows of the grid, rewritten (atomically) at every change: introducers and
 * servers with their connection state, without NURLs or swissnums. Tools and tests read it
 * until the web server shows the same on its welcome page.
 */
export const SERVER_LIST_FILE = "private/server-list.json";

export async function readStaticServers(basedir: string): Promise<StaticServer[]> {
  const path = join(basedir, NODE_FILES.serversYaml);
  try {
    // loadNodeConfig has reported this file's issues already; the valid entries are used.
    return parseServersYaml(await readFile(path, "utf8"), path).servers;
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return [];
    throw error;
  }
}

export interface ServerListServiceOptions {
  basedir: string;
  staticServers: readonly StaticServer[];
  introducers: readonly IntroducerClient[];
  /** The connector for one server (its servers.yaml `connections:` override applied). */
  connectorFor: (server: ServerInfo) => ConnectFunction;
  /** Which handler carries a tcp hint of this server: tcp, tor, or disabled. */
  tcpHandlerFor: (server: ServerInfo) => string;
  logger: Logger;
  pollIntervalMs?: number;
  probeTimeoutMs?: number;
}

export interface ServerListService extends Startable {
  readonly list: ServerList;
}

/**
 * GBS liveness as Tahoe-LAFS does it: `GET /storage/v1/version` on every NURL of a server in
 * parallel, the first answer wins; each failing hint keeps its own error.
 */
function storageProbe(
  connectorFor: (server: ServerInfo) => ConnectFunction,
  tcpHandlerFor: (server: ServerInfo) => string,
  clients: Map<string, StorageClient>,
  logger: Logger,
  timeoutMs: number,
): ProbeFunction {
  return async (server, signal) => {
    const attempts = server.nurls.map(async (nurl) => {
      const parsed = parseNurl(nurl);
      const hint = parsed.hints.map(formatHint).join(",");
      const key = `${server.serverId} ${nurl}`;
      let client = clients.get(key);
      if (client === undefined) {
        client = createStorageClient({ nurl: parsed, connect: connectorFor(server), timeoutMs, logger });
        clients.set(key, client);
      }
      try {
        const version = await client.version({ signal, timeoutMs });
        const kind = parsed.hints[0]?.kind ?? "tcp";
        return {
          availableSpace: version.availableSpace,
          applicationVersion: version.applicationVersion,
          hint,
          handler: kind === "tcp" ? tcpHandlerFor(server) : kind,
        };
      } catch (error) {
        throw { hint, message: (error as Error).message ?? String(error) };
      }
    });
    try {
      return await Promise.any(attempts);
    } catch (error) {
      const errors = (error as AggregateError).errors as { hint: string; message: string }[];
      throw new ServerUnreachableError(server.serverId, errors);
    }
  };
}

export function createServerListService(options: ServerListServiceOptions): ServerListService {
  const clients = new Map<string, StorageClient>();
  const probeTimeoutMs = options.probeTimeoutMs ?? 5000;
  const list = createServerList({
    staticServers: options.staticServers,
    probe: storageProbe(options.connectorFor, options.tcpHandlerFor, clients, options.logger, probeTimeoutMs),
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    probeTimeoutMs,
    logger: options.logger,
  });
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  const unsubscribers: (() => void)[] = [];

  function write(): void {
    const snapshot = gridSnapshot(
      list.servers(),
      options.introducers.map((c) => c.status()),
      Date.now(),
    );
    writing = writing
      .then(() =>
        writePrivateFile(options.basedir, SERVER_LIST_FILE, `${JSON.stringify(snapshot, null, 2)}\n`),
      )
      .catch((error: unknown) => options.logger.warn({ err: error }, `cannot write ${SERVER_LIST_FILE}`));
  }

  function scheduleWrite(): void {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      write();
    }, 100);
  }

  return {
    list,
    async start() {
      for (const client of options.introducers) {
        list.addIntroducer(client);
        unsubscribers.push(client.onStatus(scheduleWrite));
      }
      unsubscribers.push(list.onChange(scheduleWrite));
      await list.start();
      write();
    },
    async stop() {
      for (const u of unsubscribers.splice(0)) u();
      await list.stop();
      clearTimeout(timer);
      timer = undefined;
      write();
      await writing;
      await Promise.allSettled([...clients.values()].map((c) => c.close()));
      clients.clear();
    },
  };
}

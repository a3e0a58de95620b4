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
  type GridSnapshot,
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

/** A change of free space or answer times alone is written at most this often. */
export const FIGURES_ONLY_WRITE_MS = 60_000;

interface WrittenState {
  /** Servers, their connection state, introducers: what a reader of the file acts on. */
  essentials: string;
  /** Everything but the write time. */
  full: string;
}

function writtenState(snapshot: GridSnapshot): WrittenState {
  const { introducers, servers } = snapshot;
  return {
    essentials: JSON.stringify({
      introducers: introducers.map(({ lastReceivedAt: _r, ...rest }) => rest),
      servers: servers.map(({ availableSpace: _s, lastReceivedAt: _r, connection, ...rest }) => ({
        ...rest,
        // A server that stays down fails each probe anew: the time of its errors is a figure too.
        connection:
          "errors" in connection
            ? { ...connection, errors: connection.errors.map(({ at: _a, ...e }) => e) }
            : connection,
      })),
    }),
    full: JSON.stringify({ introducers, servers }),
  };
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
  /** Default FIGURES_ONLY_WRITE_MS; tests shorten it. */
  figuresWriteIntervalMs?: number;
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
  let timer: { handle: NodeJS.Timeout; dueAt: number } | undefined;
  let writing: Promise<void> = Promise.resolve();
  const figuresWriteMs = options.figuresWriteIntervalMs ?? FIGURES_ONLY_WRITE_MS;
  let written: { state: WrittenState; at: number } | undefined;
  const unsubscribers: (() => void)[] = [];

  function snapshotNow(): GridSnapshot {
    return gridSnapshot(
      list.servers(),
      options.introducers.map((c) => c.status()),
      Date.now(),
    );
  }

  function write(): void {
    const snapshot = snapshotNow();
    written = { state: writtenState(snapshot), at: Date.now() };
    writing = writing
      .then(() =>
        writePrivateFile(options.basedir, SERVER_LIST_FILE, `${JSON.stringify(snapshot, null, 2)}\n`),
      )
      .catch((error: unknown) => options.logger.warn({ err: error }, `cannot write ${SERVER_LIST_FILE}`));
  }

  /**
   * Every probe refreshes a server's space and answer time; writing (and fsyncing) the file for
   * that alone each second cost more than the probes. Changes a reader acts on are written
   * within 100 ms, the refreshed figures alone at most once a minute, and stop writes the newest.
   */
  function scheduleWrite(): void {
    const state = writtenState(snapshotNow());
    let dueAt: number;
    if (written === undefined || state.essentials !== written.state.essentials) dueAt = Date.now() + 100;
    else if (state.full !== written.state.full) dueAt = written.at + figuresWriteMs;
    else return;
    if (timer !== undefined && timer.dueAt <= dueAt) return;
    clearTimeout(timer?.handle);
    const handle = setTimeout(
      () => {
        timer = undefined;
        write();
      },
      Math.max(0, dueAt - Date.now()),
    );
    handle.unref?.();
    timer = { handle, dueAt };
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
      clearTimeout(timer?.handle);
      timer = undefined;
      write();
      await writing;
      await Promise.allSettled([...clients.values()].map((c) => c.close()));
      clients.clear();
    },
  };
}

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
  type IntroducerConnectionStatus,
  type ProbeFunction,
  type ServerInfo,
  type ServerList,
  type ServerListEvent,
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

/**
 * What server-list.json holds, by server id and introducer petname: the server list's and the
 * introducers' own objects, which they replace (never change) when something changes.
 */
export interface WrittenGrid {
  servers: ReadonlyMap<string, ServerInfo>;
  introducers: ReadonlyMap<string, IntroducerConnectionStatus>;
}

/**
 * How an event changed the grid against what was written: not at all, only in figures (free
 * space, answer times), or in what a reader of the file acts on (servers, their connection
 * state, introducers).
 */
export type GridChange = "none" | "figures" | "essentials";

/** A server that stays down fails each probe anew: the time (`at`) of its errors is a figure too. */
const SERVER_FIGURES: ReadonlySet<string> = new Set(["availableSpace", "lastReceivedAt", "at"]);
const INTRODUCER_FIGURES: ReadonlySet<string> = new Set(["lastReceivedAt"]);
/** What gridSnapshot leaves out of the file (secrets): a change there is no change to it. */
const UNWRITTEN_SERVER_KEYS: ReadonlySet<string> = new Set(["announcement", "nurls", "furl"]);

function worse(a: GridChange, b: GridChange): GridChange {
  return a === "essentials" || b === "essentials" ? "essentials" : a === "figures" ? a : b;
}

/**
 * Compares two values as their JSON would show them (a missing key and an undefined one are the
 * same). Keys in `figures` count as figures wherever they stand; `unwritten` keys of the outer
 * object are skipped. Objects that did not change are the same objects, so they cost nothing.
 */
function valueChange(
  a: unknown,
  b: unknown,
  figures: ReadonlySet<string>,
  unwritten?: ReadonlySet<string>,
): GridChange {
  if (a === b) return "none";
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return "essentials";
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return "essentials";
    let change: GridChange = "none";
    for (let i = 0; i < a.length && change !== "essentials"; i++) {
      change = worse(change, valueChange(a[i], b[i], figures));
    }
    return change;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let change: GridChange = "none";
  for (const key in x) {
    if (change === "essentials") break;
    change = worse(change, keyChange(key, x[key], y[key], figures, unwritten));
  }
  for (const key in y) {
    if (change === "essentials") break;
    if (!Object.hasOwn(x, key)) change = worse(change, keyChange(key, undefined, y[key], figures, unwritten));
  }
  return change;
}

function keyChange(
  key: string,
  a: unknown,
  b: unknown,
  figures: ReadonlySet<string>,
  unwritten: ReadonlySet<string> | undefined,
): GridChange {
  if (a === b || unwritten?.has(key)) return "none";
  return figures.has(key) ? "figures" : valueChange(a, b, figures);
}

/** What a server-list event changed in the file as written: only its own server is compared. */
export function serverEventChange(written: WrittenGrid, event: ServerListEvent): GridChange {
  if (event.type === "removed") return written.servers.has(event.serverId) ? "essentials" : "none";
  const before = written.servers.get(event.server.serverId);
  if (before === undefined) return "essentials";
  return valueChange(before, event.server, SERVER_FIGURES, UNWRITTEN_SERVER_KEYS);
}

/** What an introducer's new status changed in the file as written. */
export function introducerStatusChange(written: WrittenGrid, status: IntroducerConnectionStatus): GridChange {
  const before = written.introducers.get(status.petname);
  return before === undefined ? "essentials" : valueChange(before, status, INTRODUCER_FIGURES);
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
  let written: { grid: WrittenGrid; at: number } | undefined;
  const unsubscribers: (() => void)[] = [];

  function write(): void {
    const servers = list.servers();
    const introducers = options.introducers.map((c) => c.status());
    const at = Date.now();
    const snapshot = gridSnapshot(servers, introducers, at);
    written = {
      grid: {
        servers: new Map(servers.map((s) => [s.serverId, s])),
        introducers: new Map(introducers.map((i) => [i.petname, i])),
      },
      at,
    };
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
  function scheduleWrite(changeOf: (written: WrittenGrid) => GridChange): void {
    const soon = Date.now() + 100;
    // A write within 100 ms takes whatever changed by then.
    if (timer !== undefined && timer.dueAt <= soon) return;
    let dueAt = soon;
    if (written !== undefined) {
      const change = changeOf(written.grid);
      if (change === "none") return;
      if (change === "figures") dueAt = written.at + figuresWriteMs;
    }
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
        unsubscribers.push(
          client.onStatus((status) => scheduleWrite((w) => introducerStatusChange(w, status))),
        );
      }
      unsubscribers.push(list.onChange((event) => scheduleWrite((w) => serverEventChange(w, event))));
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

import { setMaxListeners } from "node:events";
import { parseFurl } from "@lafs/config";
import type { Logger } from "@lafs/interface";
import type { ServerInfo, ServerList } from "@lafs/introducer-client";
import { permutationSeedFor, serverLabel } from "@lafs/placement";
import {
  type ConnectFunction,
  createStorageClient,
  type GridServer,
  type StorageClient,
  type UploadServer,
} from "@lafs/storage-client";

export interface GridClientsOptions {
  serverList: ServerList;
  /** The node transport's connector for one server, so [connections] and overrides apply. */
  connectorFor: (serverId: string) => ConnectFunction;
  logger: Logger;
}

/**
 * One storage client per known server, made from its first NURL on first use and kept while
 * the NURL stays the same, so uploads and downloads reuse its connections.
 */
export interface GridClients {
  /** Every server with a NURL, for the downloader (connected or not: it skips the others). */
  downloadServers(): GridServer[];
  /** Servers with a NURL and a storage fURL (whose tub id seeds the lease secrets). */
  uploadServers(): UploadServer[];
  /** Closes every client; later calls make new ones. */
  close(): Promise<void>;
}

interface Cached {
  nurl: string;
  client: StorageClient;
}

function leaseSeedOf(server: ServerInfo): Uint8Array | undefined {
  if (server.furl === undefined) return undefined;
  try {
    return parseFurl(server.furl).tubIdBytes;
  } catch {
    return undefined;
  }
}

export function createGridClients(options: GridClientsOptions): GridClients {
  const cache = new Map<string, Cached>();
  const retired: StorageClient[] = [];
  const seeds = new Map<string, { text: string | undefined; seed: Uint8Array }>();
  // One signal per server and connected spell: the liveness probe's "disconnected" aborts it, so
  // transfers drop a hung server within the probe's timeout instead of their own (60 s).
  const lost = new Map<string, AbortController>();
  const stopWatching = options.serverList.onChange((event) => {
    if (event.type !== "disconnected" && event.type !== "removed") return;
    const id = event.type === "removed" ? event.serverId : event.server.serverId;
    const controller = lost.get(id);
    lost.delete(id);
    controller?.abort(new Error(`server ${id} stopped answering its liveness probe`));
  });

  function lostSignalFor(serverId: string): AbortSignal {
    let controller = lost.get(serverId);
    if (controller === undefined) {
      controller = new AbortController();
      // Every call in flight to the server listens on it: many at once are normal, not a leak.
      setMaxListeners(0, controller.signal);
      lost.set(serverId, controller);
    }
    return controller.signal;
  }

  function clientFor(server: ServerInfo): StorageClient | undefined {
    const nurl = server.nurls[0];
    if (nurl === undefined) return undefined;
    const cached = cache.get(server.serverId);
    if (cached !== undefined && cached.nurl === nurl) return cached.client;
    // A new announcement with another NURL: calls in flight finish on the old client.
    if (cached !== undefined) retired.push(cached.client);
    try {
      const client = createStorageClient({
        nurl,
        connect: options.connectorFor(server.serverId),
        label: serverLabel({ id: server.serverId, nickname: server.nickname }),
        logger: options.logger.child({ component: "storage-client", server: server.serverId.slice(0, 13) }),
        // Every answer (an error status too) shows the server alive: the server list then skips
        // its liveness probes while transfers keep it busy.
        onAnswer: () => options.serverList.noteReceived(server.serverId),
      });
      cache.set(server.serverId, { nurl, client });
      return client;
    } catch (error) {
      options.logger.warn({ err: error, server: server.serverId }, "server skipped: its NURL is unusable");
      return undefined;
    }
  }

  function seedFor(server: ServerInfo): Uint8Array | undefined {
    const known = seeds.get(server.serverId);
    if (known !== undefined && known.text === server.permutationSeedBase32) return known.seed;
    try {
      const seed = permutationSeedFor(server.serverId, server.permutationSeedBase32);
      seeds.set(server.serverId, { text: server.permutationSeedBase32, seed });
      return seed;
    } catch (error) {
      options.logger.warn({ err: error, server: server.serverId }, "server skipped: bad permutation seed");
      return undefined;
    }
  }

  function gridServer(server: ServerInfo): GridServer | undefined {
    const permutationSeed = seedFor(server);
    const client = permutationSeed === undefined ? undefined : clientFor(server);
    if (client === undefined || permutationSeed === undefined) return undefined;
    const connected = server.connection.state === "connected";
    return {
      id: server.serverId,
      nickname: server.nickname,
      permutationSeed,
      client,
      connected,
      ...(connected ? { lost: lostSignalFor(server.serverId) } : {}),
    };
  }

  return {
    downloadServers() {
      return options.serverList.servers().flatMap((s) => gridServer(s) ?? []);
    },
    uploadServers() {
      return options.serverList.servers().flatMap((s) => {
        const base = gridServer(s);
        const leaseSeed = leaseSeedOf(s);
        return base === undefined || leaseSeed === undefined ? [] : [{ ...base, leaseSeed }];
      });
    },
    async close() {
      stopWatching();
      const clients = [...[...cache.values()].map((c) => c.client), ...retired.splice(0)];
      cache.clear();
      await Promise.allSettled(clients.map((c) => c.close()));
    },
  };
}

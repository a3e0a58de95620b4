import { rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { ListenEndpoint } from "@lafs/config";
import { noSchemaCompilers, type Startable } from "@lafs/interface";
import { describeListenEndpoint, listenOnEndpoint } from "@lafs/transport";
import Fastify from "fastify";
import { StorageServerError } from "./errors.js";
import type { StorageServerOptions } from "./options.js";
import { storageServerPlugin } from "./plugin.js";

export interface StorageServer extends Startable {
  /** The bound TCP addresses once started (port 0 resolves to the real port); unix sockets are not listed. */
  addresses(): { host: string; port: number }[];
}

export interface CreateStorageServerOptions extends StorageServerOptions {
  tls: { keyPem: string; certPem: string };
  listen: ListenEndpoint[];
}

async function listenOn(server: Server, endpoint: ListenEndpoint): Promise<void> {
  try {
    await listenOnEndpoint(server, endpoint);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new StorageServerError(
      "TAHOE_ERR_STORAGE_SERVER_LISTEN",
      500,
      `storage server cannot listen on ${describeListenEndpoint(endpoint)}: ${message}`,
      {
        hint: "pick a free port or socket path in tub.port, or stop the process that holds it",
        cause,
      },
    );
  }
}

/**
 * An HTTPS server presenting exactly one self-signed certificate (no SNI needed, no client
 * certificate asked), serving the GBS routes on every endpoint given.
 */
export function createStorageServer(options: CreateStorageServerOptions): StorageServer {
  const app = Fastify({ logger: false, schemaController: noSchemaCompilers("@lafs/storage-server") });
  const servers: Server[] = [];
  let started = false;

  return {
    async start() {
      if (started) return;
      await storageServerPlugin(app, options);
      await app.ready();
      try {
        for (const endpoint of options.listen) {
          const server = createServer(
            { key: options.tls.keyPem, cert: options.tls.certPem, minVersion: "TLSv1.2" },
            (req, res) => app.routing(req, res),
          );
          // Tahoe clients poll /version every second; keep their connections open between polls.
          server.keepAliveTimeout = 65_000;
          servers.push(server);
          await listenOn(server, endpoint);
        }
      } catch (error) {
        await this.stop();
        throw error;
      }
      started = true;
    },

    async stop() {
      for (const server of servers.splice(0)) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
      for (const endpoint of options.listen) {
        if (endpoint.kind === "unix") await rm(endpoint.path, { force: true });
      }
      await app.close();
      started = false;
    },

    addresses() {
      return servers.flatMap((server) => {
        const address = server.address();
        if (address === null || typeof address === "string") return [];
        return [{ host: (address as AddressInfo).address, port: (address as AddressInfo).port }];
      });
    },
  };
}

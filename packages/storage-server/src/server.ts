import { rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { ListenEndpoint } from "@lafs/config";
import { noSchemaCompilers, type Startable, silentLogger } from "@lafs/interface";
import { describeListenEndpoint, listenOnEndpoint } from "@lafs/transport";
import Fastify, { type FastifyInstance } from "fastify";
import { authorizationValue } from "./auth.js";
import { answerClientError, answerFrameworkError } from "./client-errors.js";
import {
  answerNoEndpoint,
  asRefusal,
  internalError,
  sendRefusal,
  settleUnreadBody,
} from "./error-answers.js";
import { StorageServerError } from "./errors.js";
import type { StorageServerOptions } from "./options.js";
import { storageServerPlugin } from "./plugin.js";
import type { StorageServerStatus } from "./status.js";

export interface StorageServer extends Startable {
  /** The bound TCP addresses once started (port 0 resolves to the real port); unix sockets are not listed. */
  addresses(): { host: string; port: number }[];
  /** Damaged shares found (at most 1000 listed, oldest first) and corruption advisories kept; all zero before `start`. */
  status(): StorageServerStatus;
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
  const logger = options.logger ?? silentLogger;
  const app = Fastify({
    logger: false,
    schemaController: noSchemaCompilers("@lafs/storage-server"),
    frameworkErrors: (error, request, reply) => answerFrameworkError(error, request, reply, logger),
  });
  const servers: Server[] = [];
  let started = false;
  let report: { status(): StorageServerStatus } | undefined;
  const expectedAuthorization = Buffer.from(authorizationValue(options.swissnum ?? ""), "latin1");

  return {
    async start() {
      if (started) return;
      if (report === undefined) {
        answerOutsideTheProtocol(app, expectedAuthorization);
        report = await storageServerPlugin(app, options);
      }
      await app.ready();
      try {
        for (const endpoint of options.listen) {
          const server = createServer(
            { key: options.tls.keyPem, cert: options.tls.certPem, minVersion: "TLSv1.2" },
            (req, res) => app.routing(req, res),
          );
          // Tahoe clients poll /version every second; keep their connections open between polls.
          server.keepAliveTimeout = 65_000;
          server.on("clientError", (error, socket) => answerClientError(error, socket, logger));
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

    status() {
      return (
        report?.status() ?? {
          corruptShares: { count: 0, records: [] },
          corruptionAdvisories: {
            count: 0,
            bytes: 0,
            refused: 0,
            limits: { count: 0, bytes: 0, perStorageIndex: 0, reasonBytes: 0 },
          },
        }
      );
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

/**
 * Requests outside /storage/v1 get the storage server's error format too: 401 without the
 * swissnum (as Tahoe answers), else a plain-text 404; their bodies are never parsed.
 */
function answerOutsideTheProtocol(app: FastifyInstance, expectedAuthorization: Buffer): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
  app.setNotFoundHandler((request, reply) => answerNoEndpoint(request, reply, expectedAuthorization));
  app.setErrorHandler((error, request, reply) => {
    settleUnreadBody(request, reply);
    return sendRefusal(reply, asRefusal(error, () => `${request.method} ${request.url}`) ?? internalError());
  });
}

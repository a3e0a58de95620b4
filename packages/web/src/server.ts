import { chmod } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { formatEndpoint, type ListenEndpoint } from "@lafs/config";
import type { Logger, Startable } from "@lafs/interface";
import type { FastifyInstance } from "fastify";
import { createWebApp, type WebAppOptions } from "./app.js";
import { WebError } from "./errors.js";
import type { WebNode } from "./web-node.js";

export interface WebServerOptions {
  node: WebNode;
  /** `[node]web.port` */
  listen: ListenEndpoint;
  logger?: Logger;
  maxUploadBytes?: number;
  uploadIdleTimeoutMs?: number;
  control?: WebAppOptions["control"];
  uploadAuthority?: WebAppOptions["uploadAuthority"];
}

export interface WebServer extends Startable {
  /** `http://127.0.0.1:PORT/` (what node.url holds); `http+unix://PATH/` for a unix socket. */
  url(): string;
}

const ANY = new Set(["0.0.0.0", "::", "127.0.0.1", "localhost", "::1"]);

function urlOf(endpoint: ListenEndpoint, app: FastifyInstance): string {
  if (endpoint.kind === "unix") return `http+unix://${encodeURIComponent(endpoint.path)}/`;
  const port = (app.server.address() as AddressInfo).port;
  const host = endpoint.interface;
  if (host === undefined || ANY.has(host)) return `http://127.0.0.1:${port}/`;
  return host.includes(":") ? `http://[${host}]:${port}/` : `http://${host}:${port}/`;
}

/** The web front listening on `[node]web.port`; a tcp endpoint without interface= listens on every interface, as in Tahoe-LAFS. */
export function createWebServer(options: WebServerOptions): WebServer {
  let app: FastifyInstance | undefined;
  let url: string | undefined;
  const appOptions = {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.maxUploadBytes !== undefined ? { maxUploadBytes: options.maxUploadBytes } : {}),
    ...(options.uploadIdleTimeoutMs !== undefined
      ? { uploadIdleTimeoutMs: options.uploadIdleTimeoutMs }
      : {}),
    ...(options.control ? { control: options.control } : {}),
    ...(options.uploadAuthority ? { uploadAuthority: options.uploadAuthority } : {}),
  };
  return {
    async start() {
      if (app) return;
      const created = await createWebApp(options.node, appOptions);
      const e = options.listen;
      try {
        if (e.kind === "unix") {
          await created.listen({ path: e.path });
          if (e.mode !== undefined) await chmod(e.path, e.mode);
        } else {
          const listen: { port: number; host: string; backlog?: number } = {
            port: e.port,
            host: e.interface ?? "0.0.0.0",
          };
          if (e.backlog !== undefined) listen.backlog = e.backlog;
          await created.listen(listen);
        }
      } catch (error) {
        await created.close();
        const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        throw new WebError(
          "TAHOE_ERR_WEB_LISTEN",
          0,
          `web.port '${formatEndpoint(e)}': cannot listen (${why})`,
          {
            hint: "Another program may use that port: stop it, or set [node]web.port in tahoe.cfg to a free one.",
            cause: error,
          },
        );
      }
      app = created;
      url = urlOf(e, created);
      options.logger?.info({ url }, "web server listening");
    },
    async stop() {
      const running = app;
      app = undefined;
      url = undefined;
      await running?.close();
    },
    url() {
      if (url === undefined) {
        throw new WebError(
          "TAHOE_ERR_WEB_NOT_STARTED",
          0,
          "the web server's URL was asked for before it started",
          {
            hint: "Call start() first (this is a bug in the caller).",
          },
        );
      }
      return url;
    },
  };
}

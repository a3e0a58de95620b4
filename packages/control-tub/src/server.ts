import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { constantTimeEqual } from "@lafs/crypto";
import { noSchemaCompilers, type Startable } from "@lafs/interface";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { CONTROL_HOST } from "./control-url.js";
import { ControlTubError } from "./errors.js";
import { isLogLevelName, type LogHub, type LogLevelName } from "./log-hub.js";

export interface ControlTubOptions {
  tls: { keyPem: string; certPem: string };
  /** TCP port on 127.0.0.1; 0 lets the kernel pick. There is no way to name another address. */
  port: number;
  swissnum: string;
  logs: LogHub;
  /** The status JSON (version, uptime, servers, activity): whatever the node gives. */
  status: () => unknown;
  /** Called once the stop answer has been sent. */
  onStop: () => void;
  /** Re-reads servers-allowed / servers-required; the JSON answer says what it found. */
  reload: () => Promise<unknown>;
}

export interface ControlTub extends Startable {
  /** The bound address once started (asserted from the socket, not from the options). */
  address(): { host: string; port: number } | undefined;
}

/** How many buffered events a log request gets when it does not say. */
export const DEFAULT_LOG_LIMIT = 1000;

const NOT_FOUND = "Not Found\n";

function levelOf(query: Record<string, string | undefined>): LogLevelName | undefined {
  const level = query.level ?? "trace";
  return isLogLevelName(level) ? level : undefined;
}

async function streamLogs(
  options: ControlTubOptions,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const query = request.query as Record<string, string | undefined>;
  const level = levelOf(query);
  if (level === undefined) {
    await reply
      .code(400)
      .send({ error: `level '${query.level}' is not one of trace, debug, info, warn, error, fatal` });
    return;
  }
  const limit = query.limit === undefined ? DEFAULT_LOG_LIMIT : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 0) {
    await reply.code(400).send({ error: `limit '${query.limit}' is not a whole number` });
    return;
  }
  const follow = query.follow === "1" || query.follow === "true";
  // Subscribing in the same tick as the snapshot: no event falls between the two.
  const follower = follow ? options.logs.follow({ level }) : undefined;
  const recent = options.logs.recent({ level, limit });
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
  const write = (line: unknown) => res.write(`${JSON.stringify(line)}\n`);
  for (const event of recent) write(event);
  if (follower === undefined) {
    res.end();
    return;
  }
  write({ live: true });
  request.raw.socket.once("close", () => follower.close());
  res.once("close", () => follower.close());
  for (;;) {
    const batch = await follower.take();
    if (batch.dropped > 0) write({ dropped: batch.dropped });
    let ok = true;
    for (const event of batch.events) ok = write(event) && ok;
    if (batch.closed || res.destroyed) break;
    if (!ok) await new Promise<void>((resolve) => res.once("drain", resolve).once("close", resolve));
  }
  if (!res.destroyed) res.end();
}

/**
 * The control tub: HTTPS on 127.0.0.1 only, with its own certificate, every route under the
 * swissnum (a wrong or missing swissnum is a plain 404, compared in constant time).
 */
export function createControlTub(options: ControlTubOptions): ControlTub {
  const app = Fastify({ logger: false, schemaController: noSchemaCompilers("@lafs/control-tub") });
  let server: Server | undefined;

  app.addHook("onRequest", async (request, reply) => {
    const first = request.url.split("?")[0]!.split("/")[1] ?? "";
    if (!constantTimeEqual(Buffer.from(first), Buffer.from(options.swissnum))) {
      await reply.code(404).type("text/plain").send(NOT_FOUND);
    }
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).type("text/plain").send(NOT_FOUND));
  app.get("/:swissnum/status", async () => options.status());
  app.get("/:swissnum/logs", (request, reply) => streamLogs(options, request, reply));
  app.post("/:swissnum/stop", async (_request, reply) => {
    reply.raw.once("finish", () => setImmediate(options.onStop));
    return { stopping: true };
  });
  app.post("/:swissnum/reload", async () => options.reload());

  return {
    async start() {
      if (server !== undefined) return;
      await app.ready();
      const https = createServer(
        { key: options.tls.keyPem, cert: options.tls.certPem, minVersion: "TLSv1.2" },
        (req, res) => app.routing(req, res),
      );
      await new Promise<void>((resolve, reject) => {
        https.once("error", (error) =>
          reject(
            new ControlTubError(
              "TAHOE_ERR_CONTROL_LISTEN",
              `control tub cannot listen on ${CONTROL_HOST}:${options.port}: ${error.message}`,
              {
                hint: "pick a free port in [node]control.port, or stop the process that holds it",
                cause: error,
              },
            ),
          ),
        );
        https.listen({ port: options.port, host: CONTROL_HOST }, () => resolve());
      });
      server = https;
    },

    async stop() {
      const s = server;
      server = undefined;
      if (s !== undefined) {
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        });
      }
      await app.close();
    },

    address() {
      const a = server?.address();
      if (a === null || a === undefined || typeof a === "string") return undefined;
      return { host: (a as AddressInfo).address, port: (a as AddressInfo).port };
    },
  };
}

import type { Socket } from "node:net";
import multipart from "@fastify/multipart";
import { isTahoeError, type Logger, noSchemaCompilers, silentLogger } from "@lafs/interface";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { answerConnect, answerUnknownExpectation, createClientErrorHandler } from "./client-error.js";
import type { WebControl } from "./control/control-node.js";
import { registerControlRoutes } from "./control/control-routes.js";
import { clientGone, isDisconnect } from "./disconnect.js";
import { errorFormatFor, errorView, renderError } from "./error-page.js";
import { WebError } from "./errors.js";
import { type OperationLimits, registerOperationRoutes } from "./operation-routes.js";
import { SCRIPT_PAGE_CSP, SECURITY_HEADERS } from "./page.js";

import { registerStaticRoutes } from "./static-routes.js";
import { statusPage, transfersJson } from "./status-page.js";
import type { UploadAuthority } from "./upload-authority.js";
import { UPLOAD_FORM_LIMITS } from "./upload-form.js";
import { BODY_IDLE_MS } from "./upload-source.js";
import { registerUriRoutes } from "./uri-routes.js";
import type { WebNode } from "./web-node.js";
import { welcomeJson, welcomePage } from "./welcome.js";

/** The welcome page's CSP: the common one, plus its one script and the XHR it sends, both to the node only. */
const WELCOME_CSP = SCRIPT_PAGE_CSP;

export interface WebAppOptions {
  logger?: Logger;
  /** Uploads larger than this fail with 413 (TAHOE_ERR_WEB_TOO_LARGE); no limit when absent. */
  maxUploadBytes?: number;
  /** An upload body that sends nothing for this long is dropped with 408 (default 5 minutes). */
  uploadIdleTimeoutMs?: number;
  /** The clock for "N minutes ago"; tests pin it. */
  now?: () => number;
  /** The control panel under /control/SECRET/; without it every /control/ URL is a 404. */
  control?: WebControl;
  /** `[node]web.upload-authority`; absent = anyone may upload. */
  uploadAuthority?: UploadAuthority;
  /** Bounds on slow operations (/operations): handles kept at once, results one keeps. */
  operations?: OperationLimits;
}

/** The panel's URLs hold its secret: a 404 names none of them, so a wrong secret looks like any other. */
function pathForMessage(url: string): string {
  const path = url.split("?")[0]!;
  return path.startsWith("/control/") || path === "/control" ? "/control/…" : path;
}

/**
 * The web front as a fastify instance, not yet listening (use `inject`, or `listen`, or
 * createWebServer). Routes may still be added before it is ready.
 */
export async function createWebApp(node: WebNode, options: WebAppOptions = {}): Promise<FastifyInstance> {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  // An error page shows the header too, unless reading the status is what failed.
  const statusForPage = () => {
    try {
      return node.status();
    } catch {
      return undefined;
    }
  };
  const sendError = async (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    // A client that went away is told nothing and is no fault of the node: one INFO line.
    if (isDisconnect(error) || (!isTahoeError(error) && clientGone(request.raw))) {
      logger.info({ method: request.method }, "client disconnected before the request was complete");
      reply.hijack();
      // A socket already ended (the HTTP parser's refusal is being flushed on it) closes by itself.
      if (request.raw.socket?.writableEnded !== true) reply.raw.destroy();
      return;
    }
    const view = errorView(error);
    if (isTahoeError(error)) logger.debug({ code: error.code, status: view.status }, "request failed");
    else if (view.status >= 500) {
      // Logged with its stack for the operator; the client sees "internal error" only. The URL is not
      // logged: it may hold a cap.
      const err = error instanceof Error ? error.stack : String(error);
      logger.error({ err, method: request.method }, "internal error");
    } else logger.debug({ code: view.code, status: view.status }, "request refused");
    const query = (request.query ?? {}) as Record<string, unknown>;
    const format = errorFormatFor(request.headers.accept, query.t === "json");
    const out = renderError(view, format, format === "html" ? statusForPage() : undefined);
    // An unread upload body could be gigabytes: close the connection rather than drain it.
    if (!request.raw.complete) reply.header("Connection", "close");
    // Set here too: framework errors (a bad URL) are answered outside the onSend hook.
    return reply.code(view.status).headers(SECURITY_HEADERS).type(out.contentType).send(out.body);
  };
  const welcomeCsp = new WeakSet<FastifyReply>();
  const app = Fastify({
    logger: false,
    schemaController: noSchemaCompilers("@lafs/web"),
    exposeHeadRoutes: true,
    // Stopping the node must not wait for a long download or a stalled upload.
    forceCloseConnections: true,
    // fastify's own 503 while closing is JSON with none of our codes; a request that arrives then
    // runs as usual with Connection: close, and fails in our format if the node stops under it.
    return503OnClosing: false,
    // Caps are path segments of ~100-200 characters; fastify's default limit is 100.
    routerOptions: { maxParamLength: 4096 },
    frameworkErrors: (error, request, reply) => {
      void sendError(error, request, reply);
    },
    // Requests Node's HTTP parser rejects (oversized headers, bad framing) get our error format too.
    clientErrorHandler: createClientErrorHandler(logger),
    // Twisted (Tahoe-LAFS) serves an HTTP/1.1 request without Host; Node would answer a bare 400.
    http: { requireHostHeader: false },
  });

  app.server.on("checkExpectation", (request, response) =>
    answerUnknownExpectation(request, response, logger),
  );
  // The socket of a CONNECT is a net.Socket; Node types it as a plain Duplex.
  app.server.on("connect", (_request, socket) => answerConnect(socket as Socket, logger));

  // Bodies are streamed to the node, never parsed or buffered by fastify.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
  await app.register(multipart, { limits: UPLOAD_FORM_LIMITS });

  app.addHook("onSend", async (_request, reply, payload) => {
    // The stylesheet and icon set their own Cache-Control; everything else is no-store.
    const cache = reply.getHeader("Cache-Control");
    // A page with a script (the directory page) asked for the script CSP when it was rendered.
    const scripted = reply.getHeader("Content-Security-Policy") === SCRIPT_PAGE_CSP;
    reply.headers(SECURITY_HEADERS);
    if (typeof cache === "string" && cache.startsWith("public")) reply.header("Cache-Control", cache);
    if (welcomeCsp.has(reply) || scripted) reply.header("Content-Security-Policy", WELCOME_CSP);
    return payload;
  });

  app.setErrorHandler(sendError);

  app.setNotFoundHandler(async (request, reply) => {
    const error = new WebError(
      "TAHOE_ERR_WEB_NOT_FOUND",
      404,
      `no such page: ${request.method} ${pathForMessage(request.url)}`,
      {
        hint: "The node serves /, /status, /uri, /uri/CAP and /named/CAP/NAME (and its control panel at a secret URL).",
      },
    );
    return sendError(error, request, reply);
  });

  app.get("/", async (request, reply) => {
    const status = node.status();
    const t = (request.query as Record<string, string | undefined>).t;
    if (t === "json")
      return reply.type("application/json; charset=utf-8").send(JSON.stringify(welcomeJson(status, now())));
    if (t !== undefined && t !== "") {
      throw new WebError("TAHOE_ERR_WEB_BAD_REQUEST", 400, `unknown t=${t} for the welcome page`, {
        hint: "Use /?t=json for the same data as JSON.",
      });
    }
    const uploadForm = options.uploadAuthority?.mode !== "private";
    // This page runs a script (its upload progress): 'self' only, and XHR back to the node.
    if (uploadForm) welcomeCsp.add(reply);
    const aliases = (await node.aliases?.()) ?? [];
    return reply.type("text/html; charset=utf-8").send(welcomePage(status, now(), { uploadForm, aliases }));
  });

  registerStaticRoutes(app);

  app.get("/status", async (request, reply) => {
    const transfers = node.transfers?.() ?? [];
    const t = (request.query as Record<string, string | undefined>).t;
    if (t === "json")
      return reply
        .type("application/json; charset=utf-8")
        .send(`${JSON.stringify(transfersJson(transfers, now()), null, 1)}\n`);
    if (t !== undefined && t !== "") {
      throw new WebError("TAHOE_ERR_WEB_BAD_REQUEST", 400, `unknown t=${t} for the transfers page`, {
        hint: "Use /status?t=json for the same data as JSON.",
      });
    }
    return reply.type("text/html; charset=utf-8").send(statusPage(node.status(), transfers, now()));
  });

  const limits = { maxBytes: options.maxUploadBytes, idleMs: options.uploadIdleTimeoutMs ?? BODY_IDLE_MS };
  registerUriRoutes(app, node, limits, logger, options.uploadAuthority);
  registerOperationRoutes(app, node, now, options.operations);
  if (options.control !== undefined) {
    await registerControlRoutes(app, {
      node,
      control: options.control,
      limits,
      logger,
    });
  }
  return app;
}

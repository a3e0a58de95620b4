import { rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import type { ConnectionHint, ListenEndpoint } from "@lafs/config";
import {
  type Announcement,
  type AnnouncementErrorCode,
  constantTimeEqual,
  verifyAnnouncement,
} from "@lafs/crypto";
import { tubIdentityOf } from "@lafs/foolscap";
import { isTahoeError, type Logger, type Startable, silentLogger } from "@lafs/interface";
import { describeListenEndpoint, listenOnEndpoint } from "@lafs/transport";
import { IntroducerError } from "./errors.js";
import { createFoolscapFront, type FoolscapFront } from "./foolscap-front.js";
import { introducerFurl } from "./nurls.js";
import {
  DEFAULT_KEEPALIVE_MS,
  PROTOCOL_VERSION,
  PUBLISH_PATH,
  STREAM_TYPE,
  type StreamEvent,
  SUBSCRIBE_PATH,
} from "./protocol.js";
import { createRegistry, DEFAULT_LIMITS, type HeldAnnouncement, type IntroducerLimits } from "./registry.js";
import { type IntroducerStatus, renderStatusHtml, type SubscriberInfo, statusOf } from "./status-page.js";

export interface IntroducerOptions {
  /** The secret path segment of the introducer's NURL. */
  swissnum: string;
  /** The certificate the NURL pins (private/node.pem). */
  tls: { keyPem: string; certPem: string };
  listen: ListenEndpoint[];
  /**
   * Serve Tahoe-LAFS nodes too: Foolscap on the same ports (a connection that does not start
   * with TLS is a Foolscap upgrade request), at the fURL with these location hints.
   */
  foolscap?: { hints: readonly ConnectionHint[] };
  applicationVersion?: string;
  limits?: Partial<IntroducerLimits>;
  /** How often idle streams get a ping; default 15 s. */
  keepaliveMs?: number;
  logger?: Logger;
  now?: () => number;
}

export interface Introducer extends Startable {
  /** The bound TCP addresses once started (port 0 resolves to the real port). */
  addresses(): { host: string; port: number }[];
  /** What the status page shows. */
  status(): IntroducerStatus;
  /** Every held announcement, newest version per (node id, service). */
  announcements(): HeldAnnouncement[];
  /** The Foolscap fURL Tahoe-LAFS nodes use (a secret), when `foolscap` is on. */
  furl(): string | undefined;
}

interface Subscriber extends SubscriberInfo {
  response: ServerResponse;
}

/** A stream that falls this far behind is closed; the client reconnects and resyncs. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const SWISSNUM_FORM = /^[\x21-\x7e]+$/;
/** A TLS record starts with this byte (handshake); a Foolscap upgrade starts with "GET ". */
const TLS_HANDSHAKE = 0x16;
/** A connection that sends nothing this long is closed before either protocol sees it. */
const FIRST_BYTE_TIMEOUT_MS = 120_000;

function optionsError(message: string): IntroducerError {
  return new IntroducerError("TAHOE_ERR_INTRODUCER_OPTIONS", 500, message, {
    hint: "the node passes these from private/introducer.furl and private/node.pem; recreate them with tahoe create-introducer",
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  response.end(text);
}

function sendError(response: ServerResponse, error: IntroducerError | (Error & { code: string })): void {
  const status =
    error instanceof IntroducerError
      ? error.status
      : (ANNOUNCEMENT_STATUS[error.code as AnnouncementErrorCode] ?? 400);
  const hint = isTahoeError(error) ? error.hint : undefined;
  sendJson(response, status, { error: { code: error.code, message: error.message, hint } });
}

/** Forged is 403 and oversized 413, so a publisher can tell them from a malformed request. */
const ANNOUNCEMENT_STATUS: Record<AnnouncementErrorCode, number> = {
  TAHOE_ERR_ANNOUNCEMENT_MALFORMED: 400,
  TAHOE_ERR_ANNOUNCEMENT_BAD_SIGNATURE: 403,
  TAHOE_ERR_ANNOUNCEMENT_TOO_LARGE: 413,
};

function notFound(response: ServerResponse): void {
  response.writeHead(404, { "content-type": "text/plain", "cache-control": "no-store" });
  response.end("Not Found\n");
}

function requestError(message: string, status = 400): IntroducerError {
  return new IntroducerError("TAHOE_ERR_INTRODUCER_REQUEST", status, message, {
    hint: 'POST a JSON object {"ann": [msg, sig, key]} with Content-Type application/json',
  });
}

/** Reads a request body up to `limit` bytes; a larger one is refused without reading it all. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers["content-length"] ?? "0");
  if (declared > limit) {
    return Promise.reject(
      requestError(`the request body is ${declared} bytes, over the limit of ${limit}`, 413),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners("data");
        request.resume();
        reject(requestError(`the request body is over the limit of ${limit} bytes`, 413));
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

async function listenOn(server: Server | HttpsServer, endpoint: ListenEndpoint): Promise<void> {
  try {
    await listenOnEndpoint(server, endpoint);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new IntroducerError(
      "TAHOE_ERR_INTRODUCER_LISTEN",
      500,
      `introducer cannot listen on ${describeListenEndpoint(endpoint)}: ${message}`,
      {
        hint: "pick a free port in [node]tub.port, or stop the process that holds it",
        cause,
      },
    );
  }
}

function peerOf(request: IncomingMessage): string {
  return peerOfSocket(request.socket);
}

function peerOfSocket(socket: Socket): string {
  const { remoteAddress, remotePort } = socket;
  if (remoteAddress === undefined) return "unix socket";
  return remoteAddress.includes(":") ? `[${remoteAddress}]:${remotePort}` : `${remoteAddress}:${remotePort}`;
}

function shortText(value: string | null, max = 200): string {
  return (value ?? "").slice(0, max);
}

/**
 * The introducer service (docs/introducer-protocol.md): HTTPS with the node's certificate,
 * everything under `/SWISSNUM/`. Servers POST signed announcements; the newest by seqnum per
 * (node id, service) is kept; subscribers hold one NDJSON stream and get every held
 * announcement, a `synced` marker, then each accepted change.
 */
export function createIntroducer(options: IntroducerOptions): Introducer {
  if (!SWISSNUM_FORM.test(options.swissnum) || options.swissnum.includes("/")) {
    throw optionsError("the introducer swissnum is empty or holds characters a URL path cannot");
  }
  const limits: IntroducerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  const log = (options.logger ?? silentLogger).child({ component: "introducer" });
  const version = options.applicationVersion ?? "lafs-ts/0.0.0";
  const keepaliveMs = options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
  const registry = createRegistry(limits, now);
  const subscribers = new Set<Subscriber>();
  const refused = new Map<string, number>();
  const expected = Buffer.from(options.swissnum, "utf8");
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  let keepalive: NodeJS.Timeout | undefined;
  const tub = options.foolscap && tubIdentityOf(options.tls.keyPem, options.tls.certPem);
  const furl = tub && introducerFurl(tub.tubId, options.swissnum, options.foolscap!.hints);
  const foolscap: FoolscapFront | undefined =
    tub &&
    createFoolscapFront({
      swissnum: options.swissnum,
      identity: tub,
      furl: furl!,
      registry,
      limits,
      applicationVersion: version,
      log,
      now,
      accepted: announce,
      refused: (code) => refused.set(code, (refused.get(code) ?? 0) + 1),
      otherSubscribers: () => subscribers.size,
    });
  const https = createHttpsServer(
    { key: options.tls.keyPem, cert: options.tls.certPem, minVersion: "TLSv1.2" },
    (request, response) => {
      handle(request, response).catch((error: unknown) => {
        log.error({ err: error }, "introducer request failed");
        response.destroy();
      });
    },
  );
  // A subscription stream is meant to stay open: no request timeout for it.
  https.requestTimeout = 0;
  https.keepAliveTimeout = 65_000;

  /** One port, both protocols: TLS goes to the HTTPS introducer, anything else to Foolscap. */
  function route(socket: Socket): void {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => {}); // each protocol reports its own failures
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once("data", (first: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(first);
      if (foolscap === undefined || first[0] === TLS_HANDSHAKE) https.emit("connection", socket);
      else foolscap.accept(socket, peerOfSocket(socket));
    });
  }

  /** An accepted announcement goes to every subscriber of its service, of either kind. */
  function announce(announcement: Announcement): void {
    for (const subscriber of subscribers) {
      if (subscriber.service === announcement.service) {
        send(subscriber, { type: "announcement", ann: announcement.signed });
      }
    }
    foolscap?.announce(announcement);
  }

  function send(subscriber: Subscriber, event: StreamEvent): void {
    const response = subscriber.response;
    if (response.destroyed) return;
    response.write(`${JSON.stringify(event)}\n`);
    if (response.writableLength > MAX_BUFFERED_BYTES) {
      log.warn({ from: subscriber.from }, "subscriber does not read its stream; closing it");
      response.destroy();
    }
  }

  function refuse(
    response: ServerResponse,
    error: IntroducerError | (Error & { code: string }),
    from: string,
  ) {
    refused.set(error.code, (refused.get(error.code) ?? 0) + 1);
    log.warn({ code: error.code, from }, `refused announcement: ${error.message}`);
    sendError(response, error);
  }

  async function publish(request: IncomingMessage, response: ServerResponse, from: string): Promise<void> {
    // msg travels as a JSON string inside the body, where escaping can double its size.
    const body = await readBody(request, 2 * limits.maxAnnouncementBytes + 4096);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      throw requestError("the request body is not JSON");
    }
    if (typeof parsed !== "object" || parsed === null || !("ann" in parsed)) {
      throw requestError('the request body has no "ann"');
    }
    const announcement: Announcement = verifyAnnouncement((parsed as { ann: unknown }).ann, {
      maxBytes: limits.maxAnnouncementBytes,
    });
    const outcome = registry.publish(announcement, from);
    if (outcome === "accepted") {
      log.info(
        { server: announcement.serverId, service: announcement.service, seqnum: announcement.seqnum, from },
        "announcement accepted",
      );
      announce(announcement);
    }
    sendJson(response, 200, { status: outcome, seqnum: announcement.seqnum });
  }

  function subscribe(url: URL, request: IncomingMessage, response: ServerResponse, from: string): void {
    const total = subscribers.size + (foolscap?.subscriberCount() ?? 0);
    if (total >= limits.maxSubscribers) {
      const error = new IntroducerError(
        "TAHOE_ERR_INTRODUCER_LIMIT",
        429,
        `the introducer already serves ${total} subscribers, its limit`,
        { hint: "try again later, or use another introducer" },
      );
      log.warn({ from }, error.message);
      sendError(response, error);
      return;
    }
    const subscriber: Subscriber = {
      service: shortText(url.searchParams.get("service"), 64) || "storage",
      nickname: shortText(url.searchParams.get("nickname")),
      myVersion: shortText(url.searchParams.get("my-version")),
      from,
      since: now(),
      response,
    };
    response.writeHead(200, { "content-type": STREAM_TYPE, "cache-control": "no-store" });
    request.socket.setNoDelay(true);
    const held = registry.list(subscriber.service);
    send(subscriber, {
      type: "hello",
      protocol: PROTOCOL_VERSION,
      "application-version": version,
      "keepalive-ms": keepaliveMs,
    });
    for (const h of held) send(subscriber, { type: "announcement", ann: h.announcement.signed });
    send(subscriber, { type: "synced", count: held.length });
    subscribers.add(subscriber);
    log.info({ from, nickname: subscriber.nickname, service: subscriber.service }, "subscriber connected");
    response.once("close", () => {
      subscribers.delete(subscriber);
      log.info({ from, nickname: subscriber.nickname }, "subscriber gone");
    });
  }

  function status(): IntroducerStatus {
    return statusOf(
      registry.list(),
      [...[...subscribers].map(({ response: _r, ...info }) => info), ...(foolscap?.subscribers() ?? [])],
      refused,
      version,
      PROTOCOL_VERSION,
    );
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "https://introducer.invalid");
    const segments = url.pathname.split("/");
    const given = Buffer.from(decodeURIComponentSafe(segments[1] ?? ""), "utf8");
    // Wrong secret = plain 404, compared in constant time so it cannot be guessed byte by byte.
    if (!constantTimeEqual(given, expected)) return notFound(response);
    const rest = segments.slice(2).join("/");
    const from = peerOf(request);
    try {
      if (rest === "" && request.method === "GET") {
        const s = status();
        if (url.searchParams.get("t") === "json") return sendJson(response, 200, s);
        const html = renderStatusHtml(s);
        response.writeHead(200, {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
          "referrer-policy": "no-referrer",
          "x-frame-options": "DENY",
          "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
        });
        response.end(html);
        return;
      }
      if (rest === PUBLISH_PATH && request.method === "POST") return await publish(request, response, from);
      if (rest === SUBSCRIBE_PATH && request.method === "GET") return subscribe(url, request, response, from);
      return notFound(response);
    } catch (error) {
      if (isTahoeError(error)) return refuse(response, error as IntroducerError, from);
      log.error({ err: error, from }, "introducer request failed");
      if (!response.headersSent)
        sendJson(response, 500, { error: { code: "internal", message: "internal error" } });
      else response.destroy();
    }
  }

  return {
    async start() {
      if (servers.length > 0) return;
      try {
        for (const endpoint of options.listen) {
          const server = createServer(route);
          servers.push(server);
          await listenOn(server, endpoint);
        }
      } catch (error) {
        await this.stop();
        throw error;
      }
      keepalive = setInterval(() => {
        for (const subscriber of subscribers) send(subscriber, { type: "ping" });
      }, keepaliveMs);
      keepalive.unref();
      log.info({ addresses: this.addresses() }, "introducer running");
    },

    async stop() {
      clearInterval(keepalive);
      keepalive = undefined;
      for (const subscriber of subscribers) subscriber.response.destroy();
      subscribers.clear();
      foolscap?.stop();
      for (const server of servers.splice(0)) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const socket of sockets) socket.destroy();
        });
      }
      for (const endpoint of options.listen) {
        if (endpoint.kind === "unix") await rm(endpoint.path, { force: true });
      }
    },

    addresses() {
      return servers.flatMap((server) => {
        const address = server.address();
        if (address === null || typeof address === "string") return [];
        return [{ host: (address as AddressInfo).address, port: (address as AddressInfo).port }];
      });
    },

    status,

    announcements() {
      return registry.list();
    },

    furl: () => furl,
  };
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return "";
  }
}

import type { IncomingMessage } from "node:http";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { NODE_FILES } from "@lafs/config";
import { spkiHashOfCertificate } from "@lafs/crypto";
import { readControlUrl } from "./control-files.js";
import { CONTROL_HOST, type ControlUrl } from "./control-url.js";
import { ControlTubError } from "./errors.js";
import type { LogEvent, LogLevelName } from "./log-hub.js";

/** A line of the log stream: an event, the marker between buffered and live events, or a drop count. */
export type LogLine = LogEvent | { live: true } | { dropped: number };

export interface LogsRequest {
  level?: LogLevelName;
  limit?: number;
  follow?: boolean;
  signal?: AbortSignal;
  onLine: (line: LogLine) => void;
}

/** What `tahoe status/logs/stop` talk to: the control tub named by BASEDIR/private/control.url. */
export interface ControlClient {
  readonly url: ControlUrl;
  status(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
  reload(): Promise<Record<string, unknown>>;
  /** Resolves when the stream ends (the node stopped, or `signal` aborted it). */
  logs(request: LogsRequest): Promise<void>;
}

function notRunning(basedir: string, url: ControlUrl, cause?: unknown): ControlTubError {
  return new ControlTubError(
    "TAHOE_ERR_CONTROL_NOT_RUNNING",
    `the node in ${basedir} is not running (nothing answers on ${CONTROL_HOST}:${url.port} from ${NODE_FILES.controlUrl})`,
    { hint: `start it with: tahoe run ${basedir}`, cause },
  );
}

/** Connects and checks the certificate's SPKI pin before a byte of the request (the swissnum) is sent. */
function pinnedSocket(basedir: string, url: ControlUrl, file: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: CONTROL_HOST, port: url.port, rejectUnauthorized: false });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      reject(error.code === "ECONNREFUSED" ? notRunning(basedir, url, error) : error);
    });
    socket.once("secureConnect", () => {
      const raw = socket.getPeerCertificate().raw;
      const pin = raw === undefined ? undefined : spkiHashOfCertificate(new Uint8Array(raw));
      if (pin !== url.spkiHash) {
        socket.destroy();
        reject(
          new ControlTubError(
            "TAHOE_ERR_CONTROL_PIN_MISMATCH",
            `the server on ${CONTROL_HOST}:${url.port} presents a certificate with pin ${pin ?? "(none)"}, not the pin ${url.spkiHash} in ${file}: it is not this node's control tub`,
            {
              hint: "another program holds the port, or the file is stale; nothing was sent to it. Restart the node (tahoe run) to rewrite the file.",
            },
          ),
        );
        return;
      }
      resolve(socket);
    });
  });
}

export interface ControlClientOptions {
  /** Overrides private/control.url (tests). */
  url?: ControlUrl;
}

/**
 * Reads BASEDIR/private/control.url and returns a client for it. Every request opens a fresh
 * pinned connection, so a node restarted with a new certificate is noticed at once.
 */
export async function openControlClient(
  basedir: string,
  options: ControlClientOptions = {},
): Promise<ControlClient> {
  const file = join(basedir, NODE_FILES.controlUrl);
  const url = options.url ?? (await readControlUrl(basedir));
  if (url === undefined) {
    throw new ControlTubError(
      "TAHOE_ERR_CONTROL_URL_FILE",
      `${file} does not exist, so the node in ${basedir} cannot be reached`,
      { hint: `is ${basedir} a node directory? Start the node once (tahoe run) to write the file` },
    );
  }

  async function send(method: string, path: string, signal?: AbortSignal): Promise<IncomingMessage> {
    const socket = await pinnedSocket(basedir, url!, file);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          method,
          host: CONTROL_HOST,
          port: url!.port,
          path: `/${url!.swissnum}/${path}`,
          createConnection: () => socket,
          signal,
        },
        resolve,
      );
      req.once("error", reject);
      req.end();
    });
  }

  async function json(method: string, path: string): Promise<Record<string, unknown>> {
    const res = await send(method, path);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    if (res.statusCode !== 200) throw badResponse(res.statusCode, text);
    return JSON.parse(text) as Record<string, unknown>;
  }

  function badResponse(status: number | undefined, text: string): ControlTubError {
    return new ControlTubError(
      "TAHOE_ERR_CONTROL_RESPONSE",
      `the control tub on ${CONTROL_HOST}:${url!.port} answered ${status}: ${text.trim().slice(0, 200)}`,
      {
        hint:
          status === 404
            ? `the swissnum in ${file} is not the running node's: restart the node to rewrite the file`
            : "check the request; if it persists, report it",
      },
    );
  }

  return {
    url,
    status: () => json("GET", "status"),
    reload: () => json("POST", "reload"),
    async stop() {
      await json("POST", "stop");
    },
    async logs(request) {
      const params = new URLSearchParams();
      if (request.level !== undefined) params.set("level", request.level);
      if (request.limit !== undefined) params.set("limit", String(request.limit));
      if (request.follow) params.set("follow", "1");
      let res: IncomingMessage;
      try {
        res = await send("GET", `logs?${params}`, request.signal);
      } catch (error) {
        if (request.signal?.aborted) return;
        throw error;
      }
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk as Buffer);
        throw badResponse(res.statusCode, Buffer.concat(chunks).toString("utf8"));
      }
      let pending = "";
      try {
        for await (const chunk of res) {
          pending += (chunk as Buffer).toString("utf8");
          const lines = pending.split("\n");
          pending = lines.pop()!;
          for (const line of lines) if (line !== "") request.onLine(JSON.parse(line) as LogLine);
        }
      } catch (error) {
        // The node going away mid-stream, or the caller aborting, ends the stream; nothing is lost silently.
        if (request.signal?.aborted || (error as NodeJS.ErrnoException).code === "ECONNRESET") return;
        throw error;
      }
    },
  };
}

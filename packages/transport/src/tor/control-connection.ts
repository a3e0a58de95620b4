import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { type ClientEndpoint, formatClientEndpoint } from "@lafs/config";
import { TorError } from "./errors.js";

/** One reply of Tor's control protocol (control-spec §2.3): its status and its lines. */
export interface TorReply {
  readonly status: number;
  /** The text of each line after "NNN-", "NNN " or "NNN+" (data blocks folded into the line, LF-joined). */
  readonly lines: readonly string[];
}

/** An asynchronous event (650), e.g. "HS_DESC UPLOADED ..." or "STATUS_CLIENT NOTICE BOOTSTRAP ...". */
export type TorEventListener = (event: string) => void;

export interface TorControl {
  /** Where this connection goes, as a client endpoint string (for messages). */
  readonly endpoint: string;
  /** Sends one command and resolves with its reply; a 4xx/5xx reply rejects with TAHOE_ERR_TOR_CONTROL_COMMAND. */
  command(line: string): Promise<TorReply>;
  /** GETINFO KEY... -> KEY => value (multi-line values joined by "\n"). */
  getInfo(...keys: string[]): Promise<Map<string, string>>;
  /**
   * Asks Tor for more event types (SETEVENTS with the union of everything asked so far, since
   * each SETEVENTS replaces the last) and listens for 650 events; returns the unsubscribe call.
   */
  subscribe(events: readonly string[], listener: TorEventListener): Promise<() => void>;
  /** Resolves when the connection closes (Tor exited, or close() was called). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

export interface ConnectTorControlOptions {
  signal?: AbortSignal;
  /** Milliseconds to wait for the TCP/unix connection and each reply; default 10 s. */
  timeoutMs?: number;
}

const CONTROL_TIMEOUT_MS = 10_000;

/** Parses the reply stream into replies (control-spec §2.3) and events; kept apart from the socket for tests. */
export function createReplyParser(onReply: (reply: TorReply) => void, onEvent: (reply: TorReply) => void) {
  let buffer = "";
  let lines: string[] = [];
  let data: string[] | undefined;
  return (chunk: string) => {
    buffer += chunk;
    for (;;) {
      const end = buffer.indexOf("\n");
      if (end < 0) return;
      const raw = buffer.slice(0, end).replace(/\r$/, "");
      buffer = buffer.slice(end + 1);
      if (data !== undefined) {
        if (raw === ".") {
          lines[lines.length - 1] += `\n${data.join("\n")}`;
          data = undefined;
        } else {
          data.push(raw.startsWith("..") ? raw.slice(1) : raw);
        }
        continue;
      }
      const match = /^(\d{3})([ +-])(.*)$/.exec(raw);
      if (match === null) {
        throw new TorError("TAHOE_ERR_TOR_CONTROL_PROTOCOL", `not a Tor control-port reply line: '${raw}'`, {
          hint: "Check that the endpoint is Tor's ControlPort, not its SocksPort or another service.",
        });
      }
      const [, statusText, separator, text] = match as unknown as [string, string, string, string];
      lines.push(text);
      if (separator === "+") data = [];
      if (separator === " ") {
        const reply = { status: Number(statusText), lines };
        lines = [];
        if (reply.status === 650) onEvent(reply);
        else onReply(reply);
      }
    }
  };
}

function openSocket(endpoint: ClientEndpoint, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  const where = formatClientEndpoint(endpoint);
  return new Promise((resolve, reject) => {
    const socket =
      endpoint.kind === "unix"
        ? connect({ path: endpoint.path })
        : connect({ host: endpoint.host, port: endpoint.port });
    const fail = (why: string, cause?: unknown) => {
      socket.destroy();
      signal?.removeEventListener("abort", onAbort);
      reject(
        new TorError(
          "TAHOE_ERR_TOR_CONTROL_CONNECT",
          `could not reach Tor's control port at ${where}: ${why}`,
          {
            hint: "Check that tor runs with ControlPort set to this endpoint (torrc), or let the node launch its own tor ([tor] launch = true).",
            cause,
          },
        ),
      );
    };
    const onAbort = () => fail("cancelled");
    const timer = setTimeout(() => fail(`no connection after ${timeoutMs} ms`), timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(error.code ?? error.message, error);
    });
    socket.once("connect", () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.removeAllListeners("error");
      resolve(socket);
    });
  });
}

/**
 * Opens a control connection and authenticates with what PROTOCOLINFO offers: no auth,
 * SAFECOOKIE (preferred: it proves Tor knows the cookie too) or COOKIE. A password-only tor is
 * refused with a hint, since tahoe.cfg has no key for a control password.
 */
export async function connectTorControl(
  endpoint: ClientEndpoint,
  options: ConnectTorControlOptions = {},
): Promise<TorControl> {
  const timeoutMs = options.timeoutMs ?? CONTROL_TIMEOUT_MS;
  const socket = await openSocket(endpoint, timeoutMs, options.signal);
  const control = wrapSocket(socket, formatClientEndpoint(endpoint), timeoutMs);
  try {
    await authenticate(control);
  } catch (error) {
    await control.close();
    throw error;
  }
  return control;
}

function wrapSocket(socket: Socket, endpoint: string, timeoutMs: number): TorControl {
  const pending: { resolve: (r: TorReply) => void; reject: (e: unknown) => void; line: string }[] = [];
  const listeners = new Set<TorEventListener>();
  const eventNames = new Set<string>();
  let failure: TorError | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  const failAll = (error: TorError) => {
    failure ??= error;
    for (const p of pending.splice(0)) p.reject(error);
  };
  const parse = createReplyParser(
    (reply) => pending.shift()?.resolve(reply),
    (reply) => {
      for (const listener of listeners) listener(reply.lines.join("\n"));
    },
  );
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    try {
      parse(chunk);
    } catch (error) {
      failAll(error as TorError);
      socket.destroy();
    }
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    failAll(
      new TorError("TAHOE_ERR_TOR_CONTROL_CONNECT", `Tor closed the control connection ${endpoint}`, {
        hint: "Tor may have exited; see its log.",
      }),
    );
    resolveClosed();
  });

  function command(line: string): Promise<TorReply> {
    if (failure !== undefined) return Promise.reject(failure);
    const verb = line.split(" ", 1)[0] ?? line;
    return new Promise<TorReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new TorError(
          "TAHOE_ERR_TOR_CONTROL_PROTOCOL",
          `Tor's control port ${endpoint} did not answer ${verb} within ${timeoutMs} ms`,
          { hint: "Tor may be overloaded or hung; restart it." },
        );
        failAll(error);
        socket.destroy();
        reject(error);
      }, timeoutMs);
      pending.push({
        line: verb,
        resolve: (reply) => {
          clearTimeout(timer);
          if (reply.status >= 400) {
            reject(
              new TorError(
                "TAHOE_ERR_TOR_CONTROL_COMMAND",
                `Tor (${endpoint}) refused ${verb}: ${reply.status} ${reply.lines.join(" / ")}`,
                { hint: "See Tor's log for details; the command and Tor's answer are above." },
              ),
            );
          } else resolve(reply);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      socket.write(`${line}\r\n`);
    });
  }

  return {
    endpoint,
    command,
    async getInfo(...keys) {
      const reply = await command(`GETINFO ${keys.join(" ")}`);
      const out = new Map<string, string>();
      for (const line of reply.lines) {
        const eq = line.indexOf("=");
        if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1).replace(/^\n/, ""));
      }
      return out;
    },
    async subscribe(events, listener) {
      const before = eventNames.size;
      for (const e of events) eventNames.add(e.toUpperCase());
      listeners.add(listener);
      try {
        if (eventNames.size !== before) await command(`SETEVENTS ${[...eventNames].join(" ")}`);
      } catch (error) {
        listeners.delete(listener);
        throw error;
      }
      return () => {
        listeners.delete(listener);
      };
    },
    closed,
    async close() {
      if (!socket.destroyed) socket.end();
      const timer = setTimeout(() => socket.destroy(), 1000);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** PROTOCOLINFO's METHODS and COOKIEFILE (control-spec §3.21). */
function parseProtocolInfo(reply: TorReply): { methods: string[]; cookieFile: string | undefined } {
  const auth = reply.lines.find((l) => l.startsWith("AUTH "));
  const methods = /METHODS=(\S+)/.exec(auth ?? "")?.[1]?.split(",") ?? [];
  const cookie = /COOKIEFILE="((?:[^"\\]|\\.)*)"/.exec(auth ?? "")?.[1];
  return { methods, cookieFile: cookie?.replace(/\\(.)/g, "$1") };
}

async function readCookie(path: string, endpoint: string): Promise<Buffer> {
  try {
    const cookie = await readFile(path);
    if (cookie.length !== 32) throw new Error(`it has ${cookie.length} bytes, not 32`);
    return cookie;
  } catch (error) {
    throw new TorError(
      "TAHOE_ERR_TOR_AUTH",
      `cannot read Tor's authentication cookie '${path}' (for ${endpoint}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      {
        hint: "Run the node as a user that may read the cookie (Debian: add it to the debian-tor group), or let the node launch its own tor.",
        cause: error,
      },
    );
  }
}

const SAFECOOKIE_SERVER_KEY = "Tor safe cookie authentication server-to-controller hash";
const SAFECOOKIE_CLIENT_KEY = "Tor safe cookie authentication controller-to-server hash";

async function authenticate(control: TorControl): Promise<void> {
  const info = parseProtocolInfo(await control.command("PROTOCOLINFO 1"));
  if (info.methods.includes("NULL")) {
    await control.command("AUTHENTICATE");
    return;
  }
  if (info.cookieFile !== undefined && info.methods.includes("SAFECOOKIE")) {
    const cookie = await readCookie(info.cookieFile, control.endpoint);
    const clientNonce = randomBytes(32);
    const challenge = await control.command(`AUTHCHALLENGE SAFECOOKIE ${clientNonce.toString("hex")}`);
    const line = challenge.lines[0] ?? "";
    const serverHash = /SERVERHASH=([0-9A-Fa-f]{64})/.exec(line)?.[1];
    const serverNonce = /SERVERNONCE=([0-9A-Fa-f]{64})/.exec(line)?.[1];
    if (serverHash === undefined || serverNonce === undefined) {
      throw new TorError(
        "TAHOE_ERR_TOR_AUTH",
        `Tor (${control.endpoint}) sent a malformed AUTHCHALLENGE reply: '${line}'`,
        {
          hint: "Is this Tor's control port?",
        },
      );
    }
    const message = Buffer.concat([cookie, clientNonce, Buffer.from(serverNonce, "hex")]);
    const expected = createHmac("sha256", SAFECOOKIE_SERVER_KEY).update(message).digest();
    if (!timingSafeEqual(expected, Buffer.from(serverHash, "hex"))) {
      throw new TorError(
        "TAHOE_ERR_TOR_AUTH",
        `Tor (${control.endpoint}) failed the SAFECOOKIE check: it does not know the cookie in '${info.cookieFile}'`,
        { hint: "Another program may be listening on Tor's control port; check the endpoint." },
      );
    }
    const clientHash = createHmac("sha256", SAFECOOKIE_CLIENT_KEY).update(message).digest("hex");
    await control.command(`AUTHENTICATE ${clientHash}`);
    return;
  }
  if (info.cookieFile !== undefined && info.methods.includes("COOKIE")) {
    const cookie = await readCookie(info.cookieFile, control.endpoint);
    await control.command(`AUTHENTICATE ${cookie.toString("hex")}`);
    return;
  }
  throw new TorError(
    "TAHOE_ERR_TOR_AUTH",
    `Tor (${control.endpoint}) offers only ${info.methods.join(", ") || "no"} authentication, which lafs-ts cannot use`,
    { hint: "Set CookieAuthentication 1 in torrc (lafs-ts has no setting for a control-port password)." },
  );
}

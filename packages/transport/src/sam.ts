import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { type ByteReader, createByteReader } from "./byte-reader.js";
import { describeEndpoint, destroyOnAbort, dialSocket, errnoText } from "./dial.js";
import { abortReason, TransportError, type TransportErrorCode } from "./errors.js";

/**
 * A SAM v3 client (https://geti2p.net/en/docs/api/samv3), enough for Tahoe-LAFS's use of I2P:
 * HELLO, DEST GENERATE, SESSION CREATE STYLE=STREAM, STREAM CONNECT and STREAM FORWARD.
 */

export interface SamEndpoint {
  host: string;
  port: number;
}

export interface SamReply {
  /** The first two words, e.g. "HELLO REPLY" or "STREAM STATUS". */
  topic: string;
  fields: Readonly<Record<string, string>>;
}

const MAX_LINE = 64 * 1024;

/** Splits `WORD WORD KEY=VALUE KEY="quoted value"` into its topic and fields. */
export function parseSamReply(line: string): SamReply {
  const tokens: string[] = [];
  const re = /\s*([^\s=]+(?:="(?:[^"\\]|\\.)*"|=\S*)?)/y;
  for (let m = re.exec(line); m; m = re.exec(line)) tokens.push(m[1]!);
  const words: string[] = [];
  const fields: Record<string, string> = {};
  for (const token of tokens) {
    const eq = token.indexOf("=");
    if (eq < 0) {
      words.push(token);
      continue;
    }
    let value = token.slice(eq + 1);
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      value = value.slice(1, -1).replace(/\\(.)/g, "$1");
    }
    fields[token.slice(0, eq).toUpperCase()] = value;
  }
  return { topic: words.slice(0, 2).join(" ").toUpperCase(), fields };
}

const SAM_HINT =
  "start an I2P router with its SAM bridge enabled (i2pd: sam.enabled = true), or set [i2p]sam.port";

function resultError(code: TransportErrorCode, what: string, bridge: string, reply: SamReply, hint: string) {
  const message = reply.fields.MESSAGE ? `: ${reply.fields.MESSAGE}` : "";
  return new TransportError(
    code,
    `${what} failed at the SAM bridge ${bridge}: RESULT=${reply.fields.RESULT ?? "(none)"}${message}`,
    { hint },
  );
}

/** A SAM conversation on one socket: one line out, one line back. */
interface SamConversation {
  socket: Socket;
  reader: ByteReader;
  bridge: string;
  version: string;
}

async function open(endpoint: SamEndpoint, signal: AbortSignal, what: string): Promise<SamConversation> {
  const bridge = describeEndpoint(endpoint);
  let socket: Socket;
  try {
    socket = await dialSocket(endpoint, signal, what);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new TransportError(
      "TAHOE_ERR_TRANSPORT_SAM_UNAVAILABLE",
      `cannot reach the I2P SAM bridge ${bridge}: ${errnoText(err)}`,
      { hint: SAM_HINT, cause: err },
    );
  }
  const reader = createByteReader(
    socket,
    () =>
      new TransportError(
        "TAHOE_ERR_TRANSPORT_SAM_PROTOCOL",
        `the SAM bridge ${bridge} closed the connection`,
        {
          hint: SAM_HINT,
        },
      ),
  );
  const conversation: SamConversation = { socket, reader, bridge, version: "" };
  const unhook = destroyOnAbort(socket, signal);
  try {
    const reply = await exchange(conversation, "HELLO VERSION MIN=3.0 MAX=3.3", "HELLO REPLY");
    if (reply.fields.RESULT === "NOVERSION") {
      throw new TransportError(
        "TAHOE_ERR_TRANSPORT_SAM_VERSION",
        `the SAM bridge ${bridge} speaks no SAM version between 3.0 and 3.3`,
        { hint: "upgrade the I2P router: SAM v3 is needed" },
      );
    }
    if (reply.fields.RESULT !== "OK" || !reply.fields.VERSION) {
      throw resultError("TAHOE_ERR_TRANSPORT_SAM_PROTOCOL", "HELLO", bridge, reply, SAM_HINT);
    }
    conversation.version = reply.fields.VERSION;
    return conversation;
  } catch (err) {
    reader.release();
    socket.destroy();
    if (signal.aborted) throw abortReason(signal, what);
    throw err;
  } finally {
    unhook();
  }
}

async function exchange(c: SamConversation, line: string, topic: string): Promise<SamReply> {
  c.socket.write(`${line}\n`);
  let text: string;
  try {
    text = await c.reader.readLine(MAX_LINE);
  } catch (err) {
    if (err instanceof TransportError) throw err;
    throw new TransportError(
      "TAHOE_ERR_TRANSPORT_SAM_PROTOCOL",
      `the SAM bridge ${c.bridge}: ${errnoText(err)}`,
      {
        hint: SAM_HINT,
        cause: err,
      },
    );
  }
  const reply = parseSamReply(text);
  if (reply.topic !== topic) {
    throw new TransportError(
      "TAHOE_ERR_TRANSPORT_SAM_PROTOCOL",
      `the SAM bridge ${c.bridge} answered '${text.slice(0, 80)}' where '${topic}' was expected`,
      { hint: SAM_HINT },
    );
  }
  return reply;
}

/** Runs one request on a fresh conversation and closes it; aborting destroys the socket. */
async function once<T>(
  endpoint: SamEndpoint,
  signal: AbortSignal,
  what: string,
  run: (c: SamConversation) => Promise<T>,
): Promise<T> {
  const c = await open(endpoint, signal, what);
  const unhook = destroyOnAbort(c.socket, signal);
  try {
    return await run(c);
  } catch (err) {
    if (signal.aborted) throw abortReason(signal, what);
    throw err;
  } finally {
    unhook();
    c.reader.release();
    c.socket.destroy();
  }
}

export interface SamDestination {
  /** The public destination, base64 (I2P alphabet). */
  publicKey: string;
  /** The private key blob, base64: keep it secret (private/i2p_dest.privkey). */
  privateKey: string;
}

/** DEST GENERATE: a new destination. Signature type 7 is Ed25519, what Tahoe-LAFS uses. */
export function samGenerateDestination(
  endpoint: SamEndpoint,
  signal: AbortSignal,
  signatureType = 7,
): Promise<SamDestination> {
  return once(endpoint, signal, "DEST GENERATE", async (c) => {
    const reply = await exchange(c, `DEST GENERATE SIGNATURE_TYPE=${signatureType}`, "DEST REPLY");
    const { PUB: publicKey, PRIV: privateKey } = reply.fields;
    if (!publicKey || !privateKey) {
      throw resultError("TAHOE_ERR_TRANSPORT_SAM_PROTOCOL", "DEST GENERATE", c.bridge, reply, SAM_HINT);
    }
    return { publicKey, privateKey };
  });
}

export interface SamSessionOptions {
  /** Default: a new random id. */
  id?: string;
  /** "TRANSIENT" (default) or a private key from samGenerateDestination. */
  destination?: string;
  signatureType?: number;
  /** Extra I2CP options, e.g. {"inbound.length": "0"}. */
  options?: Readonly<Record<string, string>>;
}

/** A STREAM session: lives as long as its control socket stays open. */
export interface SamSession {
  id: string;
  /** The session's own private destination as the bridge reported it. */
  destination: string;
  version: string;
  bridge: SamEndpoint;
  /** Resolves when the bridge or close() ended the session. */
  readonly ended: Promise<void>;
  isOpen(): boolean;
  close(): void;
}

const SESSION_ERRORS: Readonly<Record<string, TransportErrorCode>> = {
  INVALID_KEY: "TAHOE_ERR_TRANSPORT_SAM_INVALID_DESTINATION",
};

export async function samCreateSession(
  endpoint: SamEndpoint,
  signal: AbortSignal,
  options: SamSessionOptions = {},
): Promise<SamSession> {
  const id = options.id ?? `lafs-${randomBytes(6).toString("hex")}`;
  const what = `SESSION CREATE ${id}`;
  const c = await open(endpoint, signal, what);
  const unhook = destroyOnAbort(c.socket, signal);
  try {
    const extra = Object.entries(options.options ?? {})
      .map(([k, v]) => ` ${k}=${v}`)
      .join("");
    const destination = options.destination ?? "TRANSIENT";
    const signature = destination === "TRANSIENT" ? ` SIGNATURE_TYPE=${options.signatureType ?? 7}` : "";
    const reply = await exchange(
      c,
      `SESSION CREATE STYLE=STREAM ID=${id} DESTINATION=${destination}${signature}${extra}`,
      "SESSION STATUS",
    );
    if (reply.fields.RESULT !== "OK") {
      throw resultError(
        SESSION_ERRORS[reply.fields.RESULT ?? ""] ?? "TAHOE_ERR_TRANSPORT_SAM_SESSION",
        what,
        c.bridge,
        reply,
        "check the I2P router's log; a DUPLICATED_DEST means another program uses the same destination key",
      );
    }
    c.reader.release();
    let open = true;
    const ended = new Promise<void>((resolve) => {
      c.socket.once("close", () => {
        open = false;
        resolve();
      });
    });
    // The session socket must stay open and answered: SAM 3.2 bridges may PING it.
    c.socket.on("error", () => {});
    let pending = "";
    c.socket.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
        const line = pending.slice(0, nl).replace(/\r$/, "");
        pending = pending.slice(nl + 1);
        if (line.startsWith("PING")) c.socket.write(`PONG${line.slice(4)}\n`);
      }
      if (pending.length > MAX_LINE) c.socket.destroy();
    });
    return {
      id,
      destination: reply.fields.DESTINATION ?? "",
      version: c.version,
      bridge: endpoint,
      ended,
      isOpen: () => open,
      close: () => {
        open = false;
        c.socket.destroy();
      },
    };
  } catch (err) {
    c.reader.release();
    c.socket.destroy();
    if (signal.aborted) throw abortReason(signal, what);
    throw err;
  } finally {
    unhook();
  }
}

const STREAM_ERRORS: Readonly<Record<string, TransportErrorCode>> = {
  CANT_REACH_PEER: "TAHOE_ERR_TRANSPORT_SAM_PEER_UNREACHABLE",
  PEER_NOT_FOUND: "TAHOE_ERR_TRANSPORT_SAM_PEER_UNREACHABLE",
  TIMEOUT: "TAHOE_ERR_TRANSPORT_SAM_PEER_UNREACHABLE",
  INVALID_KEY: "TAHOE_ERR_TRANSPORT_SAM_INVALID_DESTINATION",
  KEY_NOT_FOUND: "TAHOE_ERR_TRANSPORT_SAM_INVALID_DESTINATION",
  INVALID_ID: "TAHOE_ERR_TRANSPORT_SAM_SESSION",
};

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split(".").map(Number);
  return a > major || (a === major && b >= minor);
}

/**
 * STREAM CONNECT over a session: resolves with the socket carrying the stream. The destination
 * may be a .b32.i2p address, an address-book name or a full base64 destination. TO_PORT needs
 * SAM 3.2, so the port is sent only to bridges that speak it.
 */
export async function samStreamConnect(
  session: Pick<SamSession, "id" | "bridge">,
  destination: string,
  signal: AbortSignal,
  port?: number,
): Promise<Socket> {
  const what = `STREAM CONNECT to ${destination}`;
  return streamCommand(
    session.bridge,
    signal,
    what,
    (c) => {
      const toPort = port !== undefined && versionAtLeast(c.version, 3, 2) ? ` TO_PORT=${port}` : "";
      return `STREAM CONNECT ID=${session.id} DESTINATION=${destination} SILENT=false${toPort}`;
    },
    "the I2P destination may be offline, or the router has not integrated into the network yet; try again later",
  );
}

/**
 * One STREAM command on a new bridge socket (CONNECT, FORWARD): resolves with the socket once
 * the bridge answers RESULT=OK, the socket then carrying the stream or holding the forward.
 * On a refusal, an error or `signal`, the socket is destroyed.
 */
async function streamCommand(
  bridge: SamSession["bridge"],
  signal: AbortSignal,
  what: string,
  line: (c: SamConversation) => string,
  hint: string,
): Promise<Socket> {
  const c = await open(bridge, signal, what);
  const unhook = destroyOnAbort(c.socket, signal);
  try {
    const reply = await exchange(c, line(c), "STREAM STATUS");
    if (reply.fields.RESULT !== "OK") {
      throw resultError(
        STREAM_ERRORS[reply.fields.RESULT ?? ""] ?? "TAHOE_ERR_TRANSPORT_SAM_FAILURE",
        what,
        c.bridge,
        reply,
        hint,
      );
    }
    c.reader.release();
    return c.socket;
  } catch (err) {
    c.reader.release();
    c.socket.destroy();
    if (signal.aborted) throw abortReason(signal, what);
    throw err;
  } finally {
    unhook();
  }
}

export interface SamForwardTarget {
  /** Where the bridge delivers each inbound stream; default 127.0.0.1. */
  host?: string;
  port: number;
}

/** A STREAM FORWARD: inbound streams of the session reach the target while its socket stays open. */
export interface SamForward {
  readonly ended: Promise<void>;
  isOpen(): boolean;
  close(): void;
}

/**
 * STREAM FORWARD with SILENT=true: the bridge then opens a plain TCP connection to the target for
 * each inbound stream and relays bytes only. With SILENT=false it would first write the peer's
 * base64 destination and a newline, which would break any protocol that speaks first in bytes
 * (TLS, our case): the tub authenticates peers by their TLS pin, so that line has no use.
 */
export async function samStreamForward(
  session: Pick<SamSession, "id" | "bridge">,
  target: SamForwardTarget,
  signal: AbortSignal,
): Promise<SamForward> {
  const host = target.host ?? "127.0.0.1";
  const what = `STREAM FORWARD of session ${session.id} to ${host}:${target.port}`;
  const socket = await streamCommand(
    session.bridge,
    signal,
    what,
    () => `STREAM FORWARD ID=${session.id} PORT=${target.port} HOST=${host} SILENT=true`,
    "the session may have ended (the I2P router restarted?); start the node again",
  );
  return holdOpen(socket);
}

function holdOpen(socket: Socket): SamForward {
  let open = true;
  const ended = new Promise<void>((resolve) => {
    socket.once("close", () => {
      open = false;
      resolve();
    });
  });
  socket.on("error", () => {});
  // Nothing more is expected on a forward's socket; reading keeps a half-closed socket noticed.
  socket.resume();
  return {
    ended,
    isOpen: () => open,
    close: () => {
      open = false;
      socket.destroy();
    },
  };
}

import type { Socket } from "node:net";
import { SocksClient } from "socks";
import { type DaemonEndpoint, describeEndpoint, destroyOnAbort, dialSocket, errnoText } from "./dial.js";
import { abortReason, describeError, TransportError, type TransportErrorCode } from "./errors.js";
import { addressBytes } from "./ip.js";

export interface Socks5Target {
  /** Sent to the proxy as written: a name goes as ATYP 3 and is resolved by the proxy, never here. */
  host: string;
  port: number;
}

interface ReplyMeaning {
  code: TransportErrorCode;
  text: string;
  hint: string;
}

const CHECK_TOR = "check that tor runs and has bootstrapped (its log says 'Bootstrapped 100%')";

/** RFC 1928 replies, and Tor's extended ones (tor's doc/socks-extensions.txt) for onion services. */
const REPLIES: Readonly<Record<number, ReplyMeaning>> = {
  1: { code: "TAHOE_ERR_TRANSPORT_SOCKS_FAILURE", text: "general SOCKS server failure", hint: CHECK_TOR },
  2: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_NOT_ALLOWED",
    text: "connection not allowed by the proxy's rules (Tor's exit policy)",
    hint: "the proxy refuses this address or port; ask the server's operator for a hint that Tor may reach, such as an onion address",
  },
  3: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_UNREACHABLE",
    text: "network unreachable",
    hint: "the proxy cannot reach that network; check the hint, or try again later",
  },
  4: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_UNREACHABLE",
    text: "host unreachable (or its name did not resolve at the exit)",
    hint: "check the host name in the hint; Tor resolves it at the exit relay",
  },
  5: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_REFUSED",
    text: "connection refused by the destination",
    hint: "nothing listens on that port at the server; check that the server runs",
  },
  6: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_TTL_EXPIRED",
    text: "TTL expired (Tor timed out building the circuit or connecting)",
    hint: "the Tor network was too slow or the server did not answer; try again later",
  },
  7: { code: "TAHOE_ERR_TRANSPORT_SOCKS_FAILURE", text: "command not supported", hint: CHECK_TOR },
  8: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_FAILURE",
    text: "address type not supported",
    hint: "the proxy does not take this kind of address; use a Tor SOCKS port",
  },
  240: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_ONION_NOT_FOUND",
    text: "onion service descriptor not found",
    hint: "the onion service is not published: the server may be down, or its onion is new and not uploaded yet; try again later",
  },
  241: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_ONION_INVALID",
    text: "onion service descriptor is invalid",
    hint: "the server's onion service published a broken descriptor; tell its operator",
  },
  242: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_ONION_UNREACHABLE",
    text: "onion service introduction failed",
    hint: "the onion service did not answer its introduction points; it may be down, try again later",
  },
  243: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_ONION_UNREACHABLE",
    text: "onion service rendezvous failed",
    hint: "the onion service did not complete the rendezvous; try again later",
  },
  244: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_ONION_AUTH",
    text: "onion service needs client authorization",
    hint: "this onion service only admits authorized clients; add its client auth key to tor",
  },
  245: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_ONION_AUTH",
    text: "onion service client authorization was refused",
    hint: "the client auth key given to tor is wrong for this onion service",
  },
  246: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_ONION_INVALID",
    text: "invalid onion address",
    hint: "the onion address in the hint is malformed; copy it again from the server's announcement",
  },
  247: {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_ONION_UNREACHABLE",
    text: "onion service introduction timed out",
    hint: "the onion service did not answer in time; try again later",
  },
};

/** Maps a SOCKS5 reply code to the typed error a caller sees. Exported for the reply table test. */
export function socksReplyError(reply: number, target: string, proxy: string): TransportError {
  const meaning = REPLIES[reply] ?? {
    code: "TAHOE_ERR_TRANSPORT_SOCKS_FAILURE" as const,
    text: `unknown reply code 0x${reply.toString(16).padStart(2, "0")}`,
    hint: CHECK_TOR,
  };
  return new TransportError(
    meaning.code,
    `the SOCKS proxy ${proxy} could not connect to ${target}: ${meaning.text} (reply 0x${reply.toString(16).padStart(2, "0")})`,
    { hint: meaning.hint },
  );
}

function protocolError(proxy: string, what: string): TransportError {
  return new TransportError("TAHOE_ERR_TRANSPORT_SOCKS_PROTOCOL", `the SOCKS proxy ${proxy} ${what}`, {
    hint: "the configured port is not a SOCKS5 proxy without authentication; point [tor]socks.port at tor's SocksPort",
  });
}

/** SOCKS5 username/password (RFC 1929); Tor does not check them, it isolates streams by them. */
export interface Socks5Credentials {
  username: string;
  password: string;
}

/**
 * RFC 1929 carries each field as a length byte and 1..255 bytes. Checked here because the `socks`
 * package writes the length with writeUInt8 inside its socket's data handler, where a longer
 * field would throw out of an event handler instead of failing the connect.
 */
export function checkSocks5Credentials(auth: Socks5Credentials): void {
  for (const [field, value] of [
    ["username", auth.username],
    ["password", auth.password],
  ] as const) {
    const length = Buffer.byteLength(value, "utf8");
    if (length === 0 || length > 255) {
      throw new TransportError(
        "TAHOE_ERR_TRANSPORT_SOCKS_PROTOCOL",
        `the SOCKS ${field} is ${length} bytes; RFC 1929 allows 1..255`,
        { hint: "this is a bug in the caller that chose the stream isolation credentials" },
      );
    }
  }
}

/**
 * What goes to the proxy as the CONNECT target: an address literal without brackets (sent as
 * ATYP 1/4), or an ASCII name of 1..255 bytes (ATYP 3, resolved by the proxy, never here). The
 * `socks` package sends a name's length as its count of UTF-16 units, so a non-ASCII name would
 * go out with a wrong length; and it would send an empty name as is.
 */
export function socks5TargetHost(target: Socks5Target): string {
  const host =
    target.host.startsWith("[") && target.host.endsWith("]") ? target.host.slice(1, -1) : target.host;
  if (addressBytes(host)) return host;
  const bytes = Buffer.byteLength(host, "utf8");
  if (bytes === 0 || bytes > 255 || !/^[\x21-\x7e]+$/.test(host)) {
    throw new TransportError(
      "TAHOE_ERR_TRANSPORT_SOCKS_PROTOCOL",
      `the host name '${target.host}' is not 1..255 bytes of printable ASCII, so it cannot be sent to a SOCKS5 proxy`,
      { hint: "a hint names its host in ASCII (an international name as xn--...), at most 255 bytes" },
    );
  }
  return host;
}

/**
 * The `socks` package stops waiting after its own timer (30 s unless told), which it never clears
 * (the timer keeps the client until it fires). The caller's signal is the real limit; this ceiling
 * is only there so that the package's timer cannot end a connect the caller still waits for.
 * Tor gives up on a stream after 120 s (SocksTimeout) and answers with a reply code before this.
 */
const HANDSHAKE_CEILING_MS = 300_000;

/**
 * The bytes the proxy sends during the handshake, kept beside the `socks` package's own reading
 * of them: the package reports every refused CONNECT as "Socks5 proxy rejected connection - NAME"
 * and names no reply code outside RFC 1928's 1..8 ("- undefined" for Tor's 0xF0-0xF7), so the
 * reply byte is read here, at its place after the method (and RFC 1929) answers.
 */
function recordHandshake(socket: Socket): { bytes(): Buffer; stop(): void } {
  const chunks: Buffer[] = [];
  let length = 0;
  const onData = (chunk: Buffer) => {
    if (length >= 16) return; // method (2) + auth (2) + reply head (4) is all that is ever read
    chunks.push(chunk);
    length += chunk.length;
  };
  socket.on("data", onData);
  return {
    bytes: () => Buffer.concat(chunks),
    stop: () => socket.off("data", onData),
  };
}

/** The proxy's answers, by their place in the handshake; undefined where it sent nothing. */
function handshakeAnswers(heard: Buffer): {
  version?: number;
  method?: number;
  replyVersion?: number;
  reply?: number;
} {
  const method = heard[1];
  const replyAt = method === 0x02 ? 4 : 2;
  return { version: heard[0], method, replyVersion: heard[replyAt], reply: heard[replyAt + 1] };
}

/** Turns the `socks` package's error (its messages are its ERRORS table) into our typed one. */
function handshakeError(err: unknown, heard: Buffer, proxyText: string, targetText: string): TransportError {
  const message = describeError(err);
  const answers = handshakeAnswers(heard);
  if (message.startsWith("Socks5 proxy rejected connection")) {
    if (answers.replyVersion !== undefined && answers.replyVersion !== 0x05)
      return protocolError(proxyText, `replied with version ${answers.replyVersion}, not SOCKS5`);
    if (answers.reply !== undefined) return socksReplyError(answers.reply, targetText, proxyText);
  }
  if (message.includes("(invalid socks version)"))
    return protocolError(proxyText, `answered with version ${answers.version}, not SOCKS5`);
  if (
    message.includes("(no accepted authentication type)") ||
    message.includes("(unknown authentication type)")
  )
    return protocolError(proxyText, "requires authentication");
  if (message === "Socks5 Authentication failed")
    return protocolError(proxyText, "refused the SOCKS username/password (RFC 1929)");
  if (message === "Socks5 proxy rejected connection" || message.startsWith("Received invalid Socks5 final"))
    return protocolError(proxyText, `sent a reply that is not SOCKS5 (${message})`);
  if (message === "Proxy connection timed out") {
    return new TransportError(
      "TAHOE_ERR_TRANSPORT_TIMEOUT",
      `connecting to ${targetText} through ${proxyText}: no SOCKS reply within ${HANDSHAKE_CEILING_MS / 1000} s`,
      { hint: "the Tor network was too slow or the server did not answer; try again later", cause: err },
    );
  }
  // "Socket closed", or the socket's own error (ECONNRESET, ...).
  return protocolError(
    proxyText,
    message === "Socket closed"
      ? "closed the connection during the handshake"
      : `closed the connection during the handshake (${message})`,
  );
}

/**
 * Hands the socket over the way our byte reader did: not flowing, no listener, and every byte after
 * the SOCKS reply still unread, so whoever attaches next (TLS, undici) sees the stream from its
 * first byte. The `socks` package instead re-emits such bytes as a 'data' event and resumes the
 * socket on the next turn (setImmediate after 'established'), when nobody may listen yet.
 */
async function keepEarlyBytes(socket: Socket): Promise<void> {
  const early: Buffer[] = [];
  const onData = (chunk: Buffer) => early.push(chunk);
  socket.on("data", onData);
  await new Promise<void>((resolve) => setImmediate(resolve));
  socket.off("data", onData);
  socket.pause();
  if (early.length > 0) socket.unshift(Buffer.concat(early));
  // pause() left the stream "explicitly paused", where a new 'data' listener would not start it;
  // adding and removing a 'readable' listener puts it back to "no mode chosen yet" (on the next tick).
  const none = () => {};
  socket.on("readable", none);
  socket.off("readable", none);
  await new Promise<void>((resolve) => process.nextTick(resolve));
}

/**
 * A SOCKS5 CONNECT through `proxy`, the handshake spoken by the `socks` package over a socket we
 * dial ourselves (so a unix-socket SOCKS port works, `localhost` is never looked up, and an
 * unreachable proxy is named). With credentials, username/password is offered too: Tor takes it
 * and isolates streams by it. Tor's extended reply codes (onion not found, rendezvous failed, ...)
 * become distinct typed errors (see recordHandshake). Resolves with the socket ready to carry the
 * application stream.
 */
export async function socks5Connect(
  proxy: DaemonEndpoint,
  target: Socks5Target,
  signal: AbortSignal,
  auth?: Socks5Credentials,
): Promise<Socket> {
  const proxyText = describeEndpoint(proxy);
  const targetText =
    target.host.includes(":") && !target.host.startsWith("[")
      ? `[${target.host}]:${target.port}`
      : `${target.host}:${target.port}`;
  const host = socks5TargetHost(target);
  if (auth !== undefined) checkSocks5Credentials(auth);
  let socket: Socket;
  try {
    socket = await dialSocket(proxy, signal, `connecting to ${targetText} through ${proxyText}`);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new TransportError(
      "TAHOE_ERR_TRANSPORT_SOCKS_UNAVAILABLE",
      `cannot reach the Tor SOCKS port ${proxyText}: ${errnoText(err)}`,
      { hint: "start tor, or set [tor]socks.port (or launch = true) to a SOCKS port that runs", cause: err },
    );
  }
  const heard = recordHandshake(socket);
  const unhook = destroyOnAbort(socket, signal);
  try {
    await SocksClient.createConnection({
      // The package dials nothing here (existing_socket); it wants a proxy address all the same.
      proxy: {
        host: "path" in proxy ? "localhost" : proxy.host,
        port: "path" in proxy ? 0 : proxy.port,
        type: 5,
        ...(auth === undefined ? {} : { userId: auth.username, password: auth.password }),
      },
      command: "connect",
      destination: { host, port: target.port },
      existing_socket: socket,
      timeout: HANDSHAKE_CEILING_MS,
    });
    heard.stop();
    await keepEarlyBytes(socket);
    if (signal.aborted) throw signal.reason;
    return socket;
  } catch (err) {
    heard.stop();
    socket.destroy();
    if (signal.aborted) throw abortReason(signal, `connecting to ${targetText} through ${proxyText}`);
    throw handshakeError(err, heard.bytes(), proxyText, targetText);
  } finally {
    unhook();
  }
}

import type { Socket } from "node:net";
import { createByteReader } from "./byte-reader.js";
import { type DaemonEndpoint, describeEndpoint, destroyOnAbort, dialSocket, errnoText } from "./dial.js";
import { abortReason, TransportError, type TransportErrorCode } from "./errors.js";
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

/** RFC 1929's request: version 1, then each field as a length byte and 1..255 bytes. */
export function usernamePasswordRequest(auth: Socks5Credentials): Buffer {
  const user = Buffer.from(auth.username, "utf8");
  const pass = Buffer.from(auth.password, "utf8");
  for (const [field, bytes] of [
    ["username", user],
    ["password", pass],
  ] as const) {
    if (bytes.length === 0 || bytes.length > 255) {
      throw new TransportError(
        "TAHOE_ERR_TRANSPORT_SOCKS_PROTOCOL",
        `the SOCKS ${field} is ${bytes.length} bytes; RFC 1929 allows 1..255`,
        { hint: "this is a bug in the caller that chose the stream isolation credentials" },
      );
    }
  }
  return Buffer.concat([Buffer.of(0x01, user.length), user, Buffer.of(pass.length), pass]);
}

/** The CONNECT request: the host goes as an address (ATYP 1/4) or as a name (ATYP 3), never resolved. */
export function socks5ConnectRequest(target: Socks5Target): Buffer {
  const address = addressBytes(target.host);
  let addr: Buffer;
  if (address) {
    addr = Buffer.concat([Buffer.of(address.length === 4 ? 0x01 : 0x04), address]);
  } else {
    const name = Buffer.from(target.host, "ascii");
    if (name.length === 0 || name.length > 255) {
      throw new TransportError(
        "TAHOE_ERR_TRANSPORT_SOCKS_PROTOCOL",
        `the host name '${target.host}' is not 1..255 bytes, so it cannot be sent to a SOCKS5 proxy`,
        { hint: "use a shorter host name in the hint" },
      );
    }
    addr = Buffer.concat([Buffer.of(0x03, name.length), name]);
  }
  const port = Buffer.alloc(2);
  port.writeUInt16BE(target.port);
  return Buffer.concat([Buffer.of(0x05, 0x01, 0x00), addr, port]);
}

/**
 * A SOCKS5 CONNECT through `proxy` (no authentication), written out so that Tor's extended reply
 * codes (onion not found, rendezvous failed, ...) become distinct typed errors. Resolves with the
 * socket ready to carry the application stream.
 */
export async function socks5Connect(
  proxy: DaemonEndpoint,
  target: Socks5Target,
  signal: AbortSignal,
  auth?: Socks5Credentials,
): Promise<Socket> {
  const proxyText = describeEndpoint(proxy);
  const targetText = target.host.includes(":")
    ? `[${target.host}]:${target.port}`
    : `${target.host}:${target.port}`;
  const request = socks5ConnectRequest(target);
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
  const reader = createByteReader(socket, () =>
    protocolError(proxyText, "closed the connection during the handshake"),
  );
  const unhook = destroyOnAbort(socket, signal);
  try {
    // With credentials, offer username/password too: Tor takes it, and isolates by it.
    socket.write(auth === undefined ? Buffer.of(0x05, 0x01, 0x00) : Buffer.of(0x05, 0x02, 0x00, 0x02));
    const method = await reader.read(2);
    if (method[0] !== 0x05) throw protocolError(proxyText, `answered with version ${method[0]}, not SOCKS5`);
    if (method[1] === 0x02 && auth !== undefined) {
      socket.write(usernamePasswordRequest(auth));
      const answer = await reader.read(2);
      if (answer[1] !== 0x00)
        throw protocolError(proxyText, "refused the SOCKS username/password (RFC 1929)");
    } else if (method[1] !== 0x00) throw protocolError(proxyText, "requires authentication");
    socket.write(request);
    const head = await reader.read(4);
    if (head[0] !== 0x05) throw protocolError(proxyText, `replied with version ${head[0]}, not SOCKS5`);
    if (head[1] !== 0x00) throw socksReplyError(head[1]!, targetText, proxyText);
    const atyp = head[3];
    const addressLength =
      atyp === 0x01 ? 4 : atyp === 0x04 ? 16 : atyp === 0x03 ? (await reader.read(1))[0]! : undefined;
    if (addressLength === undefined)
      throw protocolError(proxyText, `replied with unknown address type ${atyp}`);
    await reader.read(addressLength + 2);
    reader.release();
    return socket;
  } catch (err) {
    reader.release();
    socket.destroy();
    if (signal.aborted) throw abortReason(signal, `connecting to ${targetText} through ${proxyText}`);
    throw err;
  } finally {
    unhook();
  }
}

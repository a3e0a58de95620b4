import { request as httpRequest, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type PeerCertificate, type TLSSocket, connect as tlsConnect } from "node:tls";
import { type ConnectionHint, formatHint, type Nurl } from "@lafs/config";
import { constantTimeEqual, spkiHashOfCertificate } from "@lafs/crypto";
import { IntroducerClientError } from "./errors.js";

/**
 * Opens a raw byte stream to one hint. apps/node passes the transport's, which applies the
 * [connections] policy (tcp, Tor, I2P): this package never dials on its own.
 */
export type ConnectFunction = (hint: ConnectionHint, signal: AbortSignal) => Promise<Duplex>;

/** The hint that worked, for the status of the introducer connection. */
export interface PinnedSocket {
  socket: TLSSocket;
  hint: string;
}

function hintText(hint: ConnectionHint): string {
  try {
    return formatHint(hint);
  } catch {
    return `${hint.kind}:${hint.host}`;
  }
}

/** Every certificate the peer sent must carry the pinned key, as in Tahoe-LAFS's verify callback. */
function pinMismatch(socket: TLSSocket, pin: string): string | undefined {
  const seen = new Set<string>();
  let cert = socket.getPeerCertificate(true) as
    | (PeerCertificate & { issuerCertificate?: PeerCertificate })
    | undefined;
  if (!cert?.raw) return "the introducer sent no certificate";
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    const actual = spkiHashOfCertificate(cert.raw, "the introducer's certificate");
    if (!constantTimeEqual(Buffer.from(actual), Buffer.from(pin))) {
      return `the introducer's certificate has SPKI hash ${actual}`;
    }
    cert = cert.issuerCertificate;
  }
  return undefined;
}

function handshake(raw: Duplex, pin: string, signal: AbortSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    // No SNI and no CA check: the NURL's pin is the whole of the trust.
    const socket = tlsConnect({ socket: raw, rejectUnauthorized: false });
    const fail = (error: unknown) => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(error);
    };
    const onAbort = () => fail(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("error", fail);
    socket.once("secureConnect", () => {
      signal.removeEventListener("abort", onAbort);
      socket.off("error", fail);
      let mismatch: string | undefined;
      try {
        mismatch = pinMismatch(socket, pin);
      } catch (error) {
        mismatch = (error as Error).message;
      }
      if (mismatch !== undefined) {
        socket.destroy();
        reject(
          new IntroducerClientError(
            "TAHOE_ERR_INTRODUCER_CLIENT_WRONG_PIN",
            `${mismatch}, but the NURL pins ${pin}`,
            {
              hint: "the NURL in private/introducers.yaml is for another introducer, or someone is in the way; get the NURL again from the introducer's operator",
            },
          ),
        );
        return;
      }
      resolve(socket);
    });
  });
}

/**
 * Dials the NURL's hints in order through `connect` and runs TLS over the first stream that
 * opens. No HTTP byte goes out before the pin holds. Throws UNREACHABLE naming every hint's error.
 */
export async function openPinned(
  nurl: Nurl,
  connect: ConnectFunction,
  signal: AbortSignal,
  label: string,
): Promise<PinnedSocket> {
  const failures: string[] = [];
  for (const hint of nurl.hints) {
    const where = hintText(hint);
    let raw: Duplex;
    try {
      raw = await connect(hint, signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      failures.push(`${where}: ${(error as Error).message ?? String(error)}`);
      continue;
    }
    try {
      return { socket: await handshake(raw, nurl.spkiHash, signal), hint: where };
    } catch (error) {
      raw.destroy();
      if (error instanceof IntroducerClientError) throw error;
      if (signal.aborted) throw signal.reason;
      failures.push(`${where}: TLS failed: ${(error as Error).message ?? String(error)}`);
    }
  }
  throw new IntroducerClientError(
    "TAHOE_ERR_INTRODUCER_CLIENT_UNREACHABLE",
    `introducer ${label} is unreachable: ${failures.length === 0 ? "its NURL has no usable hint" : failures.join("; ")}`,
    {
      hint: "check that the introducer runs and that its NURL's host and port are reachable through [connections]",
    },
  );
}

export interface PinnedRequest {
  method: "GET" | "POST";
  path: string;
  body?: string;
  signal: AbortSignal;
}

/** One HTTP/1.1 request over an already pinned TLS socket; the socket belongs to this request. */
export function requestOver(socket: TLSSocket, request: PinnedRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { host: "introducer", connection: "close" };
    if (request.body !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = Buffer.byteLength(request.body);
    }
    const req = httpRequest({
      method: request.method,
      path: request.path,
      headers,
      createConnection: () => socket,
      signal: request.signal,
    });
    req.once("response", resolve);
    req.once("error", reject);
    req.end(request.body);
  });
}

/** Reads a whole (small) response body as text, at most `limit` bytes. */
export async function readText(response: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      response.destroy();
      break;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

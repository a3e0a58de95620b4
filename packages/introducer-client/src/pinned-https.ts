import { request as httpRequest, type IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Nurl } from "@lafs/config";
import {
  type ConnectFunction,
  HintsExhaustedError,
  openPinnedTls,
  PinMismatchError,
  type PinnedTls,
} from "@lafs/transport";
import { IntroducerClientError } from "./errors.js";

/**
 * Opens a raw byte stream to one hint. apps/node passes the transport's, which applies the
 * [connections] policy (tcp, Tor, I2P): this package never dials on its own.
 */
export type { ConnectFunction };

/** The socket and the hint that worked, for the status of the introducer connection. */
export type PinnedSocket = PinnedTls;

/**
 * Dials the NURL's hints in order through `connect` and runs the transport's pinned TLS over
 * the first stream that opens: no HTTP byte goes out before the pin holds. Throws WRONG_PIN, or
 * UNREACHABLE naming every hint's error.
 */
export async function openPinned(
  nurl: Nurl,
  connect: ConnectFunction,
  signal: AbortSignal,
  label: string,
): Promise<PinnedSocket> {
  try {
    return await openPinnedTls({
      hints: nurl.hints,
      spkiHash: nurl.spkiHash,
      connect,
      signal,
      peer: "the introducer",
    });
  } catch (error) {
    if (error instanceof PinMismatchError) {
      throw new IntroducerClientError("TAHOE_ERR_INTRODUCER_CLIENT_WRONG_PIN", error.message, {
        hint: "the NURL in private/introducers.yaml is for another introducer, or someone is in the way; get the NURL again from the introducer's operator",
      });
    }
    if (!(error instanceof HintsExhaustedError)) throw error;
    const why = error.failures.length === 0 ? "its NURL has no usable hint" : error.message;
    throw new IntroducerClientError(
      "TAHOE_ERR_INTRODUCER_CLIENT_UNREACHABLE",
      `introducer ${label} is unreachable: ${why}`,
      {
        hint: "check that the introducer runs and that its NURL's host and port are reachable through [connections]",
      },
    );
  }
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

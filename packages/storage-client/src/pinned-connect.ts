import { connect as netConnect } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { ConnectionHint } from "@lafs/config";
import type { Logger } from "@lafs/interface";
import { type ConnectFunction, HintsExhaustedError, openPinnedTls, PinMismatchError } from "@lafs/transport";

/**
 * Opens a raw byte stream to one connection hint: the transport's connectorFor() applies the
 * node's [connections] policy (tcp, Tor, I2P); the client never dials on its own except
 * through tcpConnect below.
 */
export type { ConnectFunction };

/** Why a connection could not be set up; the request layer turns it into a StorageClientError. */
export class ConnectFailure extends Error {
  constructor(
    readonly kind: "unreachable" | "wrong-pin" | "timeout",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Plain TCP to a `tcp:` hint, for callers without a transport (tests, tools). Tor and I2P hints
 * need the transport, so they are refused here instead of leaking a DNS lookup.
 */
export const tcpConnect: ConnectFunction = (hint, signal) => {
  if (hint.kind !== "tcp") {
    return Promise.reject(
      new Error(`the default connect function only dials tcp hints, not ${hint.kind}; pass connect`),
    );
  }
  if (hint.port === undefined) return Promise.reject(new Error("the tcp hint has no port"));
  return new Promise<Duplex>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const socket = netConnect({ host: hint.host, port: hint.port!, noDelay: true });
    const onAbort = () => socket.destroy(signal.reason instanceof Error ? signal.reason : undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      signal.removeEventListener("abort", onAbort);
      socket.removeListener("error", reject);
      resolve(socket);
    });
    socket.once("error", (err) => {
      signal.removeEventListener("abort", onAbort);
      reject(err);
    });
  });
};

export interface PinnedConnectOptions {
  hints: readonly ConnectionHint[];
  spkiHash: string;
  connect: ConnectFunction;
  timeoutMs: number;
  logger: Logger;
}

/**
 * The transport's pinned TLS (hints in order, no SNI, the SPKI pin checked before any HTTP
 * byte) within the call's timeout, its failures told as ConnectFailures.
 */
export async function openPinnedConnection(options: PinnedConnectOptions): Promise<TLSSocket> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new ConnectFailure("timeout", `no TLS connection within ${options.timeoutMs} ms`)),
    options.timeoutMs,
  );
  timer.unref?.();
  try {
    const { socket } = await openPinnedTls({ ...options, signal: controller.signal });
    return socket;
  } catch (err) {
    if (err instanceof PinMismatchError) {
      options.logger.warn({ hint: err.hint }, err.message);
      throw new ConnectFailure("wrong-pin", err.message, { cause: err });
    }
    if (err instanceof HintsExhaustedError) {
      const why = err.failures.length === 0 ? "the NURL has no location hints" : err.message;
      throw new ConnectFailure("unreachable", why, { cause: err.cause });
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

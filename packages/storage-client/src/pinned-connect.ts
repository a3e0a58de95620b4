import { connect as netConnect } from "node:net";
import type { Duplex } from "node:stream";
import {
  createSecureContext,
  DEFAULT_CIPHERS,
  type PeerCertificate,
  type SecureContext,
  type TLSSocket,
  connect as tlsConnect,
} from "node:tls";
import type { ConnectionHint } from "@lafs/config";
import { formatHint } from "@lafs/config";
import { constantTimeEqual, spkiHashOfCertificate } from "@lafs/crypto";
import type { Logger } from "@lafs/interface";

/**
 * Opens a raw byte stream to one connection hint. @lafs/transport supplies the real one, which
 * applies the node's [connections] policy (tcp, Tor, I2P); the client never dials on its own
 * except through the default below.
 */
export type ConnectFunction = (hint: ConnectionHint, signal: AbortSignal) => Promise<Duplex>;

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
 * Plain TCP to a `tcp:` hint, the stand-in until @lafs/transport provides policy-aware dialing.
 * Tor and I2P hints need that transport, so they are refused here instead of leaking a DNS lookup.
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

/**
 * The SPKI hash of every certificate the server sent must equal the pin, as in Tahoe-LAFS's
 * verify callback: a chain with any other certificate (an extra CA) fails too.
 * Returns a description of the first mismatch, or undefined when the pin holds.
 */
export function checkPeerPin(socket: TLSSocket, pin: string): string | undefined {
  const leaf = socket.getPeerCertificate(true) as PeerCertificate & { issuerCertificate?: PeerCertificate };
  if (!leaf?.raw) return "the server sent no certificate";
  const expected = Buffer.from(pin, "ascii");
  const seen = new Set<string>();
  let cert: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = leaf;
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    let actual: string;
    try {
      actual = spkiHashOfCertificate(cert.raw, "the server's certificate");
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
    if (!constantTimeEqual(Buffer.from(actual, "ascii"), expected)) {
      return seen.size === 1
        ? `the server's certificate has SPKI hash ${actual}`
        : `the server's certificate chain includes another certificate (SPKI hash ${actual})`;
    }
    cert = cert.issuerCertificate;
  }
  return undefined;
}

export interface PinnedConnectOptions {
  hints: readonly ConnectionHint[];
  spkiHash: string;
  connect: ConnectFunction;
  timeoutMs: number;
  logger: Logger;
}

/**
 * Dials the hints in order through the caller's connect function, runs TLS over the stream
 * without SNI or CA checks, and hands the socket on only once the pin holds: no HTTP byte is
 * written to a server with the wrong key.
 */
export function openPinnedConnection(options: PinnedConnectOptions): Promise<TLSSocket> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new ConnectFailure("timeout", `no TLS connection within ${options.timeoutMs} ms`)),
    options.timeoutMs,
  );
  timer.unref?.();
  return dialHints(options, controller.signal).finally(() => clearTimeout(timer));
}

async function dialHints(options: PinnedConnectOptions, signal: AbortSignal): Promise<TLSSocket> {
  const failures: string[] = [];
  let lastError: unknown;
  for (const hint of options.hints) {
    const where = safeHint(hint);
    let raw: Duplex;
    try {
      raw = await options.connect(hint, signal);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      lastError = err;
      failures.push(`${where}: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    try {
      return await handshake(raw, options.spkiHash, signal);
    } catch (err) {
      raw.destroy();
      if (err instanceof ConnectFailure && err.kind === "wrong-pin") {
        options.logger.warn({ hint: where }, err.message);
        throw err;
      }
      if (signal.aborted) throw signal.reason;
      lastError = err;
      failures.push(`${where}: TLS failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new ConnectFailure(
    "unreachable",
    failures.length === 0 ? "the NURL has no location hints" : failures.join("; "),
    { cause: lastError },
  );
}

/**
 * TLS 1.3 offers AES-128-GCM only (RFC 8446 makes it the one suite every peer must support):
 * OpenSSL servers otherwise pick AES-256-GCM, about 1.5 times the CPU per byte with the same
 * AES-NI, and share bytes are most of what a node encrypts. Listing it first is not enough;
 * the server chooses. TLS 1.2 keeps Node's defaults.
 */
const CIPHERS = [
  "TLS_AES_128_GCM_SHA256",
  ...DEFAULT_CIPHERS.split(":").filter((c) => !c.startsWith("TLS_")),
].join(":");

/**
 * One client context for every connection: building one per connection cost more CPU than
 * the handshake's own key exchange, and nothing in it differs (no client certificate, no CA).
 */
let sharedContext: SecureContext | undefined;
const clientContext = () => {
  sharedContext ??= createSecureContext({ ciphers: CIPHERS });
  return sharedContext;
};

function handshake(raw: Duplex, pin: string, signal: AbortSignal): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    // No host or servername: Tahoe-LAFS clients send no SNI, and the pin replaces name checks.
    const socket = tlsConnect({ socket: raw, rejectUnauthorized: false, secureContext: clientContext() });
    const fail = (err: unknown) => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(signal.reason);
    const onSecure = () => {
      const mismatch = checkPeerPin(socket, pin);
      if (mismatch !== undefined) {
        fail(new ConnectFailure("wrong-pin", `${mismatch}, but the NURL pins ${pin}`));
        return;
      }
      cleanup();
      resolve(socket);
    };
    const cleanup = () => {
      signal.removeEventListener("abort", onAbort);
      socket.removeListener("secureConnect", onSecure);
      socket.removeListener("error", fail);
      socket.removeListener("close", onClose);
    };
    const onClose = () => fail(new Error("the connection closed during the TLS handshake"));
    if (signal.aborted) return fail(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("secureConnect", onSecure);
    socket.once("error", fail);
    socket.once("close", onClose);
  });
}

function safeHint(hint: ConnectionHint): string {
  try {
    return formatHint(hint);
  } catch {
    return `${hint.kind}:${hint.host}:${hint.port ?? ""}`;
  }
}

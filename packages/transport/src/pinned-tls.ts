import type { Duplex } from "node:stream";
import {
  createSecureContext,
  DEFAULT_CIPHERS,
  type PeerCertificate,
  type SecureContext,
  type TLSSocket,
  connect as tlsConnect,
} from "node:tls";
import { type ConnectionHint, formatHint } from "@lafs/config";
import { constantTimeEqual, spkiHashOfCertificate } from "@lafs/crypto";
import type { ConnectFunction } from "./transport.js";

/**
 * The one way a node reaches a peer by its hints: the storage client, the introducer client and
 * the Foolscap tub all try a peer's hints in order, and the first two pin the peer's TLS key to
 * the SPKI hash of its NURL (wire-formats §2). Callers turn the two failures below into their
 * own TahoeErrors, whose codes and hints are theirs.
 */

/** The peer's key is not the pinned one: fatal, never retried on another hint. */
export class PinMismatchError extends Error {
  /** The hint that led to the wrong key, as messages show it (set by openPinnedTls). */
  hint: string | undefined;
}

/** No hint led to a working connection; `failures` is one line per hint, in order. */
export class HintsExhaustedError extends Error {
  constructor(
    readonly failures: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(failures.length === 0 ? "there are no connection hints" : failures.join("; "), options);
  }
}

/** A hint as error messages show it; never throws, even for a hint that cannot be written back. */
export function hintText(hint: ConnectionHint): string {
  try {
    return formatHint(hint);
  } catch {
    return `${hint.kind}:${hint.host}${hint.port === undefined ? "" : `:${hint.port}`}`;
  }
}

export interface TryHintsOptions {
  /** Once aborted, the next failure ends the loop with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** A failure that must not be retried on the next hint (a wrong key, say). */
  isFatal?: ((error: unknown) => boolean) | undefined;
  describe?: ((hint: ConnectionHint) => string) | undefined;
}

/**
 * Runs `attempt` on each hint in order until one succeeds. Hints are tried one at a time, not
 * raced: slower than foolscap's race, but every failure is reported in hint order.
 */
export async function tryHintsInOrder<T>(
  hints: readonly ConnectionHint[],
  attempt: (hint: ConnectionHint, shown: string) => Promise<T>,
  options: TryHintsOptions = {},
): Promise<T> {
  const describe = options.describe ?? hintText;
  const failures: string[] = [];
  let lastError: unknown;
  for (const hint of hints) {
    const shown = describe(hint);
    try {
      return await attempt(hint, shown);
    } catch (error) {
      if (options.isFatal?.(error)) throw error;
      if (options.signal?.aborted) throw options.signal.reason;
      lastError = error;
      failures.push(`${shown}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new HintsExhaustedError(failures, { cause: lastError });
}

/**
 * The SPKI hash of every certificate the peer sent must equal the pin, as in Tahoe-LAFS's
 * verify callback: a chain with any other certificate (an extra CA) fails too. Returns the
 * first mismatch in words (`peer` names who sent it, e.g. "the server"), or undefined.
 */
export function checkPeerPin(socket: TLSSocket, pin: string, peer: string): string | undefined {
  const leaf = socket.getPeerCertificate(true) as PeerCertificate & { issuerCertificate?: PeerCertificate };
  if (!leaf?.raw) return `${peer} sent no certificate`;
  const expected = Buffer.from(pin, "ascii");
  const seen = new Set<string>();
  let cert: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = leaf;
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    let actual: string;
    try {
      actual = spkiHashOfCertificate(cert.raw, `${peer}'s certificate`);
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
    if (!constantTimeEqual(Buffer.from(actual, "ascii"), expected)) {
      return seen.size === 1
        ? `${peer}'s certificate has SPKI hash ${actual}`
        : `${peer}'s certificate chain includes another certificate (SPKI hash ${actual})`;
    }
    cert = cert.issuerCertificate;
  }
  return undefined;
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

/**
 * Runs TLS as client over `raw` with no SNI and no CA or name check (Tahoe-LAFS clients send
 * no SNI; the pin replaces name checks) and resolves only once the pin holds, so no byte of
 * the protocol above is written to a peer with the wrong key. Throws PinMismatchError.
 */
export function pinnedTlsHandshake(
  raw: Duplex,
  pin: string,
  signal: AbortSignal,
  peer = "the server",
): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    const socket = tlsConnect({ socket: raw, rejectUnauthorized: false, secureContext: clientContext() });
    const fail = (err: unknown) => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(signal.reason);
    const onSecure = () => {
      const mismatch = checkPeerPin(socket, pin, peer);
      if (mismatch !== undefined) {
        fail(new PinMismatchError(`${mismatch}, but the NURL pins ${pin}`));
        return;
      }
      cleanup();
      resolve(socket);
    };
    const onClose = () => fail(new Error("the connection closed during the TLS handshake"));
    const cleanup = () => {
      signal.removeEventListener("abort", onAbort);
      socket.removeListener("secureConnect", onSecure);
      socket.removeListener("error", fail);
      socket.removeListener("close", onClose);
    };
    if (signal.aborted) return fail(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("secureConnect", onSecure);
    socket.once("error", fail);
    socket.once("close", onClose);
  });
}

export interface OpenPinnedTlsOptions {
  hints: readonly ConnectionHint[];
  /** The NURL's SPKI hash (base32, as crypto's spkiHash writes it). */
  spkiHash: string;
  /** Opens the raw stream for a hint: the transport's connectorFor(), or a test's tcp dialer. */
  connect: ConnectFunction;
  signal: AbortSignal;
  /** Who the peer is in messages: "the server", "the introducer". */
  peer?: string;
}

export interface PinnedTls {
  socket: TLSSocket;
  /** The hint that worked, as messages show it. */
  hint: string;
}

/**
 * Dials the hints in order through `connect` and runs pinned TLS over the first stream that
 * opens. Throws PinMismatchError (naming the hint) at once, HintsExhaustedError when no hint
 * worked, or the signal's reason once it is aborted.
 */
export function openPinnedTls(options: OpenPinnedTlsOptions): Promise<PinnedTls> {
  const { signal } = options;
  return tryHintsInOrder(
    options.hints,
    async (hint, shown) => {
      const raw = await options.connect(hint, signal);
      try {
        return { socket: await pinnedTlsHandshake(raw, options.spkiHash, signal, options.peer), hint: shown };
      } catch (err) {
        raw.destroy();
        if (err instanceof PinMismatchError) err.hint = shown;
        if (err instanceof PinMismatchError || signal.aborted) throw err;
        throw new Error(`TLS failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    },
    { signal, isFatal: (err) => err instanceof PinMismatchError },
  );
}

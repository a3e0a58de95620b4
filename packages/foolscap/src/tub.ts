import type { Duplex } from "node:stream";
import { type ConnectionHint, type Furl, parseFurl, redactUrlSecret } from "@lafs/config";
import { type ConnectFunction, HintsExhaustedError, tryHintsInOrder } from "@lafs/transport";
import { type ConnectionOptions, FoolscapConnection } from "./connection.js";
import { FoolscapError } from "./errors.js";
import { negotiateAsConnector, negotiateAsListener } from "./negotiate.js";
import type { TubIdentity } from "./tub-identity.js";

/** @lafs/transport's ConnectFunction: pass `transport.connectorFor(serverId)`. */
export type { ConnectFunction };

export interface ConnectTubOptions {
  identity: TubIdentity;
  /** Every connection goes through @lafs/transport, so Tor, I2P and overrides apply. */
  connect: ConnectFunction;
  signal?: AbortSignal;
  /** For connecting and negotiating one hint; default 120 s (foolscap's negotiation timeout). */
  timeoutMs?: number;
  /** The `current-connection` the peer gave on our last connection to it (see FoolscapConnection). */
  lastConnection?: string;
  connection?: ConnectionOptions;
}

function describeHint(hint: ConnectionHint): string {
  const host = hint.host.includes(":") ? `[${hint.host}]` : hint.host;
  return hint.port === undefined ? `${hint.kind}:${host}` : `${hint.kind}:${host}:${hint.port}`;
}

/**
 * Connects to the Tub a fURL names and negotiates, trying its hints in order (foolscap races
 * them; one at a time is slower but compatible). The peer must prove the fURL's tub id with
 * its certificate. Throws FoolscapError: _WRONG_TUB, or _UNREACHABLE listing each hint's error.
 */
export async function connectToTub(
  target: Furl | string,
  options: ConnectTubOptions,
): Promise<FoolscapConnection> {
  const furl = typeof target === "string" ? parseFurl(target) : target;
  const shown = typeof target === "string" ? redactUrlSecret(target) : `pb://${furl.tubId}@.../<secret>`;
  try {
    return await tryHintsInOrder(
      furl.hints,
      async (hint, shown) => {
        const signal = AbortSignal.any([
          AbortSignal.timeout(options.timeoutMs ?? 120_000),
          ...(options.signal ? [options.signal] : []),
        ]);
        let raw: Duplex | undefined;
        try {
          raw = await options.connect(hint, signal);
          const negotiated = await negotiateAsConnector(raw, {
            identity: options.identity,
            targetTubId: furl.tubId,
            host: hint.host,
            lastConnection: options.lastConnection,
            signal,
          });
          return new FoolscapConnection(negotiated, options.connection, shown);
        } catch (err) {
          raw?.destroy();
          throw err;
        }
      },
      {
        describe: describeHint,
        // A wrong tub is an answer, not an unreachable hint; the caller's abort ends the loop.
        isFatal: (err) =>
          (err instanceof FoolscapError && err.code === "TAHOE_ERR_FOOLSCAP_WRONG_TUB") ||
          options.signal?.aborted === true,
      },
    );
  } catch (err) {
    if (!(err instanceof HintsExhaustedError)) throw err;
    throw new FoolscapError(
      "TAHOE_ERR_FOOLSCAP_UNREACHABLE",
      furl.hints.length === 0
        ? `fURL ${shown} has no connection hints`
        : `could not reach tub ${furl.tubId} of fURL ${shown}: ${err.message}`,
      { hint: "check that the node runs and that its address in the fURL is reachable from here" },
    );
  }
}

export interface AcceptTubOptions {
  identity: TubIdentity;
  signal?: AbortSignal;
  /** Negotiation must finish within this; default 120 s (foolscap's SERVER_TIMEOUT). */
  timeoutMs?: number;
  /** As master: the seqnum for `current-connection` (keep one counter per peer tub id). */
  nextSeqnum?: (peerTubId: string) => number;
  connection?: ConnectionOptions;
}

/**
 * Serves one inbound connection (from a net.Server on the Tub's port): answers the upgrade
 * for this Tub's id only, then negotiates. Throws FoolscapError; the socket is closed then.
 */
export async function acceptTubConnection(
  raw: Duplex,
  options: AcceptTubOptions,
): Promise<FoolscapConnection> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(options.timeoutMs ?? 120_000),
    ...(options.signal ? [options.signal] : []),
  ]);
  try {
    const negotiated = await negotiateAsListener(raw, {
      identity: options.identity,
      signal,
      knowsTubId: (tubId) => tubId === options.identity.tubId,
      nextSeqnum: options.nextSeqnum,
    });
    return new FoolscapConnection(negotiated, options.connection);
  } catch (err) {
    raw.destroy();
    throw err;
  }
}

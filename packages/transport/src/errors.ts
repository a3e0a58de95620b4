import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/**
 * Every code this package raises. One list, so docs/ERRORS.md, the SOCKS and SAM reply tables
 * and callers that branch on a code all agree on the spelling.
 */
export type TransportErrorCode =
  | "TAHOE_ERR_TRANSPORT_DISABLED"
  | "TAHOE_ERR_TRANSPORT_NO_TOR"
  | "TAHOE_ERR_TRANSPORT_NO_I2P"
  | "TAHOE_ERR_TRANSPORT_PRIVACY"
  | "TAHOE_ERR_TRANSPORT_TIMEOUT"
  | "TAHOE_ERR_TRANSPORT_ABORTED"
  | "TAHOE_ERR_TRANSPORT_CLOSED"
  | "TAHOE_ERR_TRANSPORT_TCP_FAILED"
  | "TAHOE_ERR_TRANSPORT_CONNECT_FAILED"
  | "TAHOE_ERR_TRANSPORT_SOCKS_UNAVAILABLE"
  | "TAHOE_ERR_TRANSPORT_SOCKS_PROTOCOL"
  | "TAHOE_ERR_TRANSPORT_SOCKS_FAILURE"
  | "TAHOE_ERR_TRANSPORT_SOCKS_NOT_ALLOWED"
  | "TAHOE_ERR_TRANSPORT_SOCKS_UNREACHABLE"
  | "TAHOE_ERR_TRANSPORT_SOCKS_REFUSED"
  | "TAHOE_ERR_TRANSPORT_SOCKS_TTL_EXPIRED"
  | "TAHOE_ERR_TRANSPORT_SOCKS_ONION_NOT_FOUND"
  | "TAHOE_ERR_TRANSPORT_SOCKS_ONION_INVALID"
  | "TAHOE_ERR_TRANSPORT_SOCKS_ONION_UNREACHABLE"
  | "TAHOE_ERR_TRANSPORT_SOCKS_ONION_AUTH"
  | "TAHOE_ERR_TRANSPORT_SAM_UNAVAILABLE"
  | "TAHOE_ERR_TRANSPORT_SAM_PROTOCOL"
  | "TAHOE_ERR_TRANSPORT_SAM_VERSION"
  | "TAHOE_ERR_TRANSPORT_SAM_SESSION"
  | "TAHOE_ERR_TRANSPORT_SAM_INVALID_DESTINATION"
  | "TAHOE_ERR_TRANSPORT_SAM_PEER_UNREACHABLE"
  | "TAHOE_ERR_TRANSPORT_SAM_FAILURE";

/** A connection that could not be made, or a policy that forbids it; `code` says which. */
export class TransportError extends TahoeError {
  declare readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message: string, options: TahoeErrorOptions = {}) {
    super(code, message, options);
  }
}

export function isTransportError(value: unknown): value is TransportError {
  return value instanceof TransportError;
}

/** Why a connect was cancelled: a caller's abort, or our own timer. */
export function abortReason(signal: AbortSignal, what: string): TransportError {
  const reason: unknown = signal.reason;
  if (reason instanceof TransportError) return reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new TransportError("TAHOE_ERR_TRANSPORT_TIMEOUT", `${what}: timed out`, {
      hint: "the server or the Tor/I2P network did not answer in time; check the server runs, or try again later",
      cause: reason,
    });
  }
  return new TransportError("TAHOE_ERR_TRANSPORT_ABORTED", `${what}: the caller cancelled the connection`, {
    hint: "nothing to fix here: the operation that wanted this connection was cancelled or timed out",
    cause: reason,
  });
}

export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

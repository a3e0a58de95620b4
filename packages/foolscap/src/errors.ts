import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/** Every code this package raises; docs/ERRORS.md says what each one means. */
export type FoolscapErrorCode =
  | "TAHOE_ERR_FOOLSCAP_BANANA"
  | "TAHOE_ERR_FOOLSCAP_NEGOTIATION"
  | "TAHOE_ERR_FOOLSCAP_WRONG_TUB"
  | "TAHOE_ERR_FOOLSCAP_REMOTE"
  | "TAHOE_ERR_FOOLSCAP_VIOLATION"
  | "TAHOE_ERR_FOOLSCAP_CONNECTION_LOST"
  | "TAHOE_ERR_FOOLSCAP_UNREACHABLE";

/**
 * A Foolscap connection that failed or a call that did not succeed. A peer's malformed bytes
 * are always one of these, never a crash: the connection is closed and the message says why.
 */
export class FoolscapError extends TahoeError {
  declare readonly code: FoolscapErrorCode;

  constructor(code: FoolscapErrorCode, message: string, options: TahoeErrorOptions = {}) {
    super(code, message, options);
  }
}

export function isFoolscapError(value: unknown): value is FoolscapError {
  return value instanceof FoolscapError;
}

const BANANA_HINT =
  "the peer sent bytes this node will not decode (a bug or an attack on the peer's side); the connection was closed";

/** A fatal decoding problem: the peer broke the Banana protocol or one of our limits. */
export function bananaError(message: string): FoolscapError {
  return new FoolscapError("TAHOE_ERR_FOOLSCAP_BANANA", message, { hint: BANANA_HINT });
}

/** What a remote call reported as its failure (foolscap's copied twisted Failure). */
export interface RemoteFailure {
  /** Qualified exception class, e.g. "foolscap.tokens.Violation". */
  type: string;
  /** str() of the exception. */
  value: string;
}

/** A remote call that the peer answered with an `error` sequence. */
export class FoolscapRemoteError extends FoolscapError {
  readonly failure: RemoteFailure;

  constructor(what: string, failure: RemoteFailure) {
    super("TAHOE_ERR_FOOLSCAP_REMOTE", `${what} failed on the peer: ${failure.type}: ${failure.value}`, {
      hint: "the remote node refused or could not carry out the call; its message above says why",
    });
    this.failure = failure;
  }
}

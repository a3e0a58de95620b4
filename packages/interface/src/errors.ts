/** Every error code has this shape: TAHOE_ERR_<AREA>_<WHAT>. docs/ERRORS.md lists them all. */
export type ErrorCode = `TAHOE_ERR_${string}`;

export interface TahoeErrorOptions {
  /** What the user can do about it, printed under the message by the CLI. */
  hint?: string | undefined;
  cause?: unknown;
}

/**
 * The base of every error lafs-ts raises on purpose. A TahoeError is a user's or a
 * peer's mistake with a message that names the input; anything else that escapes is an
 * internal error, and the CLI prints its stack and asks for a report.
 */
export class TahoeError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: TahoeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

export function isTahoeError(value: unknown): value is TahoeError {
  return value instanceof TahoeError;
}

/** The message a person reads: the message, then the hint on its own line. */
export function formatTahoeError(error: TahoeError): string {
  return error.hint ? `${error.message}\n${error.hint}` : error.message;
}

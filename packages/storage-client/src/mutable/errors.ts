import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

export type MutableFileErrorCode =
  | "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES"
  | "TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE"
  | "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SERVERS"
  | "TAHOE_ERR_MUTABLE_READ_ONLY_CAP"
  | "TAHOE_ERR_MUTABLE_TOO_LARGE"
  | "TAHOE_ERR_MUTABLE_ARGUMENT"
  | "TAHOE_ERR_MUTABLE_ABORTED";

/**
 * A mutable-file operation on the grid that did not happen: no recoverable version
 * (Tahoe's NotEnoughSharesError / UnrecoverableFileError), another writer changed the file
 * under us (UncoordinatedWriteError), too few servers took the new shares, a read-only cap
 * given for a write, contents over the size cap, a bad argument, or a cancel.
 */
export class MutableFileError extends TahoeError {
  declare readonly code: MutableFileErrorCode;
}

export function isMutableFileError(value: unknown, code?: MutableFileErrorCode): value is MutableFileError {
  return value instanceof MutableFileError && (code === undefined || value.code === code);
}

export function mutableError(
  code: MutableFileErrorCode,
  message: string,
  hint: string,
  options: Omit<TahoeErrorOptions, "hint"> = {},
): MutableFileError {
  return new MutableFileError(code, message, { ...options, hint });
}

/** The error a cancelled operation throws, naming what was cancelled. */
export function abortedError(what: string, signal: AbortSignal): MutableFileError {
  return mutableError(
    "TAHOE_ERR_MUTABLE_ABORTED",
    `${what} cancelled`,
    "the operation was cancelled on purpose",
    {
      cause: signal.reason,
    },
  );
}

export function throwIfAborted(what: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(what, signal);
}

/** `code: message` of anything thrown, for logs, advisories and summaries. */
export function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

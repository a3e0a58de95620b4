import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/** The codes @lafs/directory raises; docs/ERRORS.md says what each one means. */
export type DirectoryErrorCode =
  | "TAHOE_ERR_DIRECTORY_CAP"
  | "TAHOE_ERR_DIRECTORY_NO_SUCH_CHILD"
  | "TAHOE_ERR_DIRECTORY_EXISTS"
  | "TAHOE_ERR_DIRECTORY_NOT_A_DIRECTORY"
  | "TAHOE_ERR_DIRECTORY_READ_ONLY"
  | "TAHOE_ERR_DIRECTORY_BAD_NAME"
  | "TAHOE_ERR_DIRECTORY_BAD_CHILD"
  | "TAHOE_ERR_DIRECTORY_MALFORMED"
  | "TAHOE_ERR_DIRECTORY_NOT_DEEP_IMMUTABLE"
  | "TAHOE_ERR_DIRECTORY_BUSY";

export class DirectoryError extends TahoeError {
  declare readonly code: DirectoryErrorCode;

  constructor(code: DirectoryErrorCode, message: string, options: TahoeErrorOptions = {}) {
    super(code, message, options);
  }
}

export function isDirectoryError(value: unknown, code?: DirectoryErrorCode): value is DirectoryError {
  return value instanceof DirectoryError && (code === undefined || value.code === code);
}

/** A cap shortened for a message: long enough to recognise, short enough to read. */
export function shownCap(cap: string): string {
  return cap.length > 60 ? `${cap.slice(0, 60)}…` : cap;
}

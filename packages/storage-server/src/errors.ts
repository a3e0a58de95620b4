import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/** The codes @lafs/storage-server raises; docs/ERRORS.md says what each one means. */
export type StorageServerErrorCode =
  | "TAHOE_ERR_STORAGE_SERVER_UNAUTHORIZED"
  | "TAHOE_ERR_STORAGE_SERVER_BAD_SECRETS"
  | "TAHOE_ERR_STORAGE_SERVER_WRONG_SECRET"
  | "TAHOE_ERR_STORAGE_SERVER_BAD_PATH"
  | "TAHOE_ERR_STORAGE_SERVER_BAD_BODY"
  | "TAHOE_ERR_STORAGE_SERVER_MEDIA_TYPE"
  | "TAHOE_ERR_STORAGE_SERVER_NOT_ACCEPTABLE"
  | "TAHOE_ERR_STORAGE_SERVER_TOO_LARGE"
  | "TAHOE_ERR_STORAGE_SERVER_BAD_RANGE"
  | "TAHOE_ERR_STORAGE_SERVER_NOT_FOUND"
  | "TAHOE_ERR_STORAGE_SERVER_CONFLICT"
  | "TAHOE_ERR_STORAGE_SERVER_SHARE_KIND"
  | "TAHOE_ERR_STORAGE_SERVER_RANGE_BUSY"
  | "TAHOE_ERR_STORAGE_SERVER_UPLOAD_LOST"
  | "TAHOE_ERR_STORAGE_SERVER_BODY_TIMEOUT"
  | "TAHOE_ERR_STORAGE_SERVER_BUSY"
  | "TAHOE_ERR_STORAGE_SERVER_ALREADY_COMPLETE"
  | "TAHOE_ERR_STORAGE_SERVER_READONLY"
  | "TAHOE_ERR_STORAGE_SERVER_CORRUPT_CONTAINER"
  | "TAHOE_ERR_STORAGE_SERVER_OPTIONS"
  | "TAHOE_ERR_STORAGE_SERVER_LISTEN"
  | "TAHOE_ERR_STORAGE_SERVER_STOPPED"
  | "TAHOE_ERR_STORAGE_SERVER_FULL"
  | "TAHOE_ERR_STORAGE_SERVER_ADVISORIES_FULL"
  | "TAHOE_ERR_STORAGE_SERVER_BAD_REQUEST"
  | "TAHOE_ERR_STORAGE_SERVER_URL_TOO_LONG"
  | "TAHOE_ERR_STORAGE_SERVER_HEADERS_TOO_LARGE"
  | "TAHOE_ERR_STORAGE_SERVER_REQUEST_TIMEOUT"
  | "TAHOE_ERR_STORAGE_SERVER_INTERNAL";

/**
 * A request the server refuses, or a server that cannot start. `status` is the HTTP
 * status the peer gets; the message (never a secret) is the plain-text response body.
 */
export class StorageServerError extends TahoeError {
  declare readonly code: StorageServerErrorCode;
  readonly status: number;

  constructor(
    code: StorageServerErrorCode,
    status: number,
    message: string,
    options: TahoeErrorOptions = {},
  ) {
    super(code, message, options);
    this.status = status;
  }
}

export function isStorageServerError(value: unknown): value is StorageServerError {
  return value instanceof StorageServerError;
}

export function badPath(message: string): StorageServerError {
  return new StorageServerError("TAHOE_ERR_STORAGE_SERVER_BAD_PATH", 400, message, {
    hint: "a storage index is 26 lower-case base32 characters; a share number is a decimal integer 0..255",
  });
}

export function badBody(message: string, hint?: string): StorageServerError {
  return new StorageServerError("TAHOE_ERR_STORAGE_SERVER_BAD_BODY", 400, message, {
    hint: hint ?? "the body must be CBOR matching the endpoint's schema (wire-formats §5.5)",
  });
}

export function badRange(message: string): StorageServerError {
  return new StorageServerError("TAHOE_ERR_STORAGE_SERVER_BAD_RANGE", 416, message, {
    hint: "send one range as 'bytes=FIRST-LAST' (reads) or 'bytes FIRST-LAST/*' (writes), inside the share",
  });
}

export function notFound(message: string): StorageServerError {
  return new StorageServerError("TAHOE_ERR_STORAGE_SERVER_NOT_FOUND", 404, message);
}

export function tooLarge(message: string, hint: string): StorageServerError {
  return new StorageServerError("TAHOE_ERR_STORAGE_SERVER_TOO_LARGE", 413, message, { hint });
}

/** A share number of `si` is held by the other kind of share (or an upload of one). */
export function shareKindConflict(si: string, shnum: number, held: string): StorageServerError {
  return new StorageServerError(
    "TAHOE_ERR_STORAGE_SERVER_SHARE_KIND",
    409,
    `share ${shnum} of storage index ${si} is already ${held}; an immutable and a mutable share cannot share a number`,
    { hint: "nothing was written; a storage index is either an immutable file's or a mutable slot's" },
  );
}

/**
 * The partial file of an upload in progress was removed behind the server (by an operator or
 * a cleanup script): its bytes are gone, so the upload is dropped and the client told which.
 */
export function uploadLost(si: string, shnum: number): StorageServerError {
  return new StorageServerError(
    "TAHOE_ERR_STORAGE_SERVER_UPLOAD_LOST",
    404,
    `share ${shnum} of ${si}: the upload's partial file was removed from the server's disk while it was being written; the upload is dropped`,
    { hint: "allocate the share again (nothing of it is kept), or place it on another server" },
  );
}

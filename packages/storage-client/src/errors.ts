import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

export type StorageClientErrorCode =
  | "TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE"
  | "TAHOE_ERR_STORAGE_CLIENT_WRONG_PIN"
  | "TAHOE_ERR_STORAGE_CLIENT_UNAUTHORIZED"
  | "TAHOE_ERR_STORAGE_CLIENT_CONFLICT"
  | "TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL"
  | "TAHOE_ERR_STORAGE_CLIENT_TIMEOUT"
  | "TAHOE_ERR_STORAGE_CLIENT_ABORTED"
  | "TAHOE_ERR_STORAGE_CLIENT_PROTOCOL"
  | "TAHOE_ERR_STORAGE_CLIENT_NOT_FOUND"
  | "TAHOE_ERR_STORAGE_CLIENT_HTTP"
  | "TAHOE_ERR_STORAGE_CLIENT_ARGUMENT"
  | "TAHOE_ERR_STORAGE_CLIENT_CLOSED";

export interface StorageClientErrorOptions extends TahoeErrorOptions {
  /** The server's NURL with its swissnum replaced by `<secret>`. */
  server: string;
  /** What the client was doing, e.g. `allocate i5nhq74zw2crkop634ra4hrvzm`. */
  operation: string;
  /** The HTTP status, when the server answered. */
  status?: number | undefined;
}

/** Every deliberate failure of a GBS call: which server, which operation, and what went wrong. */
export class StorageClientError extends TahoeError {
  declare readonly code: StorageClientErrorCode;
  readonly server: string;
  readonly operation: string;
  readonly status: number | undefined;

  constructor(code: StorageClientErrorCode, message: string, options: StorageClientErrorOptions) {
    super(code, message, options);
    this.server = options.server;
    this.operation = options.operation;
    this.status = options.status;
  }
}

export function isStorageClientError(
  value: unknown,
  code?: StorageClientErrorCode,
): value is StorageClientError {
  return value instanceof StorageClientError && (code === undefined || value.code === code);
}

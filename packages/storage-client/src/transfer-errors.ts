import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

export type UploadErrorCode =
  | "TAHOE_ERR_UPLOAD_ARGUMENT"
  | "TAHOE_ERR_UPLOAD_UNHAPPY"
  | "TAHOE_ERR_UPLOAD_SOURCE_CHANGED"
  | "TAHOE_ERR_UPLOAD_ABORTED";

export interface UploadErrorOptions extends TahoeErrorOptions {
  /** Servers-of-happiness reached when the upload stopped (for _UNHAPPY). */
  happiness?: number | undefined;
  /** Ids of the servers that failed during the upload. */
  failedServers?: readonly string[] | undefined;
}

/**
 * An upload that did not finish. Refusals before any byte was sent are @lafs/placement's
 * PlacementRefusedError instead, with the words the control panel shows.
 */
export class UploadError extends TahoeError {
  declare readonly code: UploadErrorCode;
  readonly happiness: number | undefined;
  readonly failedServers: readonly string[];

  constructor(code: UploadErrorCode, message: string, options: UploadErrorOptions = {}) {
    super(code, message, options);
    this.happiness = options.happiness;
    this.failedServers = options.failedServers ?? [];
  }
}

export type DownloadErrorCode =
  | "TAHOE_ERR_DOWNLOAD_CAP"
  | "TAHOE_ERR_DOWNLOAD_NOT_ENOUGH_SHARES"
  | "TAHOE_ERR_DOWNLOAD_ABORTED";

/** A download that could not start; failures while streaming come from @lafs/immutable's decoder. */
export class DownloadError extends TahoeError {
  declare readonly code: DownloadErrorCode;
}

export function isUploadError(value: unknown, code?: UploadErrorCode): value is UploadError {
  return value instanceof UploadError && (code === undefined || value.code === code);
}

export function isDownloadError(value: unknown, code?: DownloadErrorCode): value is DownloadError {
  return value instanceof DownloadError && (code === undefined || value.code === code);
}

import { TahoeError } from "@lafs/interface";

export type I2pProviderErrorCode =
  | "TAHOE_ERR_I2P_SAM_PORT"
  | "TAHOE_ERR_I2P_DEST_KEY"
  | "TAHOE_ERR_I2P_DEST_MISMATCH"
  | "TAHOE_ERR_I2P_SESSION_TIMEOUT";

/** A problem with the I2P settings or key files of a node (the SAM conversation's own errors are TransportErrors). */
export class I2pProviderError extends TahoeError {
  declare readonly code: I2pProviderErrorCode;
  constructor(code: I2pProviderErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
  }
}

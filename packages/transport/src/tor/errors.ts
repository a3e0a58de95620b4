import { TahoeError } from "@lafs/interface";

export type TorErrorCode =
  | "TAHOE_ERR_TOR_CONTROL_CONNECT"
  | "TAHOE_ERR_TOR_CONTROL_PROTOCOL"
  | "TAHOE_ERR_TOR_CONTROL_COMMAND"
  | "TAHOE_ERR_TOR_AUTH"
  | "TAHOE_ERR_TOR_LAUNCH"
  | "TAHOE_ERR_TOR_BOOTSTRAP_TIMEOUT"
  | "TAHOE_ERR_TOR_NOT_FOUND"
  | "TAHOE_ERR_TOR_ONION_KEY"
  | "TAHOE_ERR_TOR_DISABLED";

/** A failure talking to, launching or finding Tor; the message names the endpoint or file involved. */
export class TorError extends TahoeError {
  declare readonly code: TorErrorCode;
  constructor(code: TorErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
  }
}

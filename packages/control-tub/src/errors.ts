import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

export type ControlTubErrorCode =
  | "TAHOE_ERR_CONTROL_LISTEN"
  | "TAHOE_ERR_CONTROL_NOT_LOOPBACK"
  | "TAHOE_ERR_CONTROL_URL_FILE"
  | "TAHOE_ERR_CONTROL_NOT_RUNNING"
  | "TAHOE_ERR_CONTROL_PIN_MISMATCH"
  | "TAHOE_ERR_CONTROL_RESPONSE";

/** Every error the control tub and its client raise on purpose. */
export class ControlTubError extends TahoeError {
  declare readonly code: ControlTubErrorCode;

  constructor(code: ControlTubErrorCode, message: string, options: TahoeErrorOptions = {}) {
    super(code, message, options);
  }
}

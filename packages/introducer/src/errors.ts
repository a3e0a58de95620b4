import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/** The codes the introducer service raises; docs/ERRORS.md says what each one means. */
export type IntroducerErrorCode =
  | "TAHOE_ERR_INTRODUCER_OPTIONS"
  | "TAHOE_ERR_INTRODUCER_LISTEN"
  | "TAHOE_ERR_INTRODUCER_REPLAY"
  | "TAHOE_ERR_INTRODUCER_LIMIT"
  | "TAHOE_ERR_INTRODUCER_REQUEST";

/**
 * A refusal or a start-up problem. `status` is the HTTP status a refused request gets, so a
 * publisher can tell a bad announcement (4xx, do not retry) from an overloaded introducer.
 */
export class IntroducerError extends TahoeError {
  declare readonly code: IntroducerErrorCode;
  readonly status: number;

  constructor(code: IntroducerErrorCode, status: number, message: string, options: TahoeErrorOptions = {}) {
    super(code, message, options);
    this.status = status;
  }
}

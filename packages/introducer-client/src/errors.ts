import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/** The codes the introducer client raises; docs/ERRORS.md says what each one means. */
export type IntroducerClientErrorCode =
  | "TAHOE_ERR_INTRODUCER_CLIENT_UNREACHABLE"
  | "TAHOE_ERR_INTRODUCER_CLIENT_WRONG_PIN"
  | "TAHOE_ERR_INTRODUCER_CLIENT_REFUSED"
  | "TAHOE_ERR_INTRODUCER_CLIENT_PROTOCOL"
  | "TAHOE_ERR_INTRODUCER_CLIENT_URL"
  | "TAHOE_ERR_INTRODUCER_CLIENT_CACHE"
  | "TAHOE_ERR_INTRODUCER_CLIENT_SEQNUM";

/** Something between this node and one introducer went wrong; `introducer` names its petname. */
export class IntroducerClientError extends TahoeError {
  declare readonly code: IntroducerClientErrorCode;

  constructor(code: IntroducerClientErrorCode, message: string, options: TahoeErrorOptions = {}) {
    super(code, message, options);
  }
}

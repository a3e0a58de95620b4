import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/** Node-directory problems of the introducer and its clients; docs/ERRORS.md lists them. */
export type IntroducerNodeErrorCode =
  | "TAHOE_ERR_INTRODUCER_FURL_FILE"
  | "TAHOE_ERR_INTRODUCER_CLIENT_INTRODUCERS_YAML";

export class IntroducerNodeError extends TahoeError {
  declare readonly code: IntroducerNodeErrorCode;

  constructor(code: IntroducerNodeErrorCode, message: string, options: TahoeErrorOptions = {}) {
    super(code, message, options);
  }
}

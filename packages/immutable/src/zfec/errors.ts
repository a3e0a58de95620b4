import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

export type ErasureCoderErrorCode =
  | "TAHOE_ERR_IMMUTABLE_CODER_PARAMS"
  | "TAHOE_ERR_IMMUTABLE_CODER_BLOCKS"
  | "TAHOE_ERR_IMMUTABLE_CODER_INDICES";

/** A caller handed the erasure coder parameters, blocks or block indices it cannot use. */
export class ErasureCoderError extends TahoeError {
  declare readonly code: ErasureCoderErrorCode;

  constructor(code: ErasureCoderErrorCode, message: string, options: TahoeErrorOptions = {}) {
    super(code, message, options);
  }
}

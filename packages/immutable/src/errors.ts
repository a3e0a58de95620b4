import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/** The codes the CHK encoder and decoder raise; docs/ERRORS.md says what each one means. */
export type ImmutableErrorCode =
  | "TAHOE_ERR_IMMUTABLE_PARAMS"
  | "TAHOE_ERR_IMMUTABLE_CAP"
  | "TAHOE_ERR_IMMUTABLE_SOURCE"
  | "TAHOE_ERR_IMMUTABLE_NOT_ENOUGH_SHARES"
  | "TAHOE_ERR_IMMUTABLE_RANGE"
  | "TAHOE_ERR_IMMUTABLE_CRYPTTEXT_HASH";

/** The codes that blame one share: the downloader drops that share and tries another. */
export type CorruptShareErrorCode =
  | "TAHOE_ERR_IMMUTABLE_SHARE_HEADER"
  | "TAHOE_ERR_IMMUTABLE_SHARE_TRUNCATED"
  | "TAHOE_ERR_IMMUTABLE_UEB"
  | "TAHOE_ERR_IMMUTABLE_UEB_HASH"
  | "TAHOE_ERR_IMMUTABLE_SHARE_HASH"
  | "TAHOE_ERR_IMMUTABLE_BLOCK_HASH"
  | "TAHOE_ERR_IMMUTABLE_CRYPTTEXT_TREE";

/** Bad parameters, a malformed cap, a source that changed under the encoder, a bad range. */
export class ImmutableError extends TahoeError {
  declare readonly code: ImmutableErrorCode | CorruptShareErrorCode;

  constructor(
    code: ImmutableErrorCode | CorruptShareErrorCode,
    message: string,
    options: TahoeErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

/**
 * One share failed a check: its header, UEB, hash chain, block tree or a block does not match
 * what the cap commits to. `shareNumber` says which, so a downloader can switch shares.
 */
export class CorruptShareError extends ImmutableError {
  declare readonly code: CorruptShareErrorCode;
  readonly shareNumber: number;

  constructor(
    code: CorruptShareErrorCode,
    shareNumber: number,
    message: string,
    options: TahoeErrorOptions = {},
  ) {
    super(code, `share ${shareNumber}: ${message}`, {
      hint:
        options.hint ??
        "The share is damaged or was not written for this cap; fetch this share number from another server, or another share.",
      cause: options.cause,
    });
    this.shareNumber = shareNumber;
  }
}

export function isCorruptShareError(value: unknown): value is CorruptShareError {
  return value instanceof CorruptShareError;
}

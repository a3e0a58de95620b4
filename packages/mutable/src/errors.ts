import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/** The codes @lafs/mutable raises for bad input; docs/ERRORS.md says what each one means. */
export type MutableErrorCode =
  | "TAHOE_ERR_MUTABLE_KEY"
  | "TAHOE_ERR_MUTABLE_CAP"
  | "TAHOE_ERR_MUTABLE_PARAMS"
  | "TAHOE_ERR_MUTABLE_UPDATE"
  | "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES";

/** The codes that blame one share: a reader drops that share and uses another. */
export type CorruptMutableShareErrorCode =
  | "TAHOE_ERR_MUTABLE_SHARE_LAYOUT"
  | "TAHOE_ERR_MUTABLE_SHARE_PUBKEY"
  | "TAHOE_ERR_MUTABLE_SHARE_SIGNATURE"
  | "TAHOE_ERR_MUTABLE_SHARE_HASH"
  | "TAHOE_ERR_MUTABLE_BLOCK_HASH"
  | "TAHOE_ERR_MUTABLE_SHARE_PRIVKEY";

/** A malformed key or cap, parameters out of range, an impossible update, too few shares. */
export class MutableError extends TahoeError {
  declare readonly code: MutableErrorCode | CorruptMutableShareErrorCode;

  constructor(
    code: MutableErrorCode | CorruptMutableShareErrorCode,
    message: string,
    options: TahoeErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

/**
 * One mutable share failed a check: its layout, verification key, signature, hash chain, block
 * hash tree, a block or its encrypted private key. `shareNumber` says which share.
 */
export class CorruptMutableShareError extends MutableError {
  declare readonly code: CorruptMutableShareErrorCode;
  readonly shareNumber: number;

  constructor(
    code: CorruptMutableShareErrorCode,
    shareNumber: number,
    message: string,
    options: TahoeErrorOptions = {},
  ) {
    super(code, `mutable share ${shareNumber}: ${message}`, {
      hint:
        options.hint ??
        "The share is damaged, stale or belongs to another file; read this share number from another server, or use other shares.",
      cause: options.cause,
    });
    this.shareNumber = shareNumber;
  }
}

export function isCorruptMutableShareError(value: unknown): value is CorruptMutableShareError {
  return value instanceof CorruptMutableShareError;
}

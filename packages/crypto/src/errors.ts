import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/** The codes @lafs/crypto raises; docs/ERRORS.md says what each one means. */
export type CryptoErrorCode =
  | "TAHOE_ERR_CRYPTO_BASE32"
  | "TAHOE_ERR_CRYPTO_NODE_KEY"
  | "TAHOE_ERR_CRYPTO_TLS_PEM"
  | "TAHOE_ERR_CRYPTO_CERTIFICATE"
  | "TAHOE_ERR_CRYPTO_SECRET_FILE";

/**
 * A malformed key, certificate, secret or base32 string. The message names the input
 * (a file or what the text was meant to be) but never repeats a secret.
 */
export class CryptoError extends TahoeError {
  declare readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string, options: TahoeErrorOptions = {}) {
    super(code, message, options);
  }
}

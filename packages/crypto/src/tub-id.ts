import { createHash } from "node:crypto";
import { base32Encode } from "./base32.js";
import { CryptoError } from "./errors.js";
import { pemBlocks } from "./pem.js";
import { spkiDerOfCertificate } from "./tls.js";

/** A Foolscap tub id: what a Tahoe-LAFS client reads from `anonymous-storage-FURL`. */
export interface TubId {
  /** 32 lower-case base32 characters, as written between `pb://` and `@` in a fURL. */
  tubId: string;
  /** The 20 bytes it encodes: Tahoe's lease and write-enabler seed (wire-formats §2.13). */
  bytes: Buffer;
}

/**
 * Foolscap's tub id of a certificate (PEM text, first certificate, or DER bytes): base32 of
 * SHA-1 over the whole certificate's DER, as Foolscap's `digest32(cert.digest("sha1"))`.
 * Tahoe-LAFS clients derive lease and write-enabler secrets from it even over HTTPS, so the
 * server must announce the same tub id it uses as its write-enabler node id.
 * Throws CryptoError TAHOE_ERR_CRYPTO_CERTIFICATE when the input is not a certificate.
 */
export function tubIdOfCertificate(cert: string | Uint8Array, what = "certificate"): TubId {
  let der: Uint8Array;
  if (typeof cert === "string") {
    const block = pemBlocks(cert).find((b) => b.label === "CERTIFICATE");
    if (block === undefined) {
      throw new CryptoError(
        "TAHOE_ERR_CRYPTO_CERTIFICATE",
        `${what}: no "BEGIN CERTIFICATE" PEM block found`,
      );
    }
    der = block.der;
  } else der = cert;
  // Hashing arbitrary bytes would give a tub id for something that is no certificate.
  spkiDerOfCertificate(der, what);
  const bytes = createHash("sha1").update(der).digest();
  return { tubId: base32Encode(bytes), bytes };
}

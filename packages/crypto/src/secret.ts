import { randomBytes, timingSafeEqual } from "node:crypto";
import { base32Decode, base32Encode } from "./base32.js";
import { CryptoError } from "./errors.js";
import { type BytesLike, toBytes } from "./hash.js";

/** Compares in time that depends only on the lengths; false when the lengths differ. */
export function constantTimeEqual(a: BytesLike, b: BytesLike): boolean {
  const x = toBytes(a);
  const y = toBytes(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `bytes` bytes from the system's CSPRNG. */
export function randomSecret(bytes: number): Buffer {
  if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`bad secret length ${bytes}`);
  return randomBytes(bytes);
}

/**
 * The text of a Tahoe secret file: base32 and a newline. private/secret holds 32 random
 * bytes (the lease secret); private/convergence holds 32 when Tahoe-LAFS made it, 16 when
 * lafs-ts's create-client did, and any length works (the convergent key hashes it whole).
 */
export function formatSecretFile(bytes: Uint8Array): string {
  return `${base32Encode(bytes)}\n`;
}

/**
 * Reads a secret file written by formatSecretFile or by Tahoe: one line of base32,
 * surrounding whitespace ignored. With `byteLength`, the secret must have that length.
 * Throws CryptoError TAHOE_ERR_CRYPTO_SECRET_FILE naming `file`, never the secret.
 */
export function parseSecretFile(text: string, file: string, byteLength?: number): Buffer {
  const trimmed = text.trim();
  const fail = (message: string, cause?: unknown) =>
    new CryptoError("TAHOE_ERR_CRYPTO_SECRET_FILE", `${file}: ${message}`, {
      hint: "The file holds one line of lower-case base32. Restore it from a backup; a new value changes what it protects.",
      cause,
    });
  if (trimmed === "") throw fail("the file is empty");
  if (/\s/.test(trimmed)) throw fail("expected one line of base32, found more than one word");
  let bytes: Uint8Array;
  try {
    bytes = base32Decode(trimmed, "secret");
  } catch (error) {
    throw fail((error as Error).message.replace(/^secret: /, ""), error);
  }
  if (byteLength !== undefined && bytes.length !== byteLength) {
    throw fail(`expected a ${byteLength}-byte secret, found ${bytes.length} bytes`);
  }
  return Buffer.from(bytes);
}

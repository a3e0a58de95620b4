import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  privateDecrypt,
  randomBytes,
  sign,
  verify,
} from "node:crypto";
import { MutableError } from "./errors.js";

/** Tahoe's mutable-file keys: RSA with a 2048-bit modulus and e = 65537. */
export const RSA_KEY_BITS = 2048;
/** RSASSA-PSS salt length Tahoe signs with (crypto/rsa.py RSA_PSS_SALT_LENGTH). */
export const PSS_SALT_LENGTH = 32;
export const SIGNATURE_LENGTH = RSA_KEY_BITS / 8;

/**
 * A mutable file's signing key. The DER forms are the exact bytes Tahoe hashes and stores:
 * the writekey is a hash of `privateKeyDer`, the fingerprint a hash of `publicKeyDer`.
 */
export interface MutableKeyPair {
  /** PKCS#8 PrivateKeyInfo, unencrypted DER (1216-1218 bytes). */
  readonly privateKeyDer: Uint8Array;
  /** SubjectPublicKeyInfo DER (294 bytes). */
  readonly publicKeyDer: Uint8Array;
}

function badKey(what: string, why: string, cause?: unknown): MutableError {
  return new MutableError("TAHOE_ERR_MUTABLE_KEY", `${what}: ${why}`, {
    hint: "A mutable file key is an RSA-2048 private key: PKCS#8 DER (as Tahoe stores it), or PEM.",
    cause,
  });
}

function checkRsa2048(key: KeyObject, what: string): void {
  if (key.asymmetricKeyType !== "rsa") throw badKey(what, `a ${key.asymmetricKeyType} key, not RSA`);
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits !== RSA_KEY_BITS)
    throw badKey(what, `the RSA modulus is ${bits} bits; Tahoe requires ${RSA_KEY_BITS}`);
}

function pairOf(privateKey: KeyObject): MutableKeyPair {
  return {
    privateKeyDer: new Uint8Array(privateKey.export({ type: "pkcs8", format: "der" })),
    publicKeyDer: new Uint8Array(createPublicKey(privateKey).export({ type: "spki", format: "der" })),
  };
}

/** A fresh RSA-2048 key (e = 65537), as Tahoe's KeyGenerator makes. */
export function generateMutableKeyPair(): MutableKeyPair {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: RSA_KEY_BITS, publicExponent: 65537 });
  return pairOf(privateKey);
}

/**
 * Imports a private key from PKCS#8 DER (Tahoe's form, also the web `private-key=` argument
 * after base64) or from PEM (PKCS#1 or PKCS#8), and re-serialises it as OpenSSL does.
 */
export function importMutablePrivateKey(input: Uint8Array | string, what = "private key"): MutableKeyPair {
  let key: KeyObject;
  try {
    key =
      typeof input === "string"
        ? createPrivateKey({ key: input, format: "pem" })
        : createPrivateKey({ key: Buffer.from(input), format: "der", type: "pkcs8" });
  } catch (error) {
    throw badKey(what, "not a readable RSA private key", error);
  }
  checkRsa2048(key, what);
  return pairOf(key);
}

function publicKeyObject(publicKeyDer: Uint8Array, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(publicKeyDer), format: "der", type: "spki" });
  } catch (error) {
    throw badKey(what, "not a SubjectPublicKeyInfo DER RSA public key", error);
  }
  checkRsa2048(key, what);
  return key;
}

/** MGF1 with SHA-256 (RFC 8017 B.2.1). */
function mgf1(seed: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let counter = 0, at = 0; at < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash("sha256").update(seed).update(c).digest();
    block.copy(out, at, 0, Math.min(32, length - at));
    at += 32;
  }
  return out;
}

/** EMSA-PSS-ENCODE (RFC 8017 9.1.1) with SHA-256, MGF1-SHA-256, for a 2048-bit modulus. */
export function emsaPssEncode(message: Uint8Array, salt: Uint8Array): Buffer {
  const emBits = RSA_KEY_BITS - 1;
  const emLen = Math.ceil(emBits / 8);
  const mHash = createHash("sha256").update(message).digest();
  const h = createHash("sha256").update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.alloc(emLen - 32 - 1);
  db[db.length - salt.length - 1] = 0x01;
  db.set(salt, db.length - salt.length);
  const mask = mgf1(h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

export interface SignOptions {
  /**
   * The 32-byte PSS salt, for byte-exact tests. Without it the salt is random, as in Tahoe;
   * signatures verify either way.
   */
  pssSalt?: Uint8Array | undefined;
}

/** RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt) over `message`, as Tahoe signs a share's prefix. */
export function signMutable(
  keyPair: MutableKeyPair,
  message: Uint8Array,
  options: SignOptions = {},
): Uint8Array {
  const key = createPrivateKey({ key: Buffer.from(keyPair.privateKeyDer), format: "der", type: "pkcs8" });
  const salt = options.pssSalt;
  if (salt === undefined) {
    return new Uint8Array(
      sign("sha256", message, {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: PSS_SALT_LENGTH,
      }),
    );
  }
  if (salt.length !== PSS_SALT_LENGTH) {
    throw new MutableError(
      "TAHOE_ERR_MUTABLE_PARAMS",
      `the PSS salt is ${salt.length} bytes, not ${PSS_SALT_LENGTH}`,
      {
        hint: "Tahoe signs with a 32-byte RSASSA-PSS salt.",
      },
    );
  }
  // node:crypto cannot take a salt, so encode EMSA-PSS here and apply the raw private operation.
  const encoded = emsaPssEncode(message, salt);
  return new Uint8Array(privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, encoded));
}

/** True when `signature` is a valid RSASSA-PSS (SHA-256, salt 32) signature of `message`. */
export function verifyMutableSignature(
  publicKeyDer: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const key = publicKeyObject(publicKeyDer, "verification key");
  if (signature.length !== SIGNATURE_LENGTH) return false;
  return verify(
    "sha256",
    message,
    { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LENGTH },
    signature,
  );
}

/** Whether `publicKeyDer` is an RSA-2048 SubjectPublicKeyInfo; throws TAHOE_ERR_MUTABLE_KEY if not. */
export function checkVerificationKey(publicKeyDer: Uint8Array, what = "verification key"): void {
  publicKeyObject(publicKeyDer, what);
}

/** 16 random bytes: a fresh SDMF IV or MDMF segment salt. */
export function randomSalt(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

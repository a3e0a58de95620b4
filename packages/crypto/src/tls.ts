import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from "node:crypto";
import * as der from "./der.js";
import { CryptoError } from "./errors.js";
import { sha256 } from "./hash.js";
import { pemBlocks, toPem } from "./pem.js";

/** A TLS key and its self-signed certificate, and the pin peers use for it. */
export interface TlsIdentity {
  /** The private key, PEM. */
  keyPem: string;
  /** The certificate, PEM. */
  certPem: string;
  /** Unpadded base64url SHA-256 of the certificate's DER SubjectPublicKeyInfo (43 chars). */
  spkiHash: string;
}

export interface TlsIdentityOptions {
  /** Subject and issuer common name; default "lafs-ts". */
  commonName?: string;
  /** Days the certificate is valid from now; default 7305 (20 years). Peers ignore the dates. */
  validDays?: number;
}

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  subjectKeyIdentifier: "2.5.29.14",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
};

const DAY_MS = 86_400_000;
export const DEFAULT_VALID_DAYS = 7305;

function name(commonName: string): Buffer {
  return der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8String(commonName))));
}

function extension(id: string, critical: boolean, value: Uint8Array): Buffer {
  return der.sequence(der.oid(id), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

/** The public-key bits of an SPKI: the BIT STRING content after its unused-bits byte. */
function subjectPublicKeyBits(spki: Uint8Array): Buffer {
  const outer = der.expectElement(spki, 0, der.TAG.SEQUENCE, "SubjectPublicKeyInfo");
  const algorithm = der.expectElement(spki, outer.contentStart, der.TAG.SEQUENCE, "AlgorithmIdentifier");
  const bits = der.expectElement(spki, algorithm.end, der.TAG.BIT_STRING, "subjectPublicKey", outer.end);
  return Buffer.from(spki.subarray(bits.contentStart + 1, bits.end));
}

/**
 * A new ECDSA P-256 key and a self-signed X.509 v3 certificate for it (SHA-256
 * signature, a positive 16-byte serial with 126 random bits, valid from a day ago for `validDays` days, with
 * subject/authority key identifiers and basicConstraints CA:FALSE). It carries no
 * keyUsage, so OpenSSL classes it as self-signed (DEPTH_ZERO_SELF_SIGNED_CERT), one of the
 * statuses Tahoe's pinning callback accepts.
 */
export function createTlsIdentity(options: TlsIdentityOptions = {}): TlsIdentity {
  const commonName = options.commonName ?? "lafs-ts";
  const validDays = options.validDays ?? DEFAULT_VALID_DAYS;
  if (commonName.length < 1 || commonName.length > 64) {
    throw new RangeError("commonName must be 1 to 64 characters");
  }
  if (!Number.isInteger(validDays) || validDays < 1) {
    throw new RangeError(`validDays must be a positive integer, got ${validDays}`);
  }

  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const spki = publicKey.export({ format: "der", type: "spki" });
  const keyId = createHash("sha1").update(subjectPublicKeyBits(spki)).digest();

  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive, and 16 bytes long once encoded
  const now = Math.floor(Date.now() / 1000) * 1000;
  const notBefore = new Date(now - DAY_MS);
  const notAfter = new Date(now + validDays * DAY_MS);
  const signatureAlgorithm = der.sequence(der.oid(OID.ecdsaWithSha256));

  const tbs = der.sequence(
    der.explicit(0, der.integer(2)), // v3
    der.integer(serial),
    signatureAlgorithm,
    name(commonName),
    der.sequence(der.x509Time(notBefore), der.x509Time(notAfter)),
    name(commonName),
    spki,
    der.explicit(
      3,
      der.sequence(
        extension(OID.subjectKeyIdentifier, false, der.octetString(keyId)),
        // AuthorityKeyIdentifier { keyIdentifier [0] IMPLICIT OCTET STRING }
        extension(OID.authorityKeyIdentifier, false, der.sequence(der.tlv(0x80, keyId))),
        // BasicConstraints { cA DEFAULT FALSE } encodes as an empty SEQUENCE.
        extension(OID.basicConstraints, true, der.sequence()),
      ),
    ),
  );
  const signature = sign("sha256", tbs, privateKey);
  const certificate = der.sequence(tbs, signatureAlgorithm, der.bitString(signature));

  return {
    keyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    certPem: toPem("CERTIFICATE", certificate),
    spkiHash: spkiHashOfDer(spki),
  };
}

function certificateDer(cert: string | Uint8Array, what: string): Uint8Array {
  if (typeof cert !== "string") return cert;
  const block = pemBlocks(cert).find((b) => b.label === "CERTIFICATE");
  if (block === undefined) {
    throw new CryptoError("TAHOE_ERR_CRYPTO_CERTIFICATE", `${what}: no "BEGIN CERTIFICATE" PEM block found`);
  }
  return block.der;
}

/**
 * The DER SubjectPublicKeyInfo of a certificate (PEM text or DER bytes), exactly as
 * it appears inside the TBSCertificate: found by walking the DER, never re-encoded.
 * For PEM text with several certificates, the first is used.
 * Throws CryptoError TAHOE_ERR_CRYPTO_CERTIFICATE when the input is not a certificate.
 */
export function spkiDerOfCertificate(cert: string | Uint8Array, what = "certificate"): Buffer {
  const input = certificateDer(cert, what);
  try {
    const certificate = der.expectElement(input, 0, der.TAG.SEQUENCE, "Certificate");
    if (certificate.end !== input.length) throw new der.DerError("bytes after the certificate");
    const tbs = der.expectElement(input, certificate.contentStart, der.TAG.SEQUENCE, "TBSCertificate");
    let at = tbs.contentStart;
    const next = (tag: number, field: string) => {
      const element = der.expectElement(input, at, tag, field, tbs.end);
      at = element.end;
      return element;
    };
    if (der.readElement(input, at, tbs.end).tag === 0xa0) next(0xa0, "version"); // absent in v1
    next(der.TAG.INTEGER, "serialNumber");
    next(der.TAG.SEQUENCE, "signature");
    next(der.TAG.SEQUENCE, "issuer");
    next(der.TAG.SEQUENCE, "validity");
    next(der.TAG.SEQUENCE, "subject");
    const spki = next(der.TAG.SEQUENCE, "subjectPublicKeyInfo");
    const algorithm = der.expectElement(input, spki.contentStart, der.TAG.SEQUENCE, "algorithm", spki.end);
    const key = der.expectElement(input, algorithm.end, der.TAG.BIT_STRING, "subjectPublicKey", spki.end);
    if (key.end !== spki.end) throw new der.DerError("bytes after subjectPublicKey");
    return Buffer.from(input.subarray(spki.start, spki.end));
  } catch (error) {
    if (!(error instanceof der.DerError)) throw error;
    throw new CryptoError(
      "TAHOE_ERR_CRYPTO_CERTIFICATE",
      `${what}: not a DER X.509 certificate (${error.message})`,
      { cause: error },
    );
  }
}

function spkiHashOfDer(spki: Uint8Array): string {
  return sha256(spki).toString("base64url");
}

/** The NURL pin of a certificate: unpadded base64url SHA-256 of its DER SPKI, 43 chars. */
export function spkiHashOfCertificate(cert: string | Uint8Array, what = "certificate"): string {
  return spkiHashOfDer(spkiDerOfCertificate(cert, what));
}

const KEY_LABELS = new Set(["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"]);

function pemError(message: string, cause?: unknown): CryptoError {
  return new CryptoError("TAHOE_ERR_CRYPTO_TLS_PEM", message, {
    hint: "The file must hold one unencrypted private key and one self-signed certificate, in PEM.",
    cause,
  });
}

/**
 * Reads a TLS identity file (private/node.pem): one private key block (PKCS#8, PKCS#1
 * RSA or SEC1 EC, unencrypted) and one CERTIFICATE block, in either order; other
 * blocks such as EC PARAMETERS are ignored. Checks that the key belongs to the
 * certificate. Throws CryptoError TAHOE_ERR_CRYPTO_TLS_PEM naming `file`.
 */
export function parseTlsIdentityPem(pem: string, file = "TLS identity"): TlsIdentity {
  const blocks = pemBlocks(pem);
  if (blocks.some((b) => b.label === "ENCRYPTED PRIVATE KEY") || /Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
    throw pemError(`${file}: the private key is encrypted; lafs-ts needs it unencrypted`);
  }
  const keys = blocks.filter((b) => KEY_LABELS.has(b.label));
  const certs = blocks.filter((b) => b.label === "CERTIFICATE");
  if (keys.length !== 1) {
    throw pemError(`${file}: expected one PEM private key block, found ${keys.length}`);
  }
  if (certs.length !== 1) {
    throw pemError(
      `${file}: expected one PEM certificate block, found ${certs.length}` +
        (certs.length > 1 ? " (peers pin a single self-signed certificate; a chain fails)" : ""),
    );
  }
  const keyBlock = keys[0]!;
  const certBlock = certs[0]!;
  let key: KeyObject;
  try {
    key = createPrivateKey(keyBlock.text);
  } catch (error) {
    throw pemError(`${file}: the ${keyBlock.label} block is not a valid private key`, error);
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certBlock.der);
  } catch (error) {
    throw pemError(`${file}: the CERTIFICATE block is not a valid X.509 certificate`, error);
  }
  if (!x509.checkPrivateKey(key)) {
    throw pemError(`${file}: the private key does not belong to the certificate`);
  }
  let spkiHash: string;
  try {
    spkiHash = spkiHashOfCertificate(certBlock.der, file);
  } catch (error) {
    throw pemError((error as Error).message, error);
  }
  return { keyPem: keyBlock.text, certPem: certBlock.text, spkiHash };
}

/** The text of a TLS identity file: the key, then the certificate. */
export function formatTlsIdentityPem(identity: Pick<TlsIdentity, "keyPem" | "certPem">): string {
  const withNewline = (s: string) => (s.endsWith("\n") ? s : `${s}\n`);
  return withNewline(identity.keyPem) + withNewline(identity.certPem);
}

import { randomBytes } from "node:crypto";
import { createTlsIdentity, parseTlsIdentityPem, tubIdOfCertificate } from "@lafs/crypto";

/** One Tub: its TLS key and certificate, the tub id they give, and this process's incarnation. */
export interface TubIdentity {
  keyPem: string;
  certPem: string;
  /** base32(SHA1(DER(certificate))): what fURLs name. */
  tubId: string;
  /** 16 hex chars, new for every process start (foolscap's make_incarnation). */
  incarnation: string;
}

function newIncarnation(): string {
  return randomBytes(8).toString("hex");
}

/**
 * A fresh Tub certificate, with the subject foolscap gives its own (CN=newpb_thingy). The key is
 * ECDSA P-256 (crypto's TLS identity); peers only hash the certificate, so any key type works.
 */
export function createTubIdentity(): TubIdentity {
  const tls = createTlsIdentity({ commonName: "newpb_thingy" });
  return {
    keyPem: tls.keyPem,
    certPem: tls.certPem,
    tubId: tubIdOfCertificate(tls.certPem).tubId,
    incarnation: newIncarnation(),
  };
}

/** A Tub from a key and certificate already loaded (apps/node's private/node.pem identity). */
export function tubIdentityOf(keyPem: string, certPem: string): TubIdentity {
  return { keyPem, certPem, tubId: tubIdOfCertificate(certPem).tubId, incarnation: newIncarnation() };
}

/**
 * A Tub from its PEM file (Tahoe's private/node.pem: key then certificate, RSA from foolscap).
 * Throws CryptoError naming `file` when the text is not one key and its certificate.
 */
export function tubIdentityFromPem(pem: string, file = "private/node.pem"): TubIdentity {
  const tls = parseTlsIdentityPem(pem, file);
  return {
    keyPem: tls.keyPem,
    certPem: tls.certPem,
    tubId: tubIdOfCertificate(tls.certPem, file).tubId,
    incarnation: newIncarnation(),
  };
}

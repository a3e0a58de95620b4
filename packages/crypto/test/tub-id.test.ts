import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { base32Decode, createTlsIdentity, isBase32, tubIdOfCertificate } from "../src/index.js";
import { errorOf } from "./helpers.js";

const vectors: { certificate: string }[] = JSON.parse(
  readFileSync(join(import.meta.dirname, "../../../../shared/vectors/spki-hash.json"), "utf8"),
).vector;

/** OpenSSL's own SHA-1 fingerprint ("AB:CD:..."), an independent route to the same digest. */
function opensslSha1(pem: string): Buffer {
  return Buffer.from(new X509Certificate(pem).fingerprint.replaceAll(":", ""), "hex");
}

describe("tubIdOfCertificate", () => {
  it("is base32 of the SHA-1 of the certificate DER, as OpenSSL computes the fingerprint", () => {
    for (const { certificate } of vectors) {
      const { tubId, bytes } = tubIdOfCertificate(certificate);
      expect(bytes).toEqual(opensslSha1(certificate));
      expect(tubId).toHaveLength(32);
      expect(isBase32(tubId, 20)).toBe(true);
      expect(Buffer.from(base32Decode(tubId))).toEqual(bytes);
    }
  });

  it("gives the same id for PEM text and its DER bytes, and differs between certificates", () => {
    const a = createTlsIdentity();
    const b = createTlsIdentity();
    const der = new X509Certificate(a.certPem).raw;
    expect(tubIdOfCertificate(der)).toEqual(tubIdOfCertificate(a.certPem));
    expect(tubIdOfCertificate(a.certPem).tubId).not.toBe(tubIdOfCertificate(b.certPem).tubId);
  });

  it("uses the certificate block of a key+certificate file", () => {
    const identity = createTlsIdentity();
    const file = identity.keyPem + identity.certPem;
    expect(tubIdOfCertificate(file)).toEqual(tubIdOfCertificate(identity.certPem));
  });

  it("refuses text without a certificate and bytes that are not one, naming the input", () => {
    const noBlock = errorOf(() => tubIdOfCertificate(createTlsIdentity().keyPem, "private/node.pem"));
    expect(noBlock).toMatchObject({ code: "TAHOE_ERR_CRYPTO_CERTIFICATE" });
    expect(noBlock.message).toContain("private/node.pem");
    const garbage = errorOf(() => tubIdOfCertificate(Buffer.from("not a certificate"), "peer cert"));
    expect(garbage).toMatchObject({ code: "TAHOE_ERR_CRYPTO_CERTIFICATE" });
    expect(garbage.message).toContain("peer cert");
  });
});

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  X509Certificate,
} from "node:crypto";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { describe, expect, it } from "vitest";
import {
  createTlsIdentity,
  formatTlsIdentityPem,
  parseTlsIdentityPem,
  spkiDerOfCertificate,
  spkiHashOfCertificate,
  type TlsIdentity,
} from "../src/index.js";
import { errorOf } from "./helpers.js";

const DAY = 86_400_000;

interface SpkiVector {
  certificate: string;
  "expected-spki": string;
  "expected-hash": string;
}

// Shared vectors from Tahoe-LAFS (src/allmydata/test/data/spki-hash-test-vectors.yaml),
// read in place at ../shared/vectors relative to the project root.
const vectors: SpkiVector[] = JSON.parse(
  readFileSync(join(import.meta.dirname, "../../../../shared/vectors/spki-hash.json"), "utf8"),
).vector;

function spkiOfKey(key: KeyObject): Buffer {
  return (key.type === "public" ? key : createPublicKey(key)).export({ format: "der", type: "spki" });
}

describe("SPKI hash vectors (spki-hash.json)", () => {
  it("has the three cases: RSA-2048, RSA-4096, Ed25519", () => {
    expect(vectors.map((v) => Buffer.from(v["expected-spki"], "base64").length)).toEqual([294, 550, 44]);
  });

  it.each(vectors.map((v, i) => ({ ...v, i })))("vector $i: SPKI and hash from PEM and from DER", (v) => {
    const spki = spkiDerOfCertificate(v.certificate);
    expect(spki.toString("base64")).toBe(v["expected-spki"]);
    expect(spkiHashOfCertificate(v.certificate)).toBe(v["expected-hash"]);
    const raw = new X509Certificate(v.certificate).raw;
    expect(spkiDerOfCertificate(raw)).toEqual(spki);
    expect(spkiHashOfCertificate(new Uint8Array(raw))).toBe(v["expected-hash"]);
    // Cross-check: what OpenSSL re-encodes from the key is the same for these.
    expect(spkiOfKey(new X509Certificate(v.certificate).publicKey)).toEqual(spki);
  });
});

describe("spkiDerOfCertificate on bad input", () => {
  const good = new X509Certificate(vectors[2]!.certificate).raw;

  it("explains what is wrong, naming the input", () => {
    const cases: [string | Uint8Array, RegExp][] = [
      ["hello", /^peer certificate: no "BEGIN CERTIFICATE" PEM block found$/],
      [new Uint8Array(0), /^peer certificate: not a DER X\.509 certificate \(truncated element at byte 0\)$/],
      [good.subarray(0, good.length - 1), /runs past its container/],
      [Buffer.concat([good, Buffer.from([0])]), /bytes after the certificate/],
      [Buffer.from("3003020101", "hex"), /expected TBSCertificate \(tag 0x30\) at byte 2, found tag 0x2/],
      [Buffer.from("30053003010100", "hex"), /expected serialNumber \(tag 0x2\) at byte 4, found tag 0x1/],
      [Buffer.from("3080", "hex"), /indefinite length/],
      ["-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n", /expected TBSCertificate/],
    ];
    for (const [input, message] of cases) {
      const err = errorOf(() => spkiDerOfCertificate(input, "peer certificate"));
      expect(err.code).toBe("TAHOE_ERR_CRYPTO_CERTIFICATE");
      expect(err.message).toMatch(message);
    }
    expect(errorOf(() => spkiHashOfCertificate("")).message).toMatch(/^certificate: /);
  });
});

describe("createTlsIdentity", () => {
  it("makes a self-signed X.509 v3 ECDSA P-256 certificate that Node parses and verifies", () => {
    const before = Date.now();
    const id = createTlsIdentity();
    const x509 = new X509Certificate(id.certPem);
    const key = createPrivateKey(id.keyPem);
    expect(key.asymmetricKeyType).toBe("ec");
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(spkiOfKey(x509.publicKey)).toEqual(spkiOfKey(key));
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.checkPrivateKey(key)).toBe(true);
    expect(x509.checkIssued(x509)).toBe(true);
    expect(x509.subject).toBe("CN=lafs-ts");
    expect(x509.issuer).toBe("CN=lafs-ts");
    expect(x509.ca).toBe(false);
    expect(x509.keyUsage).toBeUndefined();
    expect(x509.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
    const from = Date.parse(x509.validFrom);
    const to = Date.parse(x509.validTo);
    expect(Math.abs(from - (before - DAY))).toBeLessThan(10_000);
    expect(Math.abs(to - (before + 7305 * DAY))).toBeLessThan(10_000);
    expect(x509.toString()).toBe(id.certPem);
  });

  it("pins the certificate's SPKI", () => {
    const id = createTlsIdentity();
    expect(id.spkiHash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(spkiHashOfCertificate(id.certPem)).toBe(id.spkiHash);
    const spki = spkiOfKey(createPrivateKey(id.keyPem));
    expect(createHash("sha256").update(spki).digest("base64url")).toBe(id.spkiHash);
  });

  it("takes a common name and validity; far dates use GeneralizedTime", () => {
    const id = createTlsIdentity({ commonName: "storage-1 é", validDays: 36525 });
    const x509 = new X509Certificate(id.certPem);
    expect(x509.subject).toBe("CN=storage-1 é");
    expect(new Date(x509.validTo).getUTCFullYear()).toBeGreaterThanOrEqual(2125);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(new X509Certificate(createTlsIdentity({ validDays: 1 }).certPem).validTo).toBeTruthy();
  });

  it("gives a new key and serial each time", () => {
    const a = new X509Certificate(createTlsIdentity().certPem);
    const b = new X509Certificate(createTlsIdentity().certPem);
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(spkiHashOfCertificate(a.raw)).not.toBe(spkiHashOfCertificate(b.raw));
  });

  it("rejects bad options", () => {
    expect(() => createTlsIdentity({ commonName: "" })).toThrow(RangeError);
    expect(() => createTlsIdentity({ commonName: "x".repeat(65) })).toThrow(RangeError);
    expect(() => createTlsIdentity({ validDays: 0 })).toThrow(RangeError);
    expect(() => createTlsIdentity({ validDays: 1.5 })).toThrow(RangeError);
    expect(() => createTlsIdentity({ validDays: 10_000_000 })).toThrow(RangeError);
  });
});

interface Handshake {
  spkiHash: string;
  authorizationError: string | undefined;
  authorized: boolean;
  protocol: string | null;
  serverSawSni: string | false | null | undefined;
  data: string;
}

/** A real TLS server on 127.0.0.1 port 0 serving `id`, and one client connection to it. */
async function handshake(id: TlsIdentity, client: tls.ConnectionOptions): Promise<Handshake> {
  let serverSawSni: string | false | null | undefined;
  const server = tls.createServer({ key: id.keyPem, cert: id.certPem }, (socket) => {
    serverSawSni = socket.servername;
    socket.end("hello");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<Handshake>((resolve, reject) => {
      const socket = tls.connect({ host: "127.0.0.1", port, ...client });
      let data = "";
      socket.on("error", reject);
      socket.on("data", (chunk) => {
        data += chunk;
      });
      socket.on("end", () => {
        const peer = socket.getPeerCertificate();
        resolve({
          spkiHash: spkiHashOfCertificate(peer.raw),
          authorizationError: socket.authorizationError?.toString(),
          authorized: socket.authorized,
          protocol: socket.getProtocol(),
          serverSawSni,
          data,
        });
        socket.destroy();
      });
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe("a real TLS connection", () => {
  const id = createTlsIdentity();

  it.each(["TLSv1.2", "TLSv1.3"] as const)(
    "serves the identity over %s; the client's peer certificate has its pin",
    async (version) => {
      const result = await handshake(id, {
        rejectUnauthorized: false,
        minVersion: version,
        maxVersion: version,
      });
      expect(result.protocol).toBe(version);
      expect(result.data).toBe("hello");
      expect(result.spkiHash).toBe(id.spkiHash);
      // OpenSSL's status for it is one Tahoe's pinning callback accepts.
      expect(result.authorizationError).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
      expect(result.serverSawSni).toBe(false); // no SNI for an IP address, as Tahoe clients
    },
  );

  it("verifies fully when the client trusts the certificate itself", async () => {
    const result = await handshake(id, { ca: id.certPem, checkServerIdentity: () => undefined });
    expect(result.authorized).toBe(true);
    expect(result.spkiHash).toBe(id.spkiHash);
  });

  it("serves an identity read back from its PEM file", async () => {
    const reread = parseTlsIdentityPem(formatTlsIdentityPem(id), "private/node.pem");
    const result = await handshake(reread, { rejectUnauthorized: false });
    expect(result.spkiHash).toBe(id.spkiHash);
  });
});

describe("TLS identity PEM files", () => {
  const id = createTlsIdentity();

  it("writes key then certificate, and reads it back", () => {
    const text = formatTlsIdentityPem(id);
    expect(text).toBe(id.keyPem + id.certPem);
    expect(text.indexOf("BEGIN PRIVATE KEY")).toBeLessThan(text.indexOf("BEGIN CERTIFICATE"));
    expect(parseTlsIdentityPem(text)).toEqual(id);
    expect(formatTlsIdentityPem({ keyPem: id.keyPem.trim(), certPem: id.certPem.trim() })).toBe(text);
  });

  it("accepts either order, CRLF line ends, other text and SEC1 or PKCS#1 keys", () => {
    expect(parseTlsIdentityPem(id.certPem + id.keyPem)).toEqual(id);
    expect(parseTlsIdentityPem(formatTlsIdentityPem(id).replace(/\n/g, "\r\n"))).toEqual(id);
    expect(parseTlsIdentityPem(`comment\n${id.keyPem}\nmore\n${id.certPem}trailer`)).toEqual(id);
    const sec1 = createPrivateKey(id.keyPem).export({ format: "pem", type: "sec1" }).toString();
    const fromSec1 = parseTlsIdentityPem(
      `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${sec1}${id.certPem}`,
    );
    expect(fromSec1.spkiHash).toBe(id.spkiHash);
    expect(fromSec1.keyPem).toBe(sec1);
  });

  it("reads Tahoe's kind of node.pem: an RSA key and its certificate", () => {
    // No RSA vector ships with its key, so check the walk on an RSA key's own parts.
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pkcs1 = privateKey.export({ format: "pem", type: "pkcs1" }).toString();
    const err = errorOf(() => parseTlsIdentityPem(pkcs1 + vectors[0]!.certificate, "node.pem"));
    expect(err.message).toBe("node.pem: the private key does not belong to the certificate");
  });

  it("explains what is wrong, naming the file", () => {
    const other = createTlsIdentity();
    const encrypted = createPrivateKey(id.keyPem)
      .export({ format: "pem", type: "pkcs8", cipher: "aes-256-cbc", passphrase: "pw" })
      .toString();
    const cases: [string, string][] = [
      ["", "node.pem: expected one PEM private key block, found 0"],
      [id.certPem, "node.pem: expected one PEM private key block, found 0"],
      [id.keyPem, "node.pem: expected one PEM certificate block, found 0"],
      [id.keyPem + other.keyPem + id.certPem, "node.pem: expected one PEM private key block, found 2"],
      [
        id.keyPem + id.certPem + other.certPem,
        "node.pem: expected one PEM certificate block, found 2 (peers pin a single self-signed certificate; a chain fails)",
      ],
      [encrypted + id.certPem, "node.pem: the private key is encrypted; lafs-ts needs it unencrypted"],
      [
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n" +
          id.certPem,
        "node.pem: the private key is encrypted; lafs-ts needs it unencrypted",
      ],
      [other.keyPem + id.certPem, "node.pem: the private key does not belong to the certificate"],
      [
        `-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n${id.certPem}`,
        "node.pem: the PRIVATE KEY block is not a valid private key",
      ],
      [
        `${id.keyPem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`,
        "node.pem: the CERTIFICATE block is not a valid X.509 certificate",
      ],
    ];
    for (const [text, message] of cases) {
      const err = errorOf(() => parseTlsIdentityPem(text, "node.pem"));
      expect(err.code).toBe("TAHOE_ERR_CRYPTO_TLS_PEM");
      expect(err.message).toBe(message);
      expect(err.hint).toMatch(/one unencrypted private key and one self-signed certificate/);
    }
    expect(errorOf(() => parseTlsIdentityPem("")).message).toMatch(/^TLS identity: /);
  });
});

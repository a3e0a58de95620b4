import { constants, createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  decryptPrivateKey,
  deriveMutableSecrets,
  emsaPssEncode,
  encryptPrivateKey,
  generateMutableKeyPair,
  importMutablePrivateKey,
  MutableError,
  parseMutableCap,
  parseMutableHeader,
  privateKeyFromShare,
  signMutable,
  verifyMutableSignature,
  writeEnablerFor,
} from "../src/index.js";
import { b64, loadMutableCases } from "./vectors.js";

const cases = loadMutableCases();

function nodeVerifies(publicKeyDer: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(publicKeyDer), format: "der", type: "spki" });
  return verify(
    "sha256",
    message,
    { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
    signature,
  );
}

describe("RSA keys", () => {
  it("generates RSA-2048 keys whose DER forms Tahoe accepts, and re-imports them byte for byte", () => {
    const pair = generateMutableKeyPair();
    expect(pair.publicKeyDer).toHaveLength(294);
    // DER integers are minimal: a CRT value whose top bytes happen to be small is a byte or two
    // shorter, so the length varies from key to key around 1217 (1215 was seen in CI).
    expect(pair.privateKeyDer.length).toBeGreaterThanOrEqual(1210);
    expect(pair.privateKeyDer.length).toBeLessThanOrEqual(1220);
    const again = importMutablePrivateKey(pair.privateKeyDer);
    expect(Buffer.from(again.privateKeyDer).equals(Buffer.from(pair.privateKeyDer))).toBe(true);
    expect(Buffer.from(again.publicKeyDer).equals(Buffer.from(pair.publicKeyDer))).toBe(true);
  });

  it("refuses keys that are not RSA-2048, and bytes that are no key", () => {
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({
      type: "pkcs8",
      format: "der",
    });
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
      type: "pkcs8",
      format: "der",
    });
    const tries: [Uint8Array | string, string][] = [
      [small, "1024 bits; Tahoe requires 2048"],
      [ec, "a ec key, not RSA"],
      [Buffer.from("not a key"), "not a readable RSA private key"],
      [
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        "not a readable RSA private key",
      ],
    ];
    for (const [input, why] of tries) {
      let caught: unknown;
      try {
        importMutablePrivateKey(input, "--private-key-path key.pem");
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(MutableError);
      expect((caught as MutableError).code).toBe("TAHOE_ERR_MUTABLE_KEY");
      expect((caught as MutableError).message).toContain("--private-key-path key.pem");
      expect((caught as MutableError).message).toContain(why);
    }
  });
});

describe("RSASSA-PSS", () => {
  for (const c of cases) {
    it(`${c.name}: an injected PSS salt reproduces each step's signature, and node:crypto verifies it`, () => {
      const pair = importMutablePrivateKey(c.key_pem);
      for (const step of c.steps) {
        const share = b64(Object.values(step.shares_b64)[0]!);
        const header = parseMutableHeader(share, 0);
        const stored = share.subarray(header.offsets.signature, header.offsets.signature + 256);
        const prefix = b64(step.signed_prefix_b64);
        const signature = signMutable(pair, prefix, { pssSalt: b64(step.pss_salts_b64[0]!) });
        expect(Buffer.from(signature).equals(stored)).toBe(true);
        expect(nodeVerifies(pair.publicKeyDer, prefix, signature)).toBe(true);
        expect(verifyMutableSignature(pair.publicKeyDer, prefix, signature)).toBe(true);
      }
    });
  }

  it("signs with a random salt by default; any valid salt verifies, a changed byte does not", () => {
    const pair = importMutablePrivateKey(cases[0]!.key_pem);
    const message = Buffer.from("signed prefix");
    const a = signMutable(pair, message);
    const b = signMutable(pair, message);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(verifyMutableSignature(pair.publicKeyDer, message, a)).toBe(true);
    expect(verifyMutableSignature(pair.publicKeyDer, message, b)).toBe(true);
    const bent = Buffer.from(a);
    bent[100]! ^= 1;
    expect(verifyMutableSignature(pair.publicKeyDer, message, bent)).toBe(false);
    expect(verifyMutableSignature(pair.publicKeyDer, Buffer.from("signed prefiX"), a)).toBe(false);
    expect(verifyMutableSignature(pair.publicKeyDer, message, a.subarray(0, 255))).toBe(false);
  });

  it("encodes EMSA-PSS as RFC 8017 says: 256 bytes, top bit clear, ending in 0xbc", () => {
    const em = emsaPssEncode(Buffer.from("x"), Buffer.alloc(32, 7));
    expect(em).toHaveLength(256);
    expect(em[0]! & 0x80).toBe(0);
    expect(em[255]).toBe(0xbc);
  });

  it("refuses an injected salt that is not 32 bytes", () => {
    const pair = importMutablePrivateKey(cases[0]!.key_pem);
    expect(() => signMutable(pair, Buffer.from("x"), { pssSalt: Buffer.alloc(20) })).toThrow(
      /PSS salt is 20 bytes/,
    );
  });
});

describe("derived secrets", () => {
  it("decrypts encprivkey only with the right writekey", () => {
    const c = cases[1]!;
    const pair = importMutablePrivateKey(c.key_pem);
    const secrets = deriveMutableSecrets(pair);
    const der = decryptPrivateKey(secrets.writekey, secrets.encprivkey);
    expect(Buffer.from(der!).equals(Buffer.from(pair.privateKeyDer))).toBe(true);
    const other = deriveMutableSecrets(importMutablePrivateKey(cases[2]!.key_pem));
    expect(decryptPrivateKey(other.writekey, secrets.encprivkey)).toBeUndefined();
    const bent = Buffer.from(secrets.encprivkey);
    bent[500]! ^= 1;
    expect(decryptPrivateKey(secrets.writekey, bent)).toBeUndefined();
    expect(
      Buffer.from(encryptPrivateKey(secrets.writekey, der!)).equals(Buffer.from(secrets.encprivkey)),
    ).toBe(true);
  });

  it("recovers the signing key from a share for a holder of the write cap only", () => {
    const c = cases.find((x) => x.name === "mdmf-3of10-1000B")!;
    const share = b64(c.steps[0]!.shares_b64["4"]!);
    const cap = parseMutableCap(c.caps.write);
    if (cap.kind !== "write") throw new Error("not a write cap");
    const encprivkey = share.subarray(123, parseMutableHeader(share, 4).offsets.shareHashChain);
    const pair = privateKeyFromShare(encprivkey, cap.writekey, 4);
    expect(Buffer.from(pair.privateKeyDer).toString("base64")).toBe(c.privkey_pkcs8_der_b64);
    expect(Buffer.from(pair.publicKeyDer).toString("base64")).toBe(c.pubkey_spki_der_b64);
    const bent = Buffer.from(encprivkey);
    bent[7]! ^= 1;
    expect(() => privateKeyFromShare(bent, cap.writekey, 4)).toThrow(
      /mutable share 4: its encrypted private key/,
    );
    try {
      privateKeyFromShare(bent, cap.writekey, 4);
    } catch (error) {
      expect((error as MutableError).code).toBe("TAHOE_ERR_MUTABLE_SHARE_PRIVKEY");
    }
  });

  it("refuses a server id that is not a 20-byte tub id", () => {
    expect(() => writeEnablerFor(new Uint8Array(32), new Uint8Array(32))).toThrow(
      /tub id is 32 bytes, not 20/,
    );
  });
});

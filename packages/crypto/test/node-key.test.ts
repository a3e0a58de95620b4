import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  base32Decode,
  base32Encode,
  CryptoError,
  generateNodeKey,
  nodeIdFromPublicKey,
  parseNodePrivateKey,
  parseNodePublicKey,
  signWithNodeKey,
  verifyNodeSignature,
} from "../src/index.js";
import { errorOf } from "./helpers.js";

// RFC 8032 §7.1, TEST 1 and TEST 2.
const RFC8032 = [
  {
    seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    pub: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature:
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    pub: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature:
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
];

const privText = (seedHex: string) => `priv-v0-${base32Encode(Buffer.from(seedHex, "hex"))}`;

describe("node keys", () => {
  it("generates keys in Tahoe's text forms", () => {
    const key = generateNodeKey();
    expect(key.privateKey).toMatch(/^priv-v0-[a-z2-7]{51}[aq]$/);
    expect(key.publicKey).toMatch(/^pub-v0-[a-z2-7]{51}[aq]$/);
    expect(key.nodeId).toBe(`v0-${key.publicKey.slice("pub-v0-".length)}`);
    expect(generateNodeKey().privateKey).not.toBe(key.privateKey);
  });

  it.each(RFC8032)("derives the RFC 8032 public key and signature for seed $seed", (v) => {
    const key = parseNodePrivateKey(privText(v.seed));
    expect(Buffer.from(base32Decode(key.publicKey.slice(7))).toString("hex")).toBe(v.pub);
    expect(key.nodeId).toBe(`v0-${base32Encode(Buffer.from(v.pub, "hex"))}`);
    const signature = signWithNodeKey(key.privateKey, Buffer.from(v.message, "hex"));
    expect(signature.toString("hex")).toBe(v.signature);
    expect(verifyNodeSignature(key.publicKey, Buffer.from(v.message, "hex"), signature)).toBe(true);
    expect(verifyNodeSignature(key.nodeId, Buffer.from(v.message, "hex"), signature)).toBe(true);
  });

  it("parses what it generates, with the file's trailing newline", () => {
    const key = generateNodeKey();
    expect(parseNodePrivateKey(`${key.privateKey}\n`)).toEqual(key);
    expect(parseNodePrivateKey(`  ${key.privateKey} \r\n`)).toEqual(key);
    const pub = parseNodePublicKey(`${key.publicKey}\n`);
    expect(pub.publicKey).toBe(key.publicKey);
    expect(pub.nodeId).toBe(key.nodeId);
    expect(pub.raw).toHaveLength(32);
    expect(base32Encode(pub.raw)).toBe(key.nodeId.slice(3));
    expect(nodeIdFromPublicKey(key.publicKey)).toBe(key.nodeId);
  });

  it("explains a bad private key, naming the file and never the key", () => {
    const key = generateNodeKey();
    const body = key.privateKey.slice(8);
    const cases: [string, RegExp][] = [
      ["", /found empty$/],
      [key.publicKey, /found a public key$/],
      [key.nodeId, /found a node id$/],
      [`priv-v1-${body}`, /found other text$/],
      [body, /found other text$/],
      [`priv-v0-${body.slice(0, -1)}`, /found a malformed key$/],
      [`priv-v0-${body}a`, /found a malformed key$/],
      [`priv-v0-${body.toUpperCase()}`, /found a malformed key$/],
      [`priv-v0-${body.slice(0, -1)}b`, /found a malformed key$/], // unused bits set
    ];
    for (const [text, found] of cases) {
      const err = errorOf(() => parseNodePrivateKey(text, "/n/private/node.privkey"));
      expect(err.code).toBe("TAHOE_ERR_CRYPTO_NODE_KEY");
      expect(err.message).toMatch(/^\/n\/private\/node\.privkey: expected an Ed25519 private key "priv-v0-"/);
      expect(err.message).toMatch(found);
      expect(err.message).not.toContain(body.slice(0, 20));
      expect(err.hint).toMatch(/backup/);
    }
    expect(errorOf(() => parseNodePrivateKey("x")).message).toMatch(/^node private key: /);
  });

  it("explains a bad public key", () => {
    const key = generateNodeKey();
    const err = errorOf(() => parseNodePublicKey(key.privateKey, "/n/node.pubkey"));
    expect(err.code).toBe("TAHOE_ERR_CRYPTO_NODE_KEY");
    expect(err.message).toMatch(/^\/n\/node\.pubkey: expected an Ed25519 public key .* found a private key$/);
    expect(err.message).not.toContain(key.privateKey.slice(8));
    expect(() => parseNodePublicKey(key.nodeId)).toThrow(/found a node id/);
    expect(() => nodeIdFromPublicKey("pub-v0-abc")).toThrow(CryptoError);
    expect(() => signWithNodeKey(key.publicKey, Buffer.alloc(1))).toThrow(/found a public key/);
  });

  it("verifies only the right message, signature and key, and returns false otherwise", () => {
    const key = generateNodeKey();
    const other = generateNodeKey();
    const message = Buffer.from("announcement");
    const signature = signWithNodeKey(key.privateKey, message);
    expect(signature).toHaveLength(64);
    expect(verifyNodeSignature(key.nodeId, message, signature)).toBe(true);
    expect(verifyNodeSignature(` ${key.publicKey}\n`, message, signature)).toBe(true);
    expect(verifyNodeSignature(key.nodeId, Buffer.from("announcemenT"), signature)).toBe(false);
    expect(verifyNodeSignature(other.nodeId, message, signature)).toBe(false);
    const flipped = Buffer.from(signature);
    flipped[10]! ^= 1;
    expect(verifyNodeSignature(key.nodeId, message, flipped)).toBe(false);
    expect(verifyNodeSignature(key.nodeId, message, signature.subarray(0, 63))).toBe(false);
    expect(verifyNodeSignature(key.nodeId, message, Buffer.alloc(0))).toBe(false);
    expect(verifyNodeSignature(key.privateKey, message, signature)).toBe(false);
    expect(verifyNodeSignature("v0-", message, signature)).toBe(false);
    expect(verifyNodeSignature("", message, signature)).toBe(false);
    // A 32-byte value that is not a curve point.
    const notAPoint = `v0-${base32Encode(Buffer.alloc(32, 0xff))}`;
    expect(verifyNodeSignature(notAPoint, message, signature)).toBe(false);
  });

  it("never throws from verifyNodeSignature, whatever it is given", () => {
    const key = generateNodeKey();
    const keyText = fc.oneof(
      fc.string(),
      fc.constant(key.nodeId),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `v0-${base32Encode(b)}`),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `pub-v0-${base32Encode(b)}`),
    );
    fc.assert(
      fc.property(keyText, fc.uint8Array(), fc.uint8Array({ maxLength: 70 }), (k, message, signature) => {
        expect(typeof verifyNodeSignature(k, message, signature)).toBe("boolean");
      }),
      { numRuns: 300 },
    );
  });
});

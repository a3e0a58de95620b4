import { base32Decode, base32Encode } from "@lafs/crypto";
import { describe, expect, it } from "vitest";
import { deriveLeaseSecrets, isUploadError } from "../src/index.js";

// docs/specifications/derive_renewal_secret.py in Tahoe-LAFS (wire-formats §2.13).
const VECTORS = [
  {
    leaseSecret: "boity2cdh7jvl3ltaeebuiobbspjmbuopnwbde2yeh4k6x7jioga",
    storageIndex: "vrttmwlicrzbt7gh5qsooogr7u",
    tubId: "v67jiisoty6ooyxlql5fuucitqiok2ic",
    renew: "osd6wmc5vz4g3ukg64sitmzlfiaaordutrez7oxdp5kkze7zp5zq",
  },
  {
    leaseSecret: "boity2cdh7jvl3ltaeebuiobbspjmbuopnwbde2yeh4k6x7jioga",
    storageIndex: "75gmmfts772ww4beiewc234o5e",
    tubId: "v67jiisoty6ooyxlql5fuucitqiok2ic",
    renew: "35itmusj7qm2pfimh62snbyxp3imreofhx4djr7i2fweta75szda",
  },
  {
    leaseSecret: "boity2cdh7jvl3ltaeebuiobbspjmbuopnwbde2yeh4k6x7jioga",
    storageIndex: "75gmmfts772ww4beiewc234o5e",
    tubId: "lh5fhobkjrmkqjmkxhy3yaonoociggpz",
    renew: "srrlruge47ws3lm53vgdxprgqb6bz7cdblnuovdgtfkqrygrjm4q",
  },
  {
    leaseSecret: "vacviff4xfqxsbp64tdr3frg3xnkcsuwt5jpyat2qxcm44bwu75a",
    storageIndex: "75gmmfts772ww4beiewc234o5e",
    tubId: "lh5fhobkjrmkqjmkxhy3yaonoociggpz",
    renew: "b4jledjiqjqekbm2erekzqumqzblegxi23i5ojva7g7xmqqnl5pq",
  },
];

describe("deriveLeaseSecrets", () => {
  it.each(VECTORS)("gives Tahoe's renewal secret for SI $storageIndex and tub $tubId", (v) => {
    const secrets = deriveLeaseSecrets(
      base32Decode(v.leaseSecret),
      base32Decode(v.storageIndex),
      base32Decode(v.tubId),
    );
    expect(base32Encode(secrets.renewSecret)).toBe(v.renew);
    expect(secrets.cancelSecret).toHaveLength(32);
    expect(Buffer.from(secrets.cancelSecret).equals(Buffer.from(secrets.renewSecret))).toBe(false);
  });

  it("gives each server its own secrets", () => {
    const v = VECTORS[0]!;
    const a = deriveLeaseSecrets(
      base32Decode(v.leaseSecret),
      base32Decode(v.storageIndex),
      new Uint8Array(20),
    );
    const b = deriveLeaseSecrets(
      base32Decode(v.leaseSecret),
      base32Decode(v.storageIndex),
      new Uint8Array(20).fill(1),
    );
    expect(Buffer.from(a.renewSecret).equals(Buffer.from(b.renewSecret))).toBe(false);
    expect(Buffer.from(a.cancelSecret).equals(Buffer.from(b.cancelSecret))).toBe(false);
  });

  it.each([
    ["lease secret", new Uint8Array(31), new Uint8Array(16), new Uint8Array(20), "lease secret is 31 bytes"],
    [
      "storage index",
      new Uint8Array(32),
      new Uint8Array(15),
      new Uint8Array(20),
      "storage index is 15 bytes",
    ],
    ["lease seed", new Uint8Array(32), new Uint8Array(16), new Uint8Array(32), "lease seed is 32 bytes"],
  ])("refuses a %s of the wrong length", (_what, secret, si, seed, words) => {
    let caught: unknown;
    try {
      deriveLeaseSecrets(secret, si, seed);
    } catch (error) {
      caught = error;
    }
    expect(isUploadError(caught, "TAHOE_ERR_UPLOAD_ARGUMENT")).toBe(true);
    expect((caught as Error).message).toContain(words);
  });
});

import { describe, expect, it } from "vitest";
import {
  base32Decode,
  base32Encode,
  netstring,
  sha256,
  sha256d,
  taggedHash,
  taggedPairHash,
} from "../src/index.js";

describe("netstring", () => {
  it("is length:bytes, with the length in bytes", () => {
    expect(netstring("abc").toString()).toBe("3:abc,");
    expect(netstring("").toString()).toBe("0:,");
    expect(netstring(new Uint8Array([0, 255]))).toEqual(Buffer.from([0x32, 0x3a, 0, 255, 0x2c]));
    expect(netstring("é").toString()).toBe("2:é,");
    expect(netstring("x".repeat(1000)).subarray(0, 5).toString()).toBe("1000:");
  });
});

describe("sha256, sha256d", () => {
  it("hashes bytes and UTF-8 text", () => {
    expect(sha256("").toString("hex")).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(sha256d("").toString("hex")).toBe(
      "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456",
    );
    expect(sha256d(Buffer.from("abc"))).toEqual(sha256(sha256("abc")));
  });
});

describe("tagged hashes", () => {
  it('gives tagged_hash("Merkle tree empty leaf", "0") of the spec (§2.12)', () => {
    expect(taggedHash("Merkle tree empty leaf", "0").toString("hex")).toBe(
      "e0024730188e2de564a697cc2987407b24ae7eb6b880190c1a0337a5740e527a",
    );
  });

  it("is SHA256d over netstrings, truncated when asked", () => {
    expect(taggedHash("t", "v")).toEqual(sha256d("1:t,v"));
    expect(taggedPairHash("t", "a", "bc")).toEqual(sha256d("1:t,1:a,2:bc,"));
    expect(taggedHash("t", "v", 16)).toEqual(sha256d("1:t,v").subarray(0, 16));
    expect(taggedPairHash("t", "a", "b", 5)).toEqual(sha256d("1:t,1:a,1:b,").subarray(0, 5));
    expect(taggedHash("t", "v", 32)).toHaveLength(32);
    for (const bad of [0, 33, 1.5, -1]) {
      expect(() => taggedHash("t", "v", bad)).toThrow(RangeError);
      expect(() => taggedPairHash("t", "a", "b", bad)).toThrow(RangeError);
    }
  });

  it("reproduces shared[0]'s convergent key and storage index (§2.12)", () => {
    const tag = Buffer.concat([
      Buffer.from("allmydata_immutable_content_to_key_with_added_secret_v1+"),
      netstring("aaaaaaaaaaaaaaaa"),
      netstring("1,1,56"),
    ]);
    const key = taggedHash(tag, "a".repeat(56), 16);
    expect(key.toString("hex")).toBe("c66e2700c124ec49fbab9a5e186168db");
    const si = taggedHash("allmydata_immutable_key_to_storage_index_v1", key, 16);
    expect(base32Encode(si)).toBe("i5nhq74zw2crkop634ra4hrvzm");
  });

  // The four vectors of Tahoe-LAFS docs/specifications/derive_renewal_secret.py (§2.13):
  // the lease secret is the TAG of the first hash.
  const leaseVectors = [
    {
      leaseSecret: "boity2cdh7jvl3ltaeebuiobbspjmbuopnwbde2yeh4k6x7jioga",
      storageIndex: "vrttmwlicrzbt7gh5qsooogr7u",
      tubId: "v67jiisoty6ooyxlql5fuucitqiok2ic",
      expected: "osd6wmc5vz4g3ukg64sitmzlfiaaordutrez7oxdp5kkze7zp5zq",
    },
    {
      leaseSecret: "boity2cdh7jvl3ltaeebuiobbspjmbuopnwbde2yeh4k6x7jioga",
      storageIndex: "75gmmfts772ww4beiewc234o5e",
      tubId: "v67jiisoty6ooyxlql5fuucitqiok2ic",
      expected: "35itmusj7qm2pfimh62snbyxp3imreofhx4djr7i2fweta75szda",
    },
    {
      leaseSecret: "boity2cdh7jvl3ltaeebuiobbspjmbuopnwbde2yeh4k6x7jioga",
      storageIndex: "75gmmfts772ww4beiewc234o5e",
      tubId: "lh5fhobkjrmkqjmkxhy3yaonoociggpz",
      expected: "srrlruge47ws3lm53vgdxprgqb6bz7cdblnuovdgtfkqrygrjm4q",
    },
    {
      leaseSecret: "vacviff4xfqxsbp64tdr3frg3xnkcsuwt5jpyat2qxcm44bwu75a",
      storageIndex: "75gmmfts772ww4beiewc234o5e",
      tubId: "lh5fhobkjrmkqjmkxhy3yaonoociggpz",
      expected: "b4jledjiqjqekbm2erekzqumqzblegxi23i5ojva7g7xmqqnl5pq",
    },
  ];

  it.each(leaseVectors)("derives the bucket renewal secret $expected", (v) => {
    const leaseSecret = base32Decode(v.leaseSecret);
    const clientRenew = taggedHash(leaseSecret, "allmydata_client_renewal_secret_v1");
    const fileRenew = taggedPairHash(
      "allmydata_file_renewal_secret_v1",
      clientRenew,
      base32Decode(v.storageIndex),
    );
    const bucketRenew = taggedPairHash(
      "allmydata_bucket_renewal_secret_v1",
      fileRenew,
      base32Decode(v.tubId),
    );
    expect(base32Encode(bucketRenew)).toBe(v.expected);
  });
});

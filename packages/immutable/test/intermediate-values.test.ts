import { createHash } from "node:crypto";
import { base32Encode, netstring } from "@lafs/crypto";
import { describe, expect, it } from "vitest";
import { convergenceTag } from "../src/convergence.js";
import {
  bytesSource,
  createConvergenceHasher,
  createCtrCipher,
  decodeShareHeader,
  emptyLeafHash,
  encodeChkToBuffers,
  parseUeb,
  planChk,
  shareHashChainIndices,
  storageIndexOfKey,
} from "../src/index.js";
import { stretch } from "./vectors.js";

const secret = Buffer.from("aaaaaaaaaaaaaaaa");
const headerTuple = (share: Buffer) => {
  const h = decodeShareHeader(share);
  if (typeof h === "string") throw new Error(h);
  return [
    h.version,
    h.blockSize,
    h.shareDataSize,
    h.data,
    h.plaintextHashTree,
    h.crypttextHashTree,
    h.blockHashTree,
    h.shareHashChain,
    h.uebLength,
  ];
};
const chainIndices = (share: Buffer, n: number) => {
  const h = decodeShareHeader(share);
  if (typeof h === "string") throw new Error(h);
  const out: number[] = [];
  const length = Math.log2(2 ** Math.ceil(Math.log2(n))) + 1;
  for (let i = 0; i < length; i++) out.push(share.readUInt16BE(h.shareHashChain + 34 * i));
  return out;
};

describe("spec §2.12 shared[0]: k=1, n=1, 'a'*56", () => {
  const plaintext = Buffer.alloc(56, "a");
  const params = { k: 1, n: 1, maxSegmentSize: 131072 };

  it("plans one 56-byte segment", () => {
    const plan = planChk(56, params);
    expect([plan.segmentSize, plan.numSegments, plan.paddedTailSize, plan.blockSize]).toEqual([
      56, 1, 56, 56,
    ]);
    expect(plan.shareSize).toBe(531);
    expect(plan.uebSize).toBe(305);
  });

  it("derives the key, storage index and keystream", () => {
    const hasher = createConvergenceHasher(secret, 1, 1, 56);
    hasher.update(plaintext);
    const key = hasher.digest();
    expect(key.toString("hex")).toBe("c66e2700c124ec49fbab9a5e186168db");
    expect(base32Encode(key)).toBe("yzxcoagbetwet65ltjpbqyli3m");
    const si = storageIndexOfKey(key);
    expect(si.toString("hex")).toBe("475a787f99b6851539fedf220e1e35cb");
    expect(base32Encode(si)).toBe("i5nhq74zw2crkop634ra4hrvzm");
    const crypttext = createCtrCipher(key).update(plaintext);
    expect(crypttext.subarray(0, 32).toString("hex")).toBe(
      "561a358556560c7f9754bd0ff48e5a3f2baf1137c031e3aab298cf440117834a",
    );
  });

  it("hashes the documented prefix before the plaintext", () => {
    expect(netstring(convergenceTag(secret, 1, 1, 56)).toString("latin1")).toBe(
      "85:allmydata_immutable_content_to_key_with_added_secret_v1+16:aaaaaaaaaaaaaaaa,6:1,1,56,,",
    );
  });

  it("writes the documented share and cap", async () => {
    const { result, shares } = await encodeChkToBuffers(bytesSource(plaintext), {
      ...params,
      convergenceSecret: secret,
    });
    expect(result.readCap).toBe(
      "URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56",
    );
    expect(result.verifyCap).toBe(
      "URI:CHK-Verifier:i5nhq74zw2crkop634ra4hrvzm:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56",
    );
    expect(shares).toHaveLength(1);
    expect(shares[0]!.length).toBe(531);
    expect(headerTuple(shares[0]!)).toEqual([1, 56, 56, 36, 92, 124, 156, 188, 222]);
    expect(shares[0]!.readUInt32BE(222)).toBe(305);
    expect(Buffer.from(result.ueb).subarray(0, 30).toString("latin1")).toBe("codec_name:3:crs,codec_params:");
    const ueb = parseUeb(result.ueb);
    if (typeof ueb === "string") throw new Error(ueb);
    expect([ueb.codecParams, ueb.tailCodecParams, ueb.size, ueb.neededShares]).toEqual([
      "56-1-1",
      "56-1-1",
      56,
      1,
    ]);
    // The plaintext hash tree area is zero-filled, the share data is the crypttext.
    expect(shares[0]!.subarray(92, 124).every((b) => b === 0)).toBe(true);
  });
});

describe("spec §2.12 shared[23]: k=2, n=3, sha256('quux') to 2097153 bytes", () => {
  const plaintext = stretch(createHash("sha256").update("quux").digest(), 2097153);
  const params = { k: 2, n: 3, maxSegmentSize: 131072 };

  it("plans 17 segments with a 1-byte tail", () => {
    const plan = planChk(plaintext.length, params);
    expect(plan).toMatchObject({
      segmentSize: 131072,
      numSegments: 17,
      tailSize: 1,
      paddedTailSize: 2,
      blockSize: 65536,
      tailBlockSize: 1,
    });
    expect(plan.uebSize).toBe(319);
    expect(plan.shareSize).toBe(1055086);
  });

  it("starts the convergence hash input as documented", () => {
    expect(netstring(convergenceTag(secret, 2, 3, 131072)).toString("latin1")).toBe(
      "90:allmydata_immutable_content_to_key_with_added_secret_v1+16:aaaaaaaaaaaaaaaa,10:2,3,131072,,",
    );
  });

  it("writes the documented headers, hash chains and cap", async () => {
    const { result, shares } = await encodeChkToBuffers(bytesSource(plaintext), {
      ...params,
      convergenceSecret: secret,
    });
    expect(Buffer.from(result.cap.key).toString("hex")).toBe("df039224797c10d653236408d52065ff");
    expect(base32Encode(result.storageIndex)).toBe("ns226bsbnc2odaoxsdhn5m7vxy");
    expect(result.readCap).toBe(
      "URI:CHK:34bzejdzpqinmuzdmqenkidf74:pcecbl4ulygiadgdagonbgqmpb4lomjz4v4vqyssr56reyib4q2q:2:3:2097153",
    );
    for (const share of shares) {
      expect(share.length).toBe(1055086);
      expect(headerTuple(share)).toEqual([
        1, 65536, 1048577, 36, 1048613, 1050629, 1052645, 1054661, 1054763,
      ]);
    }
    expect(shares.map((s) => chainIndices(s, 3))).toEqual([
      [2, 3, 4],
      [2, 3, 4],
      [1, 5, 6],
    ]);
    const ueb = parseUeb(result.ueb);
    if (typeof ueb === "string") throw new Error(ueb);
    expect(ueb.tailCodecParams).toBe("2-2-3");
  });
});

describe("constants", () => {
  it("hashes the empty leaf 0 as documented", () => {
    expect(emptyLeafHash(0).toString("hex")).toBe(
      "e0024730188e2de564a697cc2987407b24ae7eb6b880190c1a0337a5740e527a",
    );
  });

  it("orders hash chains like a CPython set", () => {
    expect(shareHashChainIndices(3, 2)).toEqual([1, 5, 6]);
    expect(shareHashChainIndices(5, 0)).toEqual([8, 2, 4, 7]);
    expect(shareHashChainIndices(1, 0)).toEqual([0]);
    expect(shareHashChainIndices(256, 255)).toHaveLength(9);
  });

  it("rounds the segment size up to a multiple of k, past the maximum", () => {
    expect(planChk(131073, { k: 3, n: 10, maxSegmentSize: 131072 })).toMatchObject({
      segmentSize: 131073,
      numSegments: 1,
    });
  });
});

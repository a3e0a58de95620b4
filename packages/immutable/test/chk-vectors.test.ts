import { describe, expect, it } from "vitest";
import {
  bufferShareReader,
  bytesSource,
  computeImmutableCap,
  createChkDecoder,
  encodeChkToBuffers,
} from "../src/index.js";
import { loadChkVectors } from "./vectors.js";

const vectors = loadChkVectors();

describe("published Tahoe-LAFS CHK vectors (../shared/vectors/chk.json)", () => {
  it("has all 60", () => {
    expect(vectors).toHaveLength(60);
  });

  for (const v of vectors) {
    it(`#${v.index}: k=${v.k} n=${v.n} ${v.plaintext.length} bytes`, async () => {
      const result = await computeImmutableCap(bytesSource(v.plaintext), {
        k: v.k,
        n: v.n,
        maxSegmentSize: v.segmentSize,
        convergenceSecret: v.convergence,
      });
      expect(result.readCap).toBe(v.expected);
    });
  }
});

describe("vector shares decode from the last k shares (check blocks first)", () => {
  const picked = vectors.filter(
    (v) => (v.n <= 10 && v.plaintext.length <= 2097153) || (v.k === 71 && v.plaintext.length === 131073),
  );
  for (const v of picked) {
    it(`#${v.index}: k=${v.k} n=${v.n} ${v.plaintext.length} bytes`, async () => {
      const params = { k: v.k, n: v.n, maxSegmentSize: v.segmentSize, convergenceSecret: v.convergence };
      const { result, shares } = await encodeChkToBuffers(bytesSource(v.plaintext), params);
      expect(result.readCap).toBe(v.expected);
      const readers = shares.slice(v.n - v.k).map((share, i) => bufferShareReader(v.n - v.k + i, share));
      const plaintext = await createChkDecoder(v.expected, readers).readAll();
      expect(plaintext.equals(v.plaintext)).toBe(true);
    });
  }
});

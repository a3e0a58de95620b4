import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha1 } from "../src/sha1.js";
import { sha256 } from "../src/sha256.js";
import { utf8Bytes } from "../src/utf8.js";

const nodeDigest = (algorithm: string, data: Uint8Array) =>
  new Uint8Array(createHash(algorithm).update(data).digest());

// Lengths around the padding boundaries (55/56 bytes fit or spill the length field).
const EDGE_LENGTHS = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 4096];

describe.each([
  ["sha1", sha1],
  ["sha256", sha256],
])("%s against node:crypto", (algorithm, hash) => {
  it("agrees at every padding boundary", () => {
    for (const length of EDGE_LENGTHS) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
      expect(hash(data), `length ${length}`).toEqual(nodeDigest(algorithm, data));
    }
  });

  it("agrees on random input", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        expect(hash(data)).toEqual(nodeDigest(algorithm, data));
      }),
      { numRuns: 300 },
    );
  });
});

describe("sha1 known answers", () => {
  it("hashes 'abc' to the FIPS 180 example digest", () => {
    expect(Buffer.from(sha1(utf8Bytes("abc"))).toString("hex")).toBe(
      "a9993e364706816aba3e25717850c26c9cd0d89d",
    );
  });
});

describe("utf8Bytes", () => {
  it("matches Buffer.from(text, 'utf8'), including lone surrogates", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (text) => {
        expect(utf8Bytes(text)).toEqual(new Uint8Array(Buffer.from(text, "utf8")));
      }),
      { numRuns: 300 },
    );
  });
});

import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { permutationKey, permutationSeedFor } from "../src/index.js";

const nodeDigest = (algorithm: string, ...parts: (Uint8Array | string)[]) => {
  const hash = createHash(algorithm);
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
};

// Lengths around the padding boundaries (55/56 bytes fit or spill the length field).
const EDGE_LENGTHS = [0, 1, 3, 39, 40, 41, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000];

describe("permutationKey: SHA1(storage index || seed), as node:crypto computes it", () => {
  it("agrees at every padding boundary", () => {
    const si = Uint8Array.from({ length: 16 }, (_, i) => i * 7);
    for (const length of EDGE_LENGTHS) {
      const seed = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
      expect(permutationKey(si, seed), `seed length ${length}`).toEqual(nodeDigest("sha1", si, seed));
    }
  });

  it("agrees on random input", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ maxLength: 300 }),
        (si, seed) => {
          expect(permutationKey(si, seed)).toEqual(nodeDigest("sha1", si, seed));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("permutationSeedFor a non-v0 server id: SHA-256 of its UTF-8 bytes", () => {
  it("matches node:crypto over Buffer.from(id, 'utf8'), lone surrogates included", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (id) => {
        expect(permutationSeedFor(id)).toEqual(nodeDigest("sha256", Buffer.from(id, "utf8")));
      }),
      { numRuns: 300 },
    );
  });

  it("hashes a known id to its known digest", () => {
    expect(Buffer.from(permutationSeedFor("abc")).toString("hex")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});

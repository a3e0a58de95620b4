import { createHash } from "node:crypto";
import { base32Encode, base32Decode as referenceDecode } from "@lafs/crypto";
import { isTahoeError } from "@lafs/interface";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base32Decode, base32Encode as ownEncode } from "../src/base32.js";
import { permutationKey, permutationSeedFor, permutedOrder } from "../src/index.js";
import { makeServer, STORAGE_INDEX, serverIdFor } from "./helpers.js";

describe("base32Encode", () => {
  it("writes what @lafs/crypto's base32Encode writes, for every length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(ownEncode(bytes)).toBe(base32Encode(bytes));
      }),
      { numRuns: 300 },
    );
  });
});

describe("base32Decode", () => {
  it("inverts @lafs/crypto's base32Encode for every length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(base32Decode(base32Encode(bytes))).toEqual(new Uint8Array(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses exactly what @lafs/crypto refuses", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z2-9A=]{0,14}$/), (text) => {
        let expected: Uint8Array | undefined;
        try {
          expected = referenceDecode(text);
        } catch {
          expected = undefined;
        }
        expect(base32Decode(text)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe("permutationSeedFor (wire-formats §2.14)", () => {
  const id = serverIdFor("alice");

  it("prefers the announced permutation-seed-base32", () => {
    const seed = new Uint8Array(32).fill(9);
    expect(permutationSeedFor(id, base32Encode(seed))).toEqual(seed);
  });

  it("otherwise decodes the key part of a v0- server id", () => {
    expect(permutationSeedFor(id)).toEqual(new Uint8Array(referenceDecode(id.slice(3))));
    expect(permutationSeedFor(id, "")).toHaveLength(32);
  });

  it("otherwise hashes the server id with SHA-256", () => {
    for (const other of ["tubid-abc", "v0-tooshort", "v0-ÄÖÜ", `${id}x`]) {
      expect(permutationSeedFor(other)).toEqual(
        new Uint8Array(createHash("sha256").update(other, "utf8").digest()),
      );
    }
  });

  it("refuses a permutation seed that is not base32, naming the server and the text", () => {
    try {
      permutationSeedFor(id, "NOT-BASE32");
      expect.unreachable();
    } catch (error) {
      expect(isTahoeError(error) && error.code).toBe("TAHOE_ERR_PLACEMENT_PERMUTATION_SEED");
      expect((error as Error).message).toContain(id);
      expect((error as Error).message).toContain("NOT-BASE32");
    }
  });
});

describe("permutedOrder", () => {
  const servers = ["a", "b", "c", "d", "e", "f", "g", "h"].map((name) => makeServer(name));
  const nodeKey = (seed: Uint8Array) =>
    createHash("sha1").update(STORAGE_INDEX).update(seed).digest().toString("hex");

  it("sorts by SHA1(storage index || seed) as computed by node:crypto", () => {
    const expected = [...servers].sort((a, b) =>
      nodeKey(a.permutationSeed).localeCompare(nodeKey(b.permutationSeed)),
    );
    expect(permutedOrder(STORAGE_INDEX, servers).map((s) => s.id)).toEqual(expected.map((s) => s.id));
    expect(Buffer.from(permutationKey(STORAGE_INDEX, servers[0]!.permutationSeed)).toString("hex")).toBe(
      nodeKey(servers[0]!.permutationSeed),
    );
  });

  it("does not depend on the order servers are given in", () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(servers, { minLength: servers.length }), (shuffled) => {
        expect(permutedOrder(STORAGE_INDEX, shuffled)).toEqual(permutedOrder(STORAGE_INDEX, servers));
      }),
    );
  });

  it("orders differently for different storage indexes", () => {
    const other = new Uint8Array(16).fill(1);
    expect(permutedOrder(other, servers).map((s) => s.id)).not.toEqual(
      permutedOrder(STORAGE_INDEX, servers).map((s) => s.id),
    );
  });
});

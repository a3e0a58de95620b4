import { isTahoeError } from "@lafs/interface";
import { describe, expect, it } from "vitest";
import { PlacementInputError, type PlacementRequest, placeShares } from "../src/index.js";
import { makeServer, STORAGE_INDEX } from "./helpers.js";

const base: PlacementRequest = {
  storageIndex: STORAGE_INDEX,
  servers: [makeServer("alice"), makeServer("bob")],
  k: 1,
  happy: 2,
  n: 3,
};

describe("input validation", () => {
  it.each([
    [
      "k = 0",
      { k: 0 },
      "TAHOE_ERR_PLACEMENT_ENCODING",
      "shares.needed (k) = 0 is not a whole number from 1 to 256",
    ],
    ["k not whole", { k: 1.5 }, "TAHOE_ERR_PLACEMENT_ENCODING", "shares.needed (k) = 1.5"],
    ["N = 257", { n: 257 }, "TAHOE_ERR_PLACEMENT_ENCODING", "shares.total (N) = 257"],
    ["happy NaN", { happy: Number.NaN }, "TAHOE_ERR_PLACEMENT_ENCODING", "shares.happy = NaN"],
    ["k > happy", { k: 3, happy: 2 }, "TAHOE_ERR_PLACEMENT_ENCODING", "k=3, happy=2, N=3 is out of order"],
    ["happy > N", { happy: 4 }, "TAHOE_ERR_PLACEMENT_ENCODING", "k=1, happy=4, N=3 is out of order"],
    [
      "short storage index",
      { storageIndex: new Uint8Array(15) },
      "TAHOE_ERR_PLACEMENT_STORAGE_INDEX",
      "storage index is 15 bytes; a storage index is 16 bytes",
    ],
    [
      "share out of range",
      { servers: [makeServer("alice", { existingShares: [0, 3] })] },
      "TAHOE_ERR_PLACEMENT_SHARE_NUMBER",
      "server 'alice' (v0-fpmansl7…) holds share 3, but shares of this file are numbered 0..2 (N = 3)",
    ],
    [
      "negative share",
      { servers: [makeServer("alice", { existingShares: [-1] })] },
      "TAHOE_ERR_PLACEMENT_SHARE_NUMBER",
      "holds share -1",
    ],
    [
      "duplicate server",
      { servers: [makeServer("alice"), makeServer("bob"), makeServer("alice")] },
      "TAHOE_ERR_PLACEMENT_DUPLICATE_SERVER",
      "server 'alice' (v0-fpmansl7…) appears twice in the server list (again at #3)",
    ],
    [
      "empty id",
      { servers: [makeServer("alice", { id: "" })] },
      "TAHOE_ERR_PLACEMENT_SERVER",
      "server #1 in the list has an empty id",
    ],
    [
      "missing seed",
      { servers: [makeServer("alice", { permutationSeed: new Uint8Array(0) })] },
      "TAHOE_ERR_PLACEMENT_SERVER",
      "server 'alice' (v0-fpmansl7…) (#1 in the list) has no permutation seed",
    ],
  ] as const)("refuses %s", (_name, change, code, message) => {
    let thrown: unknown;
    try {
      placeShares({ ...base, ...change } as PlacementRequest);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PlacementInputError);
    expect(isTahoeError(thrown) && thrown.code).toBe(code);
    expect((thrown as PlacementInputError).message).toContain(message);
    expect((thrown as PlacementInputError).hint).toBeTruthy();
  });

  it("accepts the extremes 1 <= k <= happy <= N <= 256", () => {
    expect(placeShares({ ...base, k: 1, happy: 1, n: 1 }).ok).toBe(true);
    expect(placeShares({ ...base, k: 256, happy: 256, n: 256 }).happiness).toBe(2);
  });
});

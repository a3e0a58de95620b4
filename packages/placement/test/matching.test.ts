import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { happinessOf, maximumMatching } from "../src/index.js";
import { kuhnMatchingSize } from "./helpers.js";

const graph = fc.integer({ min: 1, max: 12 }).chain((shares) =>
  fc.record({
    shares: fc.constant(shares),
    adjacency: fc.array(fc.uniqueArray(fc.integer({ min: 0, max: shares - 1 }), { maxLength: shares }), {
      maxLength: 14,
    }),
  }),
);

describe("maximumMatching (Hopcroft–Karp)", () => {
  it("has the size an independent augmenting-path matching finds", () => {
    fc.assert(
      fc.property(graph, ({ shares, adjacency }) => {
        expect(maximumMatching(adjacency, shares).size).toBe(kuhnMatchingSize(adjacency));
      }),
      { numRuns: 1000 },
    );
  });

  it("returns a valid matching that uses only edges of the graph", () => {
    fc.assert(
      fc.property(graph, ({ shares, adjacency }) => {
        const { size, leftMatch, rightMatch } = maximumMatching(adjacency, shares);
        let pairs = 0;
        leftMatch.forEach((share, server) => {
          if (share < 0) return;
          pairs++;
          expect(adjacency[server]).toContain(share);
          expect(rightMatch[share]).toBe(server);
        });
        expect(pairs).toBe(size);
      }),
      { numRuns: 300 },
    );
  });

  it("handles 1000 servers x 256 shares with random dense holdings", () => {
    // mulberry32: a seeded generator, so every run measures the same grid.
    let state = 12345;
    const random = (): number => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    // Servers crowd onto the low shares so that augmenting paths are long.
    const adjacency = Array.from({ length: 1000 }, () =>
      Array.from({ length: 20 }, () => Math.floor(256 * random() ** 3)),
    ).map((shares) => [...new Set(shares)]);
    expect(maximumMatching(adjacency, 256).size).toBe(kuhnMatchingSize(adjacency));
  });
});

describe("happinessOf", () => {
  it("gives 5 for the layout in Tahoe's servers_of_happiness docstring", () => {
    const layout = new Map([
      ["server 1", [1, 2, 3, 4]],
      ["server 2", [6]],
      ["server 3", [3]],
      ["server 4", [4]],
      ["server 5", [2]],
    ]);
    expect(happinessOf(layout)).toBe(5);
  });

  it("counts a server once however many shares it holds, and a share once however many hold it", () => {
    expect(happinessOf(new Map([["a", [0, 1, 2, 3]]]))).toBe(1);
    expect(
      happinessOf(
        new Map([
          ["a", [0]],
          ["b", [0]],
          ["c", [0]],
        ]),
      ),
    ).toBe(1);
    expect(happinessOf(new Map())).toBe(0);
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Placement, type PlacementServer, placeShares, type ServerPlan } from "../src/index.js";
import { type GridCase, gridArbitrary, kuhnMatchingSize, STORAGE_INDEX } from "./helpers.js";

const place = (grid: GridCase): Placement => placeShares({ storageIndex: STORAGE_INDEX, ...grid });
const sharesOf = (plan: ServerPlan): number[] => [...new Set([...plan.keptShares, ...plan.newShares])];
const usable = (s: PlacementServer) => (s.allowed ?? true) && s.connected;

/**
 * The best happiness any placement could reach, by brute force: try every way of giving
 * each usable writable server at most one new share (a matching uses at most one share
 * per server, so more new shares per server cannot raise it) on top of what usable
 * servers already hold.
 */
function bestAchievableHappiness(grid: GridCase): number {
  const servers = grid.servers.filter(usable);
  const existing = servers.map((s) => [...(s.existingShares ?? [])]);
  const writable = servers.flatMap((s, i) => (s.writable ? [i] : []));
  let best = 0;
  const choose = (w: number): void => {
    if (w === writable.length) {
      best = Math.max(best, kuhnMatchingSize(existing));
      return;
    }
    const server = writable[w]!;
    choose(w + 1);
    for (let share = 0; share < grid.n; share++) {
      if (existing[server]!.includes(share)) continue;
      existing[server]!.push(share);
      choose(w + 1);
      existing[server]!.pop();
    }
  };
  choose(0);
  return best;
}

describe("placeShares properties", () => {
  const grids = gridArbitrary(9, 6);

  it("reports the happiness an independent maximum matching finds on its own plan", () => {
    fc.assert(
      fc.property(grids, (grid) => {
        const placement = place(grid);
        expect(placement.happiness).toBe(kuhnMatchingSize(placement.servers.map(sharesOf)));
      }),
      { numRuns: 400 },
    );
  });

  it("never gives a share to, or counts a share on, a server that is not allowed or not connected", () => {
    fc.assert(
      fc.property(grids, (grid) => {
        for (const plan of place(grid).servers) {
          if (plan.allowed && plan.state !== "not-connected") continue;
          expect(plan.newShares).toEqual([]);
          expect(plan.keptShares).toEqual([]);
          expect(plan.candidate).toBe(false);
          expect(plan.matchedShare).toBeUndefined();
        }
      }),
      { numRuns: 400 },
    );
  });

  it("gives new shares only to writable servers", () => {
    fc.assert(
      fc.property(grids, (grid) => {
        for (const plan of place(grid).servers) {
          if (plan.state !== "writable") expect(plan.newShares).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("gives every required server a share, or refuses naming that server", () => {
    fc.assert(
      fc.property(grids, (grid) => {
        const placement = place(grid);
        for (const plan of placement.servers.filter((p) => p.required)) {
          if (sharesOf(plan).length > 0) continue;
          expect(placement.ok).toBe(false);
          expect(placement.refusals.some((r) => r.servers.includes(plan.id))).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("gives a share to every required server that is connected, allowed and writable", () => {
    fc.assert(
      fc.property(
        grids.map((grid) => ({
          ...grid,
          servers: grid.servers.map((s) => ({ ...s, connected: true, allowed: true, writable: true })),
        })),
        (grid) => {
          for (const plan of place(grid).servers.filter((p) => p.required)) {
            expect(sharesOf(plan).length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("never reports success below happy, and refuses with reasons exactly when not ok", () => {
    fc.assert(
      fc.property(grids, (grid) => {
        const placement = place(grid);
        if (placement.ok) expect(placement.happiness).toBeGreaterThanOrEqual(grid.happy);
        if (placement.happiness < grid.happy) {
          expect(placement.ok).toBe(false);
          expect(placement.refusals.map((r) => r.code)).toContainEqual(
            expect.stringMatching(/TOO_FEW_SERVERS|NOT_SPREAD|UNHAPPY/),
          );
        }
        expect(placement.ok).toBe(placement.refusals.length === 0);
      }),
      { numRuns: 400 },
    );
  });

  it("reaches the best achievable happiness (brute force)", () => {
    fc.assert(
      fc.property(gridArbitrary(6, 4), (grid) => {
        expect(place(grid).happiness).toBe(bestAchievableHappiness(grid));
      }),
      { numRuns: 250 },
    );
  });

  it("leaves no share homeless while some usable server can take new shares", () => {
    fc.assert(
      fc.property(grids, (grid) => {
        const placement = place(grid);
        if (placement.servers.some((p) => p.state === "writable"))
          expect(placement.homelessShares).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps and renews every share a usable server already holds", () => {
    fc.assert(
      fc.property(grids, (grid) => {
        const byId = new Map(grid.servers.map((s) => [s.id, s]));
        for (const plan of place(grid).servers) {
          const held = [...new Set(byId.get(plan.id)!.existingShares ?? [])].sort((a, b) => a - b);
          if (plan.allowed && plan.state !== "not-connected") expect(plan.keptShares).toEqual(held);
          else expect(plan.ignoredShares).toEqual(held);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("gives the same plan whatever order the servers come in", () => {
    fc.assert(
      fc.property(
        grids.chain((grid) =>
          fc.tuple(fc.constant(grid), fc.shuffledSubarray(grid.servers, { minLength: grid.servers.length })),
        ),
        ([grid, shuffled]) => {
          expect(place({ ...grid, servers: shuffled })).toEqual(place(grid));
        },
      ),
      { numRuns: 200 },
    );
  });
});

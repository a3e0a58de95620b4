import { describe, expect, it } from "vitest";
import { type PlacementServer, placeShares, type ServerPlan } from "../src/index.js";
import { kuhnMatchingSize, makeServer, STORAGE_INDEX } from "./helpers.js";

const names = (count: number) => Array.from({ length: count }, (_, i) => `server-${i}`);
const sharesOf = (plan: ServerPlan) => [...new Set([...plan.keptShares, ...plan.newShares])];

describe("placeShares", () => {
  it("puts one share on each of N fresh servers, in permuted order", () => {
    const servers = names(12).map((name) => makeServer(name));
    const placement = placeShares({ storageIndex: STORAGE_INDEX, servers, k: 3, happy: 7, n: 10 });
    expect(placement).toMatchObject({ ok: true, happiness: 10, serversWithShares: 10, homelessShares: [] });
    expect(placement.servers.map((s) => s.rank)).toEqual([...Array(12).keys()]);
    expect(placement.servers.map((s) => s.newShares)).toEqual([
      ...[...Array(10).keys()].map((share) => [share]),
      [],
      [],
    ]);
    expect(placement.servers.every((s) => s.candidate)).toBe(true);
  });

  it("re-uses existing shares: read-only holders first, then writable holders, then fresh servers", () => {
    const servers: PlacementServer[] = [
      makeServer("full", { writable: false, existingShares: [0, 1] }),
      makeServer("holder", { existingShares: [0, 2] }),
      makeServer("fresh-1"),
      makeServer("fresh-2"),
    ];
    const placement = placeShares({ storageIndex: STORAGE_INDEX, servers, k: 2, happy: 4, n: 4 });
    const byName = new Map(placement.servers.map((s) => [s.nickname, s]));
    expect(placement.ok).toBe(true);
    expect(placement.happiness).toBe(4);
    // M1 counts the read-only server for share 0, M2 the writable holder for share 2 (no
    // upload), so M3 gives the fresh servers shares 1 and 3.
    expect(byName.get("full")).toMatchObject({ keptShares: [0, 1], newShares: [] });
    expect(byName.get("holder")).toMatchObject({ keptShares: [0, 2], newShares: [] });
    const freshShares = [...byName.get("fresh-1")!.newShares, ...byName.get("fresh-2")!.newShares].sort();
    expect(freshShares).toEqual([1, 3]);
  });

  it("spreads extra shares evenly when there are fewer servers than shares", () => {
    const servers = names(3).map((name) => makeServer(name));
    const placement = placeShares({ storageIndex: STORAGE_INDEX, servers, k: 3, happy: 3, n: 10 });
    expect(placement.ok).toBe(true);
    expect(placement.servers.map((s) => s.newShares.length).sort()).toEqual([3, 3, 4]);
    expect(placement.servers.flatMap((s) => s.newShares).sort((a, b) => a - b)).toEqual([
      ...Array(10).keys(),
    ]);
  });

  it("considers only the first 2N writable servers, plus holders and required servers beyond them", () => {
    const plain = names(30).map((name) => makeServer(name));
    const order = placeShares({ storageIndex: STORAGE_INDEX, servers: plain, k: 1, happy: 2, n: 3 }).servers;
    const late = order.slice(6).map((s) => s.nickname!);
    const servers = plain.map((s) =>
      s.nickname === late[10]
        ? { ...s, existingShares: [1] }
        : s.nickname === late[20]
          ? { ...s, required: true }
          : s,
    );
    const placement = placeShares({ storageIndex: STORAGE_INDEX, servers, k: 1, happy: 2, n: 3 });
    expect(placement.servers.filter((s) => s.candidate).map((s) => s.nickname)).toEqual([
      ...order.slice(0, 6).map((s) => s.nickname),
      late[10],
      late[20],
    ]);
    const required = placement.servers.find((s) => s.nickname === late[20])!;
    expect(required.newShares).toHaveLength(1);
    expect(placement.servers.filter((s) => !s.candidate).every((s) => s.newShares.length === 0)).toBe(true);
  });

  it("gives every required server a share even when there are more required servers than shares", () => {
    const servers = names(5).map((name) => makeServer(name, { required: true }));
    const placement = placeShares({ storageIndex: STORAGE_INDEX, servers, k: 1, happy: 2, n: 2 });
    expect(placement.ok).toBe(true);
    expect(placement.servers.every((s) => sharesOf(s).length > 0)).toBe(true);
    expect(placement.happiness).toBe(2);
  });

  it("places 256 shares over 1000 servers with full happiness", () => {
    const servers = names(1000).map((name, i) =>
      makeServer(name, { writable: i % 3 !== 0, existingShares: i % 7 === 0 ? [i % 256] : [] }),
    );
    const placement = placeShares({ storageIndex: STORAGE_INDEX, servers, k: 100, happy: 256, n: 256 });
    expect(placement.ok).toBe(true);
    expect(placement.happiness).toBe(256);
    expect(kuhnMatchingSize(placement.servers.map(sharesOf))).toBe(256);
  });
});

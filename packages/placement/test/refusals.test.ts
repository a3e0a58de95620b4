import { formatTahoeError, isTahoeError } from "@lafs/interface";
import { describe, expect, it } from "vitest";
import {
  assertPlacementOk,
  type Placement,
  PlacementRefusedError,
  type PlacementServer,
  placeShares,
  serverLabel,
} from "../src/index.js";
import { makeServer, STORAGE_INDEX } from "./helpers.js";

const NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"];

function grid(count: number, tweak: (name: string, i: number) => Partial<PlacementServer> = () => ({})) {
  return NAMES.slice(0, count).map((name, i) => makeServer(name, tweak(name, i)));
}

function place(servers: PlacementServer[], k = 3, happy = 7, n = 10): Placement {
  return placeShares({ storageIndex: STORAGE_INDEX, servers, k, happy, n });
}

/** The labels of the servers a refusal should name, in permuted order. */
function labelsOf(placement: Placement, names: readonly string[], limit = 5): string {
  return placement.servers
    .filter((s) => names.includes(s.nickname!))
    .map((s) => s.label)
    .slice(0, limit)
    .join(", ");
}

const unhappy = (happiness: number, k = 3, happy = 7) =>
  `shares could be placed on only ${happiness} server(s) such that any ${k} of them have enough shares to recover the file, but we were asked to place shares on at least ${happy} such servers.`;

describe("server labels", () => {
  it("names a server as 'NICKNAME' (v0-abcdefgh…)", () => {
    expect(serverLabel(makeServer("alice"))).toBe("'alice' (v0-fpmansl7…)");
    expect(serverLabel({ id: "v0-fpmansl7byak6gq7ymzi7j3dvetjoi6i3oh2yt4tv5y5wgdnn2ia" })).toBe(
      "v0-fpmansl7…",
    );
    expect(serverLabel({ id: "short", nickname: "x" })).toBe("'x' (short)");
  });
});

describe("refusal messages", () => {
  const cases: {
    name: string;
    placement: () => Placement;
    expected: (p: Placement) => { code: string; message: string }[];
  }[] = [
    {
      name: "a required server is not connected",
      placement: () => place(grid(10, (n) => (n === "alice" ? { required: true, connected: false } : {}))),
      expected: () => [
        {
          code: "TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED",
          message: "uploads disabled: server 'alice' (v0-fpmansl7…) is required but not connected",
        },
      ],
    },
    {
      name: "two required servers are not connected",
      placement: () =>
        place(grid(10, (n) => (n === "alice" || n === "bob" ? { required: true, connected: false } : {}))),
      expected: (p) => [
        {
          code: "TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED",
          message: `uploads disabled: servers ${labelsOf(p, ["alice", "bob"])} are required but not connected`,
        },
      ],
    },
    {
      name: "a required server is not allowed",
      placement: () => place(grid(10, (n) => (n === "alice" ? { required: true, allowed: false } : {}))),
      expected: () => [
        {
          code: "TAHOE_ERR_PLACEMENT_REQUIRED_NOT_ALLOWED",
          message: "uploads disabled: server 'alice' (v0-fpmansl7…) is required but not allowed",
        },
      ],
    },
    {
      name: "a required server is read-only or full and holds nothing",
      placement: () => place(grid(10, (n) => (n === "alice" ? { required: true, writable: false } : {}))),
      expected: () => [
        {
          code: "TAHOE_ERR_PLACEMENT_REQUIRED_READ_ONLY",
          message:
            "uploads disabled: server 'alice' (v0-fpmansl7…) is required but read-only or full, and holds no share of this file",
        },
      ],
    },
    {
      name: "no servers are known",
      placement: () => place([]),
      expected: () => [
        {
          code: "TAHOE_ERR_PLACEMENT_TOO_FEW_SERVERS",
          message:
            "shares could be placed or found on only 0 server(s). We were asked to place shares on at least 7 server(s) such that any 3 of them have enough shares to recover the file.",
        },
        { code: "TAHOE_ERR_PLACEMENT_NO_SERVERS", message: "uploads disabled: no storage servers are known" },
      ],
    },
    {
      name: "k is more than the servers that could be used",
      placement: () => place(grid(2)),
      expected: () => [
        {
          code: "TAHOE_ERR_PLACEMENT_TOO_FEW_SERVERS",
          message:
            "shares could be placed or found on only 2 server(s). We were asked to place shares on at least 7 server(s) such that any 3 of them have enough shares to recover the file.",
        },
      ],
    },
    {
      name: "below happiness on a grid smaller than happy",
      placement: () => place(grid(5)),
      expected: () => [{ code: "TAHOE_ERR_PLACEMENT_UNHAPPY", message: unhappy(5) }],
    },
    {
      name: "servers hold only copies of one share and none can take more",
      placement: () =>
        place(
          grid(3, () => ({ writable: false, existingShares: [0] })),
          3,
          3,
          3,
        ),
      expected: (p) => [
        {
          code: "TAHOE_ERR_PLACEMENT_NOT_SPREAD",
          message:
            "shares could be placed or found on 3 server(s), but they are not spread out evenly enough to ensure that any 3 of these servers would have enough shares to recover the file. We were asked to place shares on at least 3 servers such that any 3 of them have enough shares to recover the file.",
        },
        {
          code: "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_WRITABLE",
          message: `uploads disabled: servers ${labelsOf(p, NAMES)} are read-only or full, so only 0 of the 3 connected allowed server(s) can take new shares, but shares must go to at least 3 server(s) (shares.happy = 3)`,
        },
      ],
    },
    {
      name: "not enough allowed servers",
      placement: () => place(grid(10, (_, i) => ({ allowed: i < 4 }))),
      expected: () => [
        { code: "TAHOE_ERR_PLACEMENT_UNHAPPY", message: unhappy(4) },
        {
          code: "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_ALLOWED",
          message:
            "uploads disabled: only 4 server(s) are allowed, but shares must go to at least 7 server(s) (shares.happy = 7)",
        },
      ],
    },
    {
      name: "not enough allowed servers are connected",
      placement: () => place(grid(10, (_, i) => ({ connected: i < 5 }))),
      expected: (p) => [
        { code: "TAHOE_ERR_PLACEMENT_UNHAPPY", message: unhappy(5) },
        {
          code: "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_CONNECTED",
          message: `uploads disabled: only 5 of the 10 allowed server(s) are connected, but shares must go to at least 7 server(s) (shares.happy = 7); not connected: ${labelsOf(p, NAMES.slice(5))}`,
        },
      ],
    },
    {
      name: "too many servers are read-only or full",
      placement: () => place(grid(10, (_, i) => ({ writable: i < 4 }))),
      expected: (p) => [
        { code: "TAHOE_ERR_PLACEMENT_UNHAPPY", message: unhappy(4) },
        {
          code: "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_WRITABLE",
          message: `uploads disabled: servers ${labelsOf(p, NAMES.slice(4))} and 1 more are read-only or full, so only 4 of the 10 connected allowed server(s) can take new shares, but shares must go to at least 7 server(s) (shares.happy = 7)`,
        },
      ],
    },
    {
      name: "a required server is down and the rest are too few",
      placement: () =>
        place(grid(10, (n, i) => ({ connected: i < 6, ...(n === "judy" ? { required: true } : {}) }))),
      expected: (p) => [
        {
          code: "TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED",
          message: "uploads disabled: server 'judy' (v0-ohnufclw…) is required but not connected",
        },
        { code: "TAHOE_ERR_PLACEMENT_UNHAPPY", message: unhappy(6) },
        {
          code: "TAHOE_ERR_PLACEMENT_NOT_ENOUGH_CONNECTED",
          message: `uploads disabled: only 6 of the 10 allowed server(s) are connected, but shares must go to at least 7 server(s) (shares.happy = 7); not connected: ${labelsOf(p, NAMES.slice(6))}`,
        },
      ],
    },
  ];

  it.each(cases)("$name", ({ placement, expected }) => {
    const result = placement();
    expect(result.ok).toBe(false);
    expect(result.refusals.map(({ code, message }) => ({ code, message }))).toEqual(expected(result));
    for (const refusal of result.refusals) expect(refusal.hint.length).toBeGreaterThan(10);
  });

  it("names the servers of each per-server refusal by id", () => {
    const result = place(grid(10, (n) => (n === "alice" ? { required: true, connected: false } : {})));
    expect(result.refusals[0]!.servers).toEqual([makeServer("alice").id]);
  });

  it("accepts a required read-only server that already holds a share (it is renewed)", () => {
    const result = place(
      grid(10, (n) => (n === "alice" ? { required: true, writable: false, existingShares: [4] } : {})),
    );
    expect(result.ok).toBe(true);
    expect(result.servers.find((s) => s.nickname === "alice")!.keptShares).toEqual([4]);
  });

  it("does not complain about a disconnected or disallowed server that is not required when happy is reached", () => {
    const result = place(grid(10, (_, i) => ({ connected: i !== 0, allowed: i !== 1 })));
    expect(result).toMatchObject({ ok: true, happiness: 8, refusals: [] });
  });
});

describe("PlacementRefusedError", () => {
  it("carries the same words as the placement, headline first", () => {
    const placement = place(grid(10, (n, i) => ({ connected: i < 6, required: n === "judy" })));
    let thrown: unknown;
    try {
      assertPlacementOk(placement);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PlacementRefusedError);
    const error = thrown as PlacementRefusedError;
    expect(isTahoeError(error)).toBe(true);
    expect(error.code).toBe("TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED");
    expect(error.message.split("\n")).toEqual(placement.refusals.map((r) => r.message));
    expect(error.hint).toBe(placement.refusals[0]!.hint);
    expect(error.refusals).toEqual(placement.refusals);
    expect(formatTahoeError(error)).toContain("is required but not connected");
  });

  it("does not throw for an accepted placement", () => {
    expect(() => assertPlacementOk(place(grid(10)))).not.toThrow();
  });
});

import type { FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import { useMemoryApp } from "./memory-app.js";
import type { MemoryNode } from "./memory-node.js";

let node: MemoryNode;
let app: FastifyInstance;
const NOW = 1_700_000_300_000;

useMemoryApp((fresh) => ({ node, app } = fresh), { now: () => NOW });

describe("the welcome page's storage report", () => {
  it("lists damaged share files (escaped) and the advisories received, in HTML and JSON", async () => {
    node.state.storage = {
      enabled: true,
      report: {
        corruptShares: {
          count: 3,
          records: [
            {
              path: "/srv/node/storage/shares/ab/<script>/7",
              storageIndex: "abcdefghijklmnopqrstuvwxyz",
              shareNumber: 7,
              kind: "unknown",
              problem:
                "its first bytes 0xff000002 are neither an immutable container version (1 or 2) nor the mutable container magic",
              firstSeen: NOW - 120_000,
            },
          ],
        },
        corruptionAdvisories: { count: 2, bytes: 1500, refused: 1 },
      },
    };
    const page = (await app.inject({ url: "/" })).body;
    expect(page).toContain("3 damaged share files found.");
    expect(page).toContain("<code>/srv/node/storage/shares/ab/&lt;script&gt;/7</code>");
    expect(page).not.toContain("<script>/7");
    expect(page).toContain('<td data-label="First seen">2 minutes ago</td>');
    expect(page).toContain("2 more not listed.");
    expect(page).toContain("Corruption advisories received: 2 (1.50 kB), 1 refused over the limit");

    const json = (await app.inject({ url: "/?t=json" })).json() as { storage: unknown };
    expect(json.storage).toEqual({
      enabled: true,
      available_space: null,
      corrupt_shares: {
        count: 3,
        list: [
          {
            path: "/srv/node/storage/shares/ab/<script>/7",
            storage_index: "abcdefghijklmnopqrstuvwxyz",
            share_number: 7,
            kind: "unknown",
            problem:
              "its first bytes 0xff000002 are neither an immutable container version (1 or 2) nor the mutable container magic",
            first_seen: (NOW - 120_000) / 1000,
          },
        ],
      },
      corruption_advisories: { count: 2, bytes: 1500, refused: 1 },
    });
  });

  it("adds nothing when the node runs no storage server", async () => {
    const page = (await app.inject({ url: "/" })).body;
    expect(page).not.toContain("damaged share");
    const json = (await app.inject({ url: "/?t=json" })).json() as { storage: Record<string, unknown> };
    expect(Object.keys(json.storage)).toEqual(["enabled", "available_space"]);
  });
});

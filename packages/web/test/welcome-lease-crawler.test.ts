import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createWebApp } from "../src/index.js";
import type { WebCrawlerTally } from "../src/storage-upkeep-view.js";
import { createMemoryNode, type MemoryNode } from "./memory-node.js";

let node: MemoryNode;
let app: FastifyInstance;
const NOW = 1_700_000_300_000;

beforeEach(async () => {
  node = createMemoryNode();
  app = await createWebApp(node, { now: () => NOW });
});
afterEach(() => app.close());

const tally = (examined: number, would: number): WebCrawlerTally => ({
  examined: {
    buckets: examined,
    shares: examined,
    bytes: examined * 1000,
    immutableShares: examined,
    mutableShares: 0,
  },
  wouldRemove: {
    buckets: would,
    shares: would,
    bytes: would * 1000,
    immutableShares: would,
    mutableShares: 0,
  },
  removed: { buckets: 0, shares: 0, bytes: 0, immutableShares: 0, mutableShares: 0 },
  corrupt: {
    count: 1,
    list: [{ storageIndex: "abcdefghijklmnopqrstuvwxyz", shareNumber: 4, problem: "<bad> header" }],
  },
  leasesPerShare: { "1": examined },
});

describe("the welcome page's lease expiry report", () => {
  it("shows, with expiry off, the cycle's progress and what expiry would remove, in HTML and JSON", async () => {
    node.state.storage = {
      enabled: true,
      report: {
        corruptShares: { count: 0, records: [] },
        corruptionAdvisories: { count: 0, bytes: 0, refused: 0, recent: [] },
        leaseCrawler: {
          policy: {
            enabled: false,
            mode: "age",
            overrideLeaseDurationSeconds: 60 * 86400,
            immutable: true,
            mutable: true,
          },
          state: "crawling",
          cycle: 2,
          cycleStartedAt: NOW - 60_000,
          progress: 0.25,
          cycleToDate: tally(10, 4),
          history: [
            { cycle: 1, startedAt: NOW - 86_400_000, finishedAt: NOW - 86_000_000, tally: tally(40, 5) },
          ],
        },
      },
    };
    const page = (await app.inject({ url: "/" })).body;
    expect(page).toContain("Lease expiry is off");
    expect(page).toContain(
      "leases expire 60 days after their last renewal; expiry applies to immutable and mutable shares",
    );
    expect(page).toContain("Cycle 2: 25.0% done, started 1 minute ago.");
    expect(page).toContain("<th>Would remove</th><td>4</td>");
    expect(page).toContain("Last cycle (1)");
    expect(page).toContain("(&lt;bad&gt; header)");
    const json = (await app.inject({ url: "/?t=json" })).json() as { storage: { lease_checker: unknown } };
    expect(json.storage.lease_checker).toMatchObject({
      expiration_enabled: false,
      mode: "age",
      override_lease_duration: 60 * 86400,
      cutoff_date: null,
      state: "crawling",
      cycle: 2,
      progress: 0.25,
      cycle_to_date: {
        examined: { buckets: 10, shares: 10, bytes: 10_000 },
        would_remove: { buckets: 4, shares: 4, bytes: 4000 },
        removed: { shares: 0 },
        corrupt_shares: { count: 1 },
        leases_per_share_histogram: { "1": 10 },
      },
      history: [{ cycle: 1, started: (NOW - 86_400_000) / 1000, would_remove: { shares: 5 } }],
    });
  });
});

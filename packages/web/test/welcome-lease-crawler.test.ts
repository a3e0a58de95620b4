import type { FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import type { WebCrawlerTally, WebLeaseCrawler, WebSpaceRecovered } from "../src/storage-upkeep-view.js";
import { useMemoryApp } from "./memory-app.js";
import type { MemoryNode } from "./memory-node.js";

let node: MemoryNode;
let app: FastifyInstance;
const NOW = 1_700_000_300_000;

useMemoryApp((fresh) => ({ node, app } = fresh), { now: () => NOW });

const counts = (n: number, bytes = 1000) => ({
  buckets: n,
  shares: n,
  sharebytes: n * bytes,
  diskbytes: n * 4096,
});
const none = counts(0);

/** `examined` immutable shares, of which `would` go under expire.* and `original` under 31-day leases. */
const space = (examined: number, would: number, original: number): WebSpaceRecovered => ({
  examined: { all: counts(examined), mutable: none, immutable: counts(examined) },
  original: { all: counts(original), mutable: none, immutable: counts(original) },
  configured: { all: counts(would), mutable: none, immutable: counts(would) },
  actual: { all: none, mutable: none, immutable: none },
});

const tally = (examined: number, would: number): WebCrawlerTally => ({
  space: space(examined, would, 1),
  corrupt: {
    count: 1,
    list: [{ storageIndex: "abcdefghijklmnopqrstuvwxyz", shareNumber: 4, problem: "<bad> header" }],
  },
  leasesPerShare: { "1": examined },
  leaseAgeDays: { "3": examined - 1, "3650": 1 },
});

/** A storage report with nothing corrupt and this lease crawler. */
const withLeaseCrawler = (leaseCrawler: WebLeaseCrawler) => ({
  enabled: true,
  report: {
    corruptShares: { count: 0, records: [] },
    corruptionAdvisories: { count: 0, bytes: 0, refused: 0, recent: [] },
    leaseCrawler,
  },
});

describe("the welcome page's lease expiry report", () => {
  it("shows, with expiry off, the cycle's progress and what expiry would remove, in HTML and JSON", async () => {
    node.state.storage = withLeaseCrawler({
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
      // A quarter of the cycle done: Tahoe's estimates are so far x 3 (remaining) and x 4 (whole).
      estimatedRemaining: space(30, 12, 3),
      estimatedCycle: space(40, 16, 4),
      history: [{ cycle: 1, startedAt: NOW - 86_400_000, finishedAt: NOW - 86_000_000, tally: tally(40, 5) }],
    });
    const page = (await app.inject({ url: "/" })).body;
    expect(page).toContain("Lease expiry is off");
    expect(page).toContain(
      "leases expire 60 days after their last renewal; expiry applies to immutable and mutable shares",
    );
    expect(page).toContain("Cycle 2: 25.0% done, started 1 minute ago.");
    // Tahoe's words (web/storage.py), with its format_recovered.
    expect(page).toContain(
      "So far, this cycle has examined 10 shares in 10 buckets (0 mutable / 10 immutable) (0 B / 40.96 kB)",
    );
    expect(page).toContain(
      "and has recovered: 0 shares, 0 buckets (0 mutable / 0 immutable), 0 B (0 B / 0 B)",
    );
    expect(page).toContain(
      "If expiration were enabled, we would have recovered: 4 shares, 4 buckets (0 mutable / 4 immutable), 16.38 kB (0 B / 16.38 kB) by now",
    );
    expect(page).toContain("and the whole cycle would probably recover: 16 shares, 16 buckets");
    expect(page).toContain("this cycle would be expected to recover: 4 shares, 4 buckets");
    expect(page).toContain("Leases by days since their last renewal: 3: 9, 3650+: 1");
    expect(page).toContain("Last cycle (1)");
    expect(page).toContain(
      "Last complete cycle (which took 6 minutes and finished 23 hours ago) recovered: 0 shares",
    );
    expect(page).toContain(
      "but expiration was not enabled. If it had been, it would have recovered: 5 shares",
    );
    expect(page).toContain("(&lt;bad&gt; header)");
    const json = (await app.inject({ url: "/?t=json" })).json() as {
      storage: { lease_checker: Record<string, unknown> };
    };
    const lc = json.storage.lease_checker;
    expect(lc).toMatchObject({
      expiration_enabled: false,
      mode: "age",
      override_lease_duration: 60 * 86400,
      cutoff_date: null,
      state: "crawling",
      cycle: 2,
      progress: 0.25,
      "cycle-to-date": {
        "expiration-enabled": false,
        "configured-expiration-mode": ["age", 60 * 86400, null, ["immutable", "mutable"]],
        "lease-age-histogram": [
          [3 * 86400, 4 * 86400, 9],
          [3650 * 86400, null, 1],
        ],
        "leases-per-share-histogram": { "1": 10 },
        "corrupt-shares": [["abcdefghijklmnopqrstuvwxyz", 4]],
        "corrupt-shares-count": 1,
        "space-recovered": {
          "examined-buckets": 10,
          "examined-shares-immutable": 10,
          "examined-sharebytes": 10_000,
          "examined-diskbytes-mutable": 0,
          "configured-shares": 4,
          "original-buckets-immutable": 1,
          "actual-diskbytes": 0,
        },
      },
      "estimated-remaining-cycle": { "space-recovered": { "configured-shares": 12, "examined-buckets": 30 } },
      "estimated-current-cycle": { "space-recovered": { "configured-shares": 16, "original-shares": 4 } },
      history: {
        "1": {
          "cycle-start-finish-times": [(NOW - 86_400_000) / 1000, (NOW - 86_000_000) / 1000],
          "space-recovered": { "configured-shares": 5, "examined-shares": 40 },
        },
      },
    });
    // Every one of Tahoe's 4 x 4 x 3 space-recovered keys is there.
    const sr = (lc["cycle-to-date"] as { "space-recovered": Record<string, unknown> })["space-recovered"];
    expect(Object.keys(sr)).toHaveLength(48);
  });

  it("between cycles shows no cycle-to-date and no estimates, as Tahoe", async () => {
    node.state.storage = withLeaseCrawler({
      policy: {
        enabled: true,
        mode: "cutoff-date",
        cutoffDateSeconds: 1_600_000_000,
        immutable: true,
        mutable: false,
      },
      state: "waiting",
      cycle: 1,
      progress: 0,
      cycleToDate: tally(0, 0),
      nextCycleAt: NOW + 3_600_000,
      history: [{ cycle: 1, startedAt: NOW - 120_000, finishedAt: NOW - 60_000, tally: tally(3, 2) }],
    });
    const page = (await app.inject({ url: "/" })).body;
    expect(page).not.toContain("Current cycle:");
    expect(page).toContain("Last complete cycle (which took 1 minute and finished 1 minute ago) recovered:");
    expect(page).not.toContain("but expiration was not enabled");
    const json = (await app.inject({ url: "/?t=json" })).json() as {
      storage: { lease_checker: Record<string, unknown> };
    };
    expect(json.storage.lease_checker).not.toHaveProperty("cycle-to-date");
    expect(json.storage.lease_checker).not.toHaveProperty("estimated-current-cycle");
    expect(json.storage.lease_checker).toMatchObject({
      sharetypes: ["immutable"],
      history: {
        "1": {
          "expiration-enabled": true,
          "configured-expiration-mode": ["cutoff-date", null, 1_600_000_000, ["immutable"]],
        },
      },
    });
  });
});

import { afterEach, describe, expect, it } from "vitest";
import type { LeaseExpiryPolicy, SpaceRecovered } from "../src/index.js";
import { gbs } from "./gbs-requests.js";
import { startTestServer, type TestServer } from "./helpers.js";
import {
  addLease,
  crawler,
  cycleDone,
  DAY_MS,
  immutableShare,
  mutableShare,
  QUICK,
  storageIndex,
} from "./lease-crawl-support.js";

const running: TestServer[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.close();
});

/** A server whose crawler waits until the test's shares are placed (it is restarted to crawl). */
async function idleServer(): Promise<TestServer> {
  const t = await startTestServer({ leaseCrawler: { ...QUICK, startDelayMs: 3_600_000 } });
  running.push(t);
  return t;
}

const TEN_DAYS: LeaseExpiryPolicy = {
  enabled: false,
  mode: "age",
  overrideLeaseDurationSeconds: 10 * 86400,
  immutable: true,
  mutable: true,
};

describe("the lease crawler's report, in Tahoe's categories (storage/expirer.py)", () => {
  it("counts examined, original, configured and actual shares, buckets and bytes, and the lease ages", async () => {
    const t = await idleServer();
    const g = gbs(t);
    // A: one lease, 40 days old at the crawl. B (mutable): 20 days. C: leases of 40 and 5 days.
    await immutableShare(g, storageIndex(1), 0, 2000);
    await immutableShare(g, storageIndex(3), 0, 700);
    t.clock.now += 20 * DAY_MS;
    await mutableShare(g, storageIndex(2), 0);
    t.clock.now += 15 * DAY_MS;
    expect(await addLease(t, storageIndex(3), Buffer.alloc(32, 0x77))).toBe(204);
    t.clock.now += 5 * DAY_MS;
    await t.restart({ leaseCrawler: QUICK, expiry: TEN_DAYS });
    const done = await cycleDone(t, 1);
    const { examined, original, configured, actual } = done.tally.space;

    expect(examined.all).toMatchObject({ buckets: 3, shares: 3 });
    expect(examined.immutable).toMatchObject({ buckets: 2, shares: 2 });
    expect(examined.mutable).toMatchObject({ buckets: 1, shares: 1 });
    expect(examined.immutable.sharebytes).toBeGreaterThan(2700);
    expect(examined.all.sharebytes).toBe(examined.immutable.sharebytes + examined.mutable.sharebytes);
    expect(examined.all.diskbytes).toBe(examined.immutable.diskbytes + examined.mutable.diskbytes);
    // Original: only A is past its own 31 days (C has a lease 5 days old, B is 20 days old).
    expect(original.all).toMatchObject({ buckets: 1, shares: 1 });
    expect(original.immutable.shares).toBe(1);
    expect(original.all.sharebytes).toBeGreaterThan(2000);
    // Configured (10 days): A and B; C keeps its new lease. Actual: nothing, expiry is off.
    expect(configured.all).toMatchObject({ buckets: 2, shares: 2 });
    expect(configured.immutable.shares).toBe(1);
    expect(configured.mutable.shares).toBe(1);
    expect(actual.all).toEqual({ buckets: 0, shares: 0, sharebytes: 0, diskbytes: 0 });
    expect(done.tally.leasesPerShare).toEqual({ "1": 2, "2": 1 });
    expect(done.tally.leaseAgeDays).toEqual({ "5": 1, "20": 1, "40": 2 });
  });

  it("while a cycle runs: estimated-remaining and estimated-current-cycle scale the cycle so far", async () => {
    const t = await idleServer();
    const g = gbs(t);
    for (let n = 0; n < 40; n++) await immutableShare(g, storageIndex(n * 7), 0);
    t.clock.now += 40 * DAY_MS;
    await t.restart({ leaseCrawler: { ...QUICK, opsPerSlice: 24, minSleepMs: 30 }, expiry: TEN_DAYS });
    let checked = 0;
    while (crawler(t).history.length === 0) {
      const s = crawler(t);
      if (s.state === "crawling" && s.progress > 0 && s.progress < 1) {
        expect(s.estimatedCycle).toBeDefined();
        const soFar: SpaceRecovered = s.cycleToDate.space;
        const whole = s.estimatedCycle!;
        const rest = s.estimatedRemaining!;
        for (const c of ["examined", "original", "configured", "actual"] as const) {
          for (const k of ["all", "mutable", "immutable"] as const) {
            for (const m of ["buckets", "shares", "sharebytes", "diskbytes"] as const) {
              expect(whole[c][k][m]).toBeCloseTo(soFar[c][k][m] / s.progress, 6);
              expect(rest[c][k][m]).toBeCloseTo(whole[c][k][m] - soFar[c][k][m], 6);
            }
          }
        }
        checked++;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(checked).toBeGreaterThan(0);
    // Between cycles there is nothing to estimate, as in Tahoe.
    const after = crawler(t);
    expect(after.state).toBe("waiting");
    expect(after.estimatedCycle).toBeUndefined();
    expect(after.history[0]!.tally.space.examined.all.shares).toBe(40);
  }, 60_000);
});

import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { recordingLogger } from "@lafs/interface";
import { afterEach, describe, expect, it } from "vitest";
import {
  CRAWLER_STATE_FILE,
  type LeaseExpiryPolicy,
  type ShareTally,
  type StorageServerOptions,
} from "../src/index.js";
import { bucketDir, sharePath } from "../src/paths.js";
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

/** One category's totals in the words these tests were written in. */
const counts = (t: ShareTally) => ({
  buckets: t.all.buckets,
  shares: t.all.shares,
  bytes: t.all.sharebytes,
  immutableShares: t.immutable.shares,
  mutableShares: t.mutable.shares,
});

const AGE: LeaseExpiryPolicy = { enabled: true, mode: "age", immutable: true, mutable: true };
const running: TestServer[] = [];

/** A server whose crawler waits (start delay) until the test has placed its shares, then is restarted to crawl. */
async function serverWith(overrides: Partial<StorageServerOptions> = {}): Promise<TestServer> {
  const t = await startTestServer({ leaseCrawler: { ...QUICK, startDelayMs: 3_600_000 }, ...overrides });
  running.push(t);
  return t;
}

/** Restarts `t` with a crawler that starts at once, `days` later on the test clock. */
async function crawlAfter(t: TestServer, days: number, overrides: Partial<StorageServerOptions>) {
  t.clock.now += days * DAY_MS;
  await t.restart({ leaseCrawler: QUICK, ...overrides });
  return cycleDone(t, 1);
}

afterEach(async () => {
  for (const t of running.splice(0)) await t.close();
});

const sharesOf = async (t: TestServer, si: string) =>
  readdir(bucketDir(join(t.storageDir, "shares"), si)).catch(() => [] as string[]);

describe("lease expiry, age mode", () => {
  it("removes immutable and mutable shares whose only lease is past 31 days, and their bucket directories", async () => {
    const t = await serverWith();
    const g = gbs(t);
    await immutableShare(g, storageIndex(1), 0, 1000);
    await mutableShare(g, storageIndex(2), 3);
    t.clock.now += 20 * DAY_MS;
    await immutableShare(g, storageIndex(3), 1);
    const done = await crawlAfter(t, 12, { expiry: AGE });
    expect(counts(done.tally.space.examined)).toMatchObject({
      buckets: 3,
      shares: 3,
      immutableShares: 2,
      mutableShares: 1,
    });
    expect(counts(done.tally.space.actual)).toMatchObject({
      buckets: 2,
      shares: 2,
      immutableShares: 1,
      mutableShares: 1,
    });
    expect(counts(done.tally.space.actual).bytes).toBeGreaterThan(1000);
    expect(await sharesOf(t, storageIndex(1))).toEqual([]);
    await expect(readdir(bucketDir(join(t.storageDir, "shares"), storageIndex(2)))).rejects.toThrow(/ENOENT/);
    expect(await sharesOf(t, storageIndex(3))).toEqual(["1"]);
    expect(await g.list(storageIndex(1), "immutable")).toEqual([]);
    expect((await g.read(storageIndex(3), "immutable", 1)).status).toBe(200);
  });

  it("uses expire.override_lease_duration in place of the lease's 31 days", async () => {
    const t = await serverWith();
    const g = gbs(t);
    await immutableShare(g, storageIndex(1), 0);
    t.clock.now += 6 * DAY_MS;
    await immutableShare(g, storageIndex(2), 0);
    const done = await crawlAfter(t, 5, { expiry: { ...AGE, overrideLeaseDurationSeconds: 10 * 86400 } });
    expect(counts(done.tally.space.actual).shares).toBe(1);
    expect(await sharesOf(t, storageIndex(1))).toEqual([]);
    expect(await sharesOf(t, storageIndex(2))).toEqual(["0"]);
  });

  it("with expire.enabled = false removes nothing and reports what it would remove", async () => {
    const t = await serverWith();
    const g = gbs(t);
    await immutableShare(g, storageIndex(1), 0, 500);
    await immutableShare(g, storageIndex(1), 1, 500);
    await mutableShare(g, storageIndex(2), 0);
    const done = await crawlAfter(t, 40, { expiry: { ...AGE, enabled: false } });
    expect(counts(done.tally.space.configured)).toMatchObject({
      buckets: 2,
      shares: 3,
      immutableShares: 2,
      mutableShares: 1,
    });
    expect(counts(done.tally.space.actual)).toMatchObject({ buckets: 0, shares: 0, bytes: 0 });
    expect(done.tally.leasesPerShare).toEqual({ "1": 3 });
    expect(await sharesOf(t, storageIndex(1))).toEqual(["0", "1"]);
    expect(await sharesOf(t, storageIndex(2))).toEqual(["0"]);
  });

  it("expire.immutable = false keeps immutable shares; expire.mutable = false keeps mutable ones", async () => {
    const t = await serverWith();
    const g = gbs(t);
    await immutableShare(g, storageIndex(1), 0);
    await mutableShare(g, storageIndex(2), 0);
    let done = await crawlAfter(t, 40, { expiry: { ...AGE, immutable: false } });
    expect(counts(done.tally.space.actual)).toMatchObject({
      shares: 1,
      mutableShares: 1,
      immutableShares: 0,
    });
    expect(counts(done.tally.space.configured)).toMatchObject({ shares: 1, mutableShares: 1 });
    expect(await sharesOf(t, storageIndex(1))).toEqual(["0"]);
    expect(await sharesOf(t, storageIndex(2))).toEqual([]);

    await mutableShare(g, storageIndex(4), 0);
    t.clock.now += 40 * DAY_MS;
    await t.restart({ leaseCrawler: QUICK, expiry: { ...AGE, mutable: false } });
    done = await cycleDone(t, 2);
    expect(counts(done.tally.space.actual)).toMatchObject({
      shares: 1,
      immutableShares: 1,
      mutableShares: 0,
    });
    expect(await sharesOf(t, storageIndex(1))).toEqual([]);
    expect(await sharesOf(t, storageIndex(4))).toEqual(["0"]);
  });
});

describe("lease expiry, cutoff-date mode", () => {
  it("removes shares whose leases were all last renewed before the cutoff date", async () => {
    const t = await serverWith();
    const g = gbs(t);
    await immutableShare(g, storageIndex(1), 0);
    await mutableShare(g, storageIndex(2), 0);
    const cutoff = Math.floor((t.clock.now + DAY_MS) / 1000);
    t.clock.now += 2 * DAY_MS;
    await immutableShare(g, storageIndex(3), 0);
    await mutableShare(g, storageIndex(4), 0);
    // Only the renewal time counts: 100 days on, the shares leased after the cutoff stay.
    const done = await crawlAfter(t, 100, {
      expiry: { ...AGE, mode: "cutoff-date", cutoffDateSeconds: cutoff },
    });
    expect(counts(done.tally.space.actual)).toMatchObject({
      buckets: 2,
      shares: 2,
      immutableShares: 1,
      mutableShares: 1,
    });
    expect(await sharesOf(t, storageIndex(1))).toEqual([]);
    expect(await sharesOf(t, storageIndex(2))).toEqual([]);
    expect(await sharesOf(t, storageIndex(3))).toEqual(["0"]);
    expect(await sharesOf(t, storageIndex(4))).toEqual(["0"]);
  });
});

describe("lease renewal keeps shares alive", () => {
  it("keeps a share with one expired and one live lease (PUT /lease), and removes its neighbour with only the expired one", async () => {
    const t = await serverWith();
    const g = gbs(t);
    await immutableShare(g, storageIndex(1), 0);
    await immutableShare(g, storageIndex(2), 0);
    await mutableShare(g, storageIndex(3), 0);
    t.clock.now += 25 * DAY_MS;
    // A second lease (another renew secret) on 1 and 3; 2 gets none.
    expect(await addLease(t, storageIndex(1), Buffer.alloc(32, 0x55))).toBe(204);
    expect(await addLease(t, storageIndex(3), Buffer.alloc(32, 0x55))).toBe(204);
    const done = await crawlAfter(t, 10, { expiry: AGE });
    expect(done.tally.leasesPerShare).toEqual({ "1": 1, "2": 2 });
    expect(counts(done.tally.space.actual)).toMatchObject({ shares: 1, immutableShares: 1 });
    expect(await sharesOf(t, storageIndex(1))).toEqual(["0"]);
    expect(await sharesOf(t, storageIndex(2))).toEqual([]);
    expect(await sharesOf(t, storageIndex(3))).toEqual(["0"]);
  });

  it("renewing the same lease (same secret) moves its expiry on", async () => {
    const t = await serverWith();
    const g = gbs(t);
    await immutableShare(g, storageIndex(1), 0);
    t.clock.now += 30 * DAY_MS;
    expect(await addLease(t, storageIndex(1))).toBe(204);
    const done = await crawlAfter(t, 30, { expiry: AGE });
    expect(done.tally.leasesPerShare).toEqual({ "1": 1 });
    expect(counts(done.tally.space.actual).shares).toBe(0);
    expect(await sharesOf(t, storageIndex(1))).toEqual(["0"]);
  });
});

describe("the crawler", () => {
  it("resumes a cycle from its saved position after a restart, counting each bucket once", async () => {
    const t = await serverWith();
    const g = gbs(t);
    const buckets = 24;
    await immutableShare(g, storageIndex(0), 0);
    const first = sharePath(join(t.storageDir, "shares"), storageIndex(0), 0);
    for (let n = 1; n < buckets; n++) {
      const path = sharePath(join(t.storageDir, "shares"), storageIndex(n), 0);
      await mkdir(join(path, ".."), { recursive: true });
      await copyFile(first, path);
    }
    const recorded = recordingLogger();
    const slow = { ...QUICK, opsPerSlice: 40, minSleepMs: 150 };
    t.clock.now += 40 * DAY_MS;
    await t.restart({ leaseCrawler: slow, expiry: AGE, logger: recorded.logger });
    const statePath = join(t.storageDir, CRAWLER_STATE_FILE);
    let saved: {
      cycle: number;
      cycleStartedAt: number;
      prefixIndex: number;
      tally: { space: { examined: { all: { buckets: number } } } };
    };
    for (;;) {
      await new Promise((r) => setTimeout(r, 20));
      const text = await readFile(statePath, "utf8").catch(() => "");
      if (text === "") continue;
      saved = JSON.parse(text);
      if (saved.tally.space.examined.all.buckets >= 3) break;
    }
    await t.restart({ leaseCrawler: QUICK, expiry: AGE, logger: recorded.logger });
    const atStop = JSON.parse(await readFile(statePath, "utf8"));
    expect(atStop.cycle).toBe(1);
    expect(counts(atStop.tally.space.examined).buckets).toBeLessThan(buckets);
    const done = await cycleDone(t, 1);
    expect(done.startedAt).toBe(saved.cycleStartedAt);
    expect(counts(done.tally.space.examined).buckets).toBe(buckets);
    expect(counts(done.tally.space.actual).buckets).toBe(buckets);
    expect(crawler(t).history).toHaveLength(1);
    expect(recorded.lines.some((l) => l.msg.includes("resuming the cycle"))).toBe(true);
    expect(recorded.lines.some((l) => l.msg.includes("removed 24 of 24 shares"))).toBe(true);
  });

  it("works in bounded slices with sleeps between, and requests are answered while it runs", async () => {
    const t = await serverWith();
    const g = gbs(t);
    const buckets = 100;
    await immutableShare(g, storageIndex(0), 0);
    const first = sharePath(join(t.storageDir, "shares"), storageIndex(0), 0);
    for (let n = 1; n < buckets; n++) {
      const path = sharePath(join(t.storageDir, "shares"), storageIndex(n), 0);
      await mkdir(join(path, ".."), { recursive: true });
      await copyFile(first, path);
    }
    await t.restart({ leaseCrawler: { ...QUICK, opsPerSlice: 32, minSleepMs: 20 }, expiry: AGE });
    let answeredMidCycle = 0;
    while (crawler(t).history.length === 0) {
      const before = crawler(t);
      expect((await g.version())["available-space"]).toBeGreaterThan(0);
      const after = crawler(t);
      if (before.state === "crawling" && after.progress > 0 && after.progress < 1 && after.cycle === 1) {
        answeredMidCycle++;
      }
    }
    expect(answeredMidCycle).toBeGreaterThan(5);
    const s = crawler(t);
    // 1024 directory reads and 100 shares, at most 32 (plus the bucket begun last) per slice.
    expect(s.largestSliceOps).toBeLessThanOrEqual(33);
    expect(s.slices).toBeGreaterThanOrEqual(Math.floor((1024 + buckets) / 33));
    expect(counts(s.history[0]!.tally.space.examined).shares).toBe(buckets);
  }, 60_000);

  it("leaves shares with damaged lease records alone, lists them, and carries on", async () => {
    const t = await serverWith();
    const g = gbs(t);
    await immutableShare(g, storageIndex(1), 0);
    await mutableShare(g, storageIndex(2), 0);
    await immutableShare(g, storageIndex(3), 0);
    const shares = join(t.storageDir, "shares");
    // Immutable: a lease count of 1000 leases that cannot fit in the file.
    const immutablePath = sharePath(shares, storageIndex(1), 0);
    const immutableBytes = await readFile(immutablePath);
    immutableBytes.writeUInt32BE(1000, 8);
    await writeFile(immutablePath, immutableBytes);
    // Mutable: an extra-lease count of 2^32-1.
    const mutablePath = sharePath(shares, storageIndex(2), 0);
    const mutableBytes = await readFile(mutablePath);
    const extraOffset = Number(mutableBytes.readBigUInt64BE(92));
    mutableBytes.writeUInt32BE(0xffffffff, extraOffset);
    await writeFile(mutablePath, mutableBytes);
    const done = await crawlAfter(t, 40, { expiry: AGE });
    expect(done.tally.corrupt.count).toBe(2);
    expect(done.tally.corrupt.list.map((c) => c.storageIndex).sort()).toEqual([
      storageIndex(1),
      storageIndex(2),
    ]);
    expect(counts(done.tally.space.actual).shares).toBe(1);
    expect(await readFile(immutablePath)).toEqual(immutableBytes);
    expect(await readFile(mutablePath)).toEqual(mutableBytes);
    expect(await sharesOf(t, storageIndex(3))).toEqual([]);
    expect(
      t.server
        .status()
        .corruptShares.records.map((r) => r.path)
        .sort(),
    ).toEqual([immutablePath, mutablePath].sort());
  });

  it("starts a fresh cycle when its state file is damaged", async () => {
    const t = await serverWith();
    await immutableShare(gbs(t), storageIndex(1), 0);
    await writeFile(join(t.storageDir, CRAWLER_STATE_FILE), '{"version":1,"cycle":"x"');
    const recorded = recordingLogger();
    const done = await crawlAfter(t, 1, { expiry: AGE, logger: recorded.logger });
    expect(counts(done.tally.space.examined).shares).toBe(1);
    expect(recorded.lines.some((l) => l.level === "warn" && l.msg.includes("state file not used"))).toBe(
      true,
    );
  });

  it("begins the next cycle once the cycle interval has passed on the server's clock", async () => {
    const t = await serverWith();
    await immutableShare(gbs(t), storageIndex(1), 0);
    await crawlAfter(t, 1, { expiry: AGE });
    expect(crawler(t).state).toBe("waiting");
    expect(crawler(t).nextCycleAt).toBeGreaterThan(t.clock.now);
    t.clock.now += 2 * 60 * 60_000;
    const second = await cycleDone(t, 2);
    expect(counts(second.tally.space.examined).shares).toBe(1);
  });
});

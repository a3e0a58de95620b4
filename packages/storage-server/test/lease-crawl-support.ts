import type { LeaseCrawlerPacing, LeaseCrawlerStatus } from "../src/index.js";
import { renew as defaultRenew, type Gbs } from "./gbs-requests.js";
import { secretHeader, type TestServer } from "./helpers.js";

export const DAY_MS = 24 * 60 * 60_000;

/** Quick pacing for tests: no start delay, short slices and sleeps, a cycle at most every hour (test clock). */
export const QUICK: LeaseCrawlerPacing = {
  startDelayMs: 0,
  sliceMs: 50,
  opsPerSlice: 64,
  busyFraction: 0.5,
  minSleepMs: 1,
  cycleIntervalMs: 60 * 60_000,
};

/** Storage indexes spread over several prefix directories. */
export function storageIndex(n: number): string {
  const a = "abcdefghijklmnopqrstuvwxyz234567";
  return `${a[n % 32]}${a[Math.floor(n / 32) % 32]}${"a".repeat(24)}`;
}

export function crawler(t: TestServer): LeaseCrawlerStatus {
  const status = t.server.status().leaseCrawler;
  if (status === undefined) throw new Error("the server reports no lease crawler");
  return status;
}

/** Waits (real time) until the crawler has finished cycle `cycle`, and returns that cycle. */
export async function cycleDone(t: TestServer, cycle: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = crawler(t);
    const done = s.history.find((h) => h.cycle === cycle);
    if (done) return done;
    if (Date.now() > deadline) throw new Error(`cycle ${cycle} not done: ${JSON.stringify(s).slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A complete immutable share of `size` bytes, leased with the default secrets at the test clock's time. */
export async function immutableShare(g: Gbs, si: string, shnum: number, size = 100): Promise<void> {
  const upload = Buffer.alloc(20, shnum + 10);
  const allocated = await g.allocated(await g.allocate(si, [shnum], size, upload));
  if (!allocated.includes(shnum)) throw new Error(`share ${shnum} of ${si} not allocated`);
  const r = await g.patch(si, shnum, 0, Buffer.alloc(size, 0x61), upload);
  if (r.status !== 201) throw new Error(`PATCH answered ${r.status}`);
}

export async function mutableShare(g: Gbs, si: string, shnum: number): Promise<void> {
  const r = g.rtwReply(await g.rtw(si, { [shnum]: { write: [[0, Buffer.from("mutable data")]] } }));
  if (!r.success) throw new Error(`writing mutable ${si} failed`);
}

/** PUT /lease with its own renew secret: renews a lease with that secret or adds one. */
export async function addLease(t: TestServer, si: string, renew: Uint8Array = defaultRenew): Promise<number> {
  const r = await t.request("PUT", `/storage/v1/lease/${si}`, {
    headers: {
      "X-Tahoe-Authorization": [
        secretHeader("lease-renew-secret", renew),
        secretHeader("lease-cancel-secret", Buffer.alloc(32, 9)),
      ],
    },
  });
  return r.status;
}

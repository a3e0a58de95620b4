import { statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { createByteBudget } from "../src/byte-budget.js";
import { LIMITS } from "../src/index.js";
import { type Gbs, gbs, serverPerTest } from "./gbs-requests.js";
import { startTestServer } from "./helpers.js";

// Issue 15, defect 2: read-test-write reads are cut at the data and capped per request, so
// no vector makes the server allocate what the slot's (sparse) length says. Memory figures
// are in tools/bench/storage-hostile.ts, not here.
const SI = "f3nyoc3xbx6p7y6w2yyinjgrgi";
const HUGE = Number.MAX_SAFE_INTEGER;

describe("read-test-write on a sparse slot", () => {
  let g: Gbs;
  serverPerTest((_, requests) => {
    g = requests;
  });

  it("refuses a read vector over the per-request cap with 413 and serves one within it", async () => {
    expect(g.rtwReply(await g.rtw(SI, { 0: { write: [[1e9, Buffer.from("z")]] } })).success).toBe(true);
    const started = Date.now();
    const r = await g.rtw(SI, {}, [[0, HUGE]]);
    expect(r.status).toBe(413);
    expect(r.body.toString()).toContain(`at most ${LIMITS.readTestWriteReads} bytes are read back`);
    // The old server read the whole gigabyte first; the cap is checked before any read.
    expect(Date.now() - started).toBeLessThan(2000);
    const tail = g.rtwReply(await g.rtw(SI, {}, [[1e9 - 3, HUGE]]));
    expect(Buffer.from(tail.data.get(0)![0]!)).toEqual(Buffer.from([0, 0, 0, "z".charCodeAt(0)]));
    const atCap = g.rtwReply(await g.rtw(SI, {}, [[0, LIMITS.readTestWriteReads]]));
    expect(atCap.data.get(0)![0]!.length).toBe(LIMITS.readTestWriteReads);
  });

  it("tests a huge size by the specimen's length, and refuses a request whose reads are too big before writing", async () => {
    expect(g.rtwReply(await g.rtw(SI, { 0: { write: [[1e9, Buffer.from("z")]] } })).success).toBe(true);
    const miss = g.rtwReply(
      await g.rtw(SI, { 0: { test: [[0, HUGE, Buffer.from("abc")]], write: [[0, Buffer.from("no")]] } }),
    );
    expect(miss.success).toBe(false);
    const hit = g.rtwReply(await g.rtw(SI, { 0: { test: [[1e9, HUGE, Buffer.from("z")]] } }));
    expect(hit.success).toBe(true);
    const refused = await g.rtw(SI, { 0: { write: [[0, Buffer.from("no")]] } }, [[0, HUGE]]);
    expect(refused.status).toBe(413);
    const start = await g.read(SI, "mutable", 0, "bytes=0-1");
    expect(start.body).toEqual(Buffer.alloc(2));
  });

  it("answers reads of a slot over 4 GiB (the old server's RangeError was a 500)", async () => {
    const far = 4.5 * 1024 ** 3;
    expect(g.rtwReply(await g.rtw(SI, { 0: { write: [[far, Buffer.from("end")]] } })).success).toBe(true);
    expect((await g.rtw(SI, {}, [[0, HUGE]])).status).toBe(413);
    const tail = g.rtwReply(await g.rtw(SI, {}, [[far, HUGE]]));
    expect(Buffer.from(tail.data.get(0)![0]!).toString()).toBe("end");
    const ranged = await g.read(SI, "mutable", 0, `bytes=${far + 1}-${far + 100}`);
    expect(ranged.status).toBe(206);
    expect(ranged.body.toString()).toBe("nd");
  });
});

describe("the buffered-body budget", () => {
  it("makes a body wait until its bytes fit, in arrival order, and gives up after the wait limit", async () => {
    const budget = createByteBudget(100, 200);
    const first = await budget.acquire(60, "a");
    let secondGranted = false;
    const second = budget.acquire(60, "b").then((release) => {
      secondGranted = true;
      return release;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(secondGranted).toBe(false);
    expect(budget.held()).toBe(60);
    first();
    const releaseSecond = await second;
    expect(budget.held()).toBe(60);
    await expect(budget.acquire(50, "read-test-write on X")).rejects.toMatchObject({
      code: "TAHOE_ERR_STORAGE_SERVER_BUSY",
      status: 503,
    });
    releaseSecond();
    // A body larger than the whole budget takes all of it rather than waiting forever.
    const all = await budget.acquire(1000, "c");
    expect(budget.held()).toBe(100);
    all();
    expect(budget.held()).toBe(0);
  });
});

describe("a mutable write past the free space", () => {
  it("is refused as a full server (507 FULL), and nothing of the slot is created", async () => {
    const s = await statfs(tmpdir());
    // Every byte the file system has is reserved: no mutable slot may grow at all.
    const t = await startTestServer({ reservedSpace: Number(s.bavail) * Number(s.bsize) + 1024 ** 3 });
    try {
      const g = gbs(t);
      const r = await g.rtw(SI, { 0: { write: [[0, Buffer.alloc(1000, 1)]] } });
      expect(r.status).toBe(507);
      expect(r.headers["x-lafs-error-code"]).toBe("TAHOE_ERR_STORAGE_SERVER_FULL");
      expect(r.body.toString()).toContain(
        `storage server is full: could not write 1000 more bytes of mutable slot ${SI}`,
      );
      expect(await g.list(SI, "mutable")).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

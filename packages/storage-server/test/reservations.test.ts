import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { UNUSED_UPLOAD_TIMEOUT_MS, UPLOAD_IDLE_TIMEOUT_MS } from "../src/immutable-store.js";
import { type Gbs, serverPerTest } from "./gbs-requests.js";
import type { TestServer } from "./helpers.js";

// Issue 15, defect 13: one allocate (or one upload secret) cannot reserve all free space,
// /version's available-space subtracts reservations, and allocations nobody writes to are
// released after UNUSED_UPLOAD_TIMEOUT_MS instead of the 30-minute idle expiry.
const SI = "q2zxqdkwyqbpttyl6n6dldbnyi";
const SI2 = "gkn2bhbfoc44ohuyb5o7o4ovxy";

describe("space reserved by allocations", () => {
  let t: TestServer;
  let g: Gbs;
  serverPerTest((server, requests) => {
    t = server;
    g = requests;
  });
  // Other processes share the disk: compare free space to within 1% of it.
  const near = (actual: number, expected: number, free: number) =>
    expect(Math.abs(actual - expected)).toBeLessThan(free / 100);

  it("lets one request reserve at most half the free space, and /version says what is left", async () => {
    const free = (await g.version())["available-space"]!;
    expect(free).toBeGreaterThan(100 * 1024 * 1024);
    const size = Math.floor(free / 100);
    // 256 shares of 1% each: the old server reserved all of it with one request.
    const numbers = Array.from({ length: 256 }, (_, i) => i);
    const mine = await g.allocated(await g.allocate(SI, numbers, size, randomBytes(20)));
    expect(mine.length).toBeGreaterThan(45);
    expect(mine.length).toBeLessThanOrEqual(50);
    const v = await g.version();
    near(v["available-space"]!, free - mine.length * size, free);
    // A share is at most what a new upload secret may reserve: half of what is free.
    near(v["maximum-immutable-share-size"]!, (free - mine.length * size) / 2, free);
    // Another upload still gets space.
    expect(await g.allocated(await g.allocate(SI2, [0, 1], size, randomBytes(20)))).toEqual([0, 1]);
  });

  it("bounds one upload secret over many requests", async () => {
    const free = (await g.version())["available-space"]!;
    const size = Math.floor(free / 10);
    const secret = randomBytes(20);
    const got: number[] = [];
    for (let i = 0; i < 8; i++) got.push(...(await g.allocated(await g.allocate(SI, [i], size, secret))));
    // Half of the free space is 5 shares of a tenth; the margin covers the disk moving meanwhile.
    expect(got.length).toBeGreaterThanOrEqual(4);
    expect(got.length).toBeLessThanOrEqual(5);
  });

  it("releases allocations that receive no PATCH within the unused timeout, but not written ones", async () => {
    const free = (await g.version())["available-space"]!;
    const size = Math.floor(free / 10);
    const unused = randomBytes(20);
    const used = randomBytes(20);
    expect(await g.allocated(await g.allocate(SI, [0, 1], size, unused))).toEqual([0, 1]);
    expect(await g.allocated(await g.allocate(SI2, [0], size, used))).toEqual([0]);
    expect((await g.patch(SI2, 0, 0, randomBytes(1000), used)).status).toBe(200);
    near((await g.version())["available-space"]!, free - 3 * size + 1000, free);

    t.clock.now += UNUSED_UPLOAD_TIMEOUT_MS;
    // The unused reservations are gone; the written-to upload keeps the rest of its share.
    near((await g.version())["available-space"]!, free - size + 1000, free);
    const late = await g.patch(SI, 0, 0, randomBytes(10), unused);
    expect(late.status).toBe(404);
    expect((await g.patch(SI2, 0, 1000, randomBytes(1000), used)).status).toBe(200);
    // The same numbers can be allocated again.
    expect(await g.allocated(await g.allocate(SI, [0, 1], 10, randomBytes(20)))).toEqual([0, 1]);

    t.clock.now += UPLOAD_IDLE_TIMEOUT_MS;
    expect((await g.patch(SI2, 0, 2000, randomBytes(10), used)).status).toBe(404);
  });
});

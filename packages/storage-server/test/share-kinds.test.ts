import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Gbs, serverPerTest } from "./gbs-requests.js";
import type { TestServer } from "./helpers.js";

// Issue 15, defect 1: an immutable and a mutable share never replace, hide or corrupt each
// other; a collision is a 409 (TAHOE_ERR_STORAGE_SERVER_SHARE_KIND) that changes nothing.
const SI = "pkbbuz2vxmuwc7jxxqyhe5cmba";
const OTHER = "s5tkn7ztjdzdzaxiwhgcqyxj4a";

describe("immutable and mutable shares of one storage index", () => {
  let t: TestServer;
  let g: Gbs;
  serverPerTest((server, requests) => {
    t = server;
    g = requests;
  });
  const sharePath = (si: string, shnum: number) =>
    join(t.storageDir, "shares", si.slice(0, 2), si, String(shnum));

  it("refuses an immutable allocate of a number a mutable share holds, and the mutable share survives", async () => {
    expect(g.rtwReply(await g.rtw(SI, { 0: { write: [[0, Buffer.from("mutable data")]] } })).success).toBe(
      true,
    );
    const before = await readFile(sharePath(SI, 0));
    const r = await g.allocate(SI, [0, 1], 100, randomBytes(20));
    expect(r.status).toBe(409);
    const text = r.body.toString();
    expect(text).toContain(SI);
    expect(text).toContain("share 0");
    expect(text).toContain("a mutable share");
    // Nothing was allocated: share 1 neither, and no PATCH can reach the mutable share.
    expect((await g.patch(SI, 0, 0, randomBytes(100), randomBytes(20))).status).toBe(404);
    expect((await g.patch(SI, 1, 0, randomBytes(100), randomBytes(20))).status).toBe(404);
    expect(await readFile(sharePath(SI, 0))).toEqual(before);
    const m = await g.read(SI, "mutable", 0, "bytes=0-11");
    expect(m.status).toBe(206);
    expect(m.body.toString()).toBe("mutable data");
    expect(await g.list(SI, "mutable")).toEqual([0]);
    expect(await g.list(SI, "immutable")).toEqual([]);
    // A share number no mutable share holds is still allocated on the same storage index.
    expect(await g.allocated(await g.allocate(SI, [1, 2], 100, randomBytes(20)))).toEqual([1, 2]);
  });

  it("refuses a read-test-write testing or writing a complete immutable share's number, and writes nothing", async () => {
    const upload = randomBytes(20);
    const data = randomBytes(300);
    expect(await g.allocated(await g.allocate(SI, [0], data.length, upload))).toEqual([0]);
    expect((await g.patch(SI, 0, 0, data, upload)).status).toBe(201);
    const before = await readFile(sharePath(SI, 0));

    let r = await g.rtw(SI, { 0: { write: [[0, Buffer.from("x")]] } });
    expect(r.status).toBe(409);
    expect(r.body.toString()).toContain("an immutable share");
    // A write to a free number in the same request does not happen either.
    r = await g.rtw(SI, { 0: { test: [[0, 1, Buffer.alloc(0)]] }, 1: { write: [[0, Buffer.from("y")]] } });
    expect(r.status).toBe(409);
    expect(await g.list(SI, "mutable")).toEqual([]);
    expect(await readFile(sharePath(SI, 0))).toEqual(before);
    const back = await g.read(SI, "immutable", 0);
    expect(back.status).toBe(200);
    expect(back.body).toEqual(data);

    // Another number becomes a mutable share; each listing and read shows only its own kind.
    expect(g.rtwReply(await g.rtw(SI, { 1: { write: [[0, Buffer.from("y")]] } })).success).toBe(true);
    expect(await g.list(SI, "immutable")).toEqual([0]);
    expect(await g.list(SI, "mutable")).toEqual([1]);
    expect((await g.read(SI, "mutable", 0)).status).toBe(404);
    expect((await g.read(SI, "immutable", 1)).status).toBe(404);
  });

  it("refuses a read-test-write on the number of an immutable upload in progress, which then completes", async () => {
    const upload = randomBytes(20);
    const data = randomBytes(200);
    expect(await g.allocated(await g.allocate(SI, [3], data.length, upload))).toEqual([3]);
    expect((await g.patch(SI, 3, 0, data.subarray(0, 100), upload)).status).toBe(200);
    const r = await g.rtw(SI, { 3: { write: [[0, Buffer.from("mutable")]] } });
    expect(r.status).toBe(409);
    expect(r.body.toString()).toContain("being uploaded");
    expect((await g.patch(SI, 3, 100, data.subarray(100), upload)).status).toBe(201);
    expect((await g.read(SI, "immutable", 3)).body).toEqual(data);
    expect(await g.list(SI, "mutable")).toEqual([]);
  });

  it("never finalises an upload over a share file that appeared at its place meanwhile", async () => {
    // A real mutable share, made on another storage index and copied into place by hand.
    expect(g.rtwReply(await g.rtw(OTHER, { 0: { write: [[0, Buffer.from("keep me")]] } })).success).toBe(
      true,
    );
    const upload = randomBytes(20);
    const data = randomBytes(100);
    expect(await g.allocated(await g.allocate(SI, [0], data.length, upload))).toEqual([0]);
    expect((await g.patch(SI, 0, 0, data.subarray(0, 50), upload)).status).toBe(200);
    await mkdir(dirname(sharePath(SI, 0)), { recursive: true });
    await copyFile(sharePath(OTHER, 0), sharePath(SI, 0));
    const mutableBytes = await readFile(sharePath(SI, 0));

    const r = await g.patch(SI, 0, 50, data.subarray(50), upload);
    expect(r.status).toBe(409);
    expect(r.body.toString()).toContain("a mutable share");
    expect(await readFile(sharePath(SI, 0))).toEqual(mutableBytes);
    expect((await g.read(SI, "mutable", 0, "bytes=0-6")).body.toString()).toBe("keep me");
    expect(await g.list(SI, "immutable")).toEqual([]);
    // The upload was dropped with its partial file; nothing is left in incoming/.
    expect((await g.patch(SI, 0, 50, data.subarray(50), upload)).status).toBe(404);
  });
});

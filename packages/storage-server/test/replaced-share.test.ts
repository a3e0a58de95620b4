import { randomBytes } from "node:crypto";
import { rename, rm, truncate } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Gbs, serverPerTest } from "./gbs-requests.js";
import type { TestServer } from "./helpers.js";

// Issue 15, defect 11: a share file replaced on disk is never served from the handle the
// server keeps open between reads.
const SI = "hb6jq5kwk6ed3lyjrdgc2wwhxq";
const SI2 = "r4v7kh3ut4kgmcs5pl55uqlhre";

describe("a share file changed behind the server's back", () => {
  let t: TestServer;
  let g: Gbs;
  serverPerTest((server, requests) => {
    t = server;
    g = requests;
  });
  const sharePath = (si: string) => join(t.storageDir, "shares", si.slice(0, 2), si, "0");
  async function upload(si: string, data: Uint8Array) {
    const secret = randomBytes(20);
    expect(await g.allocated(await g.allocate(si, [0], data.length, secret))).toEqual([0]);
    expect((await g.patch(si, 0, 0, data, secret)).status).toBe(201);
  }

  it("serves the new file at once when a share is replaced, and 404 when it is removed", async () => {
    const first = randomBytes(500);
    const second = randomBytes(700);
    await upload(SI, first);
    await upload(SI2, second);
    expect((await g.read(SI, "immutable", 0)).body).toEqual(first);
    // The handle of SI's share is cached now; an operator moves another share in its place.
    await rename(sharePath(SI2), sharePath(SI));
    const after = await g.read(SI, "immutable", 0);
    expect(after.status).toBe(200);
    expect(after.body).toEqual(second);
    expect((await g.read(SI, "immutable", 0, "bytes=600-699")).body).toEqual(second.subarray(600));
    await rm(sharePath(SI));
    expect((await g.read(SI, "immutable", 0)).status).toBe(404);
  });

  it("notices a share cut short in place (same inode) and does not read past its new end", async () => {
    const data = randomBytes(1000);
    await upload(SI, data);
    expect((await g.read(SI, "immutable", 0)).body).toEqual(data);
    // 12-byte header, 400 bytes, and the 72-byte lease's place: the container now says 400 - 72.
    await truncate(sharePath(SI), 12 + 400);
    const r = await g.read(SI, "immutable", 0);
    expect(r.status).toBe(200);
    expect(r.body).toEqual(data.subarray(0, 400 - 72));
  });
});

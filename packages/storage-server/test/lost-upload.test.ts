import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Gbs, serverPerTest } from "./gbs-requests.js";
import type { TestServer } from "./helpers.js";

// An operator removes an upload's partial file (or the whole shares directory) while the
// upload runs: the PATCH that finds it gone gets one clear 404 naming the share, never a 500.
const SI = "hb6jq5kwk6ed3lyjrdgc2wwhxq";

describe("an upload whose partial file is removed under the server", () => {
  let t: TestServer;
  let g: Gbs;
  serverPerTest((server, requests) => {
    t = server;
    g = requests;
  });
  const incoming = () => join(t.storageDir, "shares", "incoming");
  const data = randomBytes(1000);

  async function startUpload(secret: Uint8Array) {
    expect(await g.allocated(await g.allocate(SI, [0, 1], data.length, secret))).toEqual([0, 1]);
    expect((await g.patch(SI, 0, 0, data.subarray(0, 500), secret)).status).toBe(200);
  }

  function expectLost(r: { status: number; body: Buffer }) {
    expect(r.status).toBe(404);
    const text = r.body.toString();
    expect(text).toContain(`share 0 of ${SI}`);
    expect(text).toContain("removed from the server's disk");
  }

  it("answers the PATCH that would complete the share with a 404 naming it, then allows a fresh upload", async () => {
    const secret = randomBytes(20);
    await startUpload(secret);
    await rm(join(incoming(), SI.slice(0, 2), SI, "0"));
    expectLost(await g.patch(SI, 0, 500, data.subarray(500), secret));
    // The upload is gone, its reservation too; share 1's upload goes on.
    expect((await g.patch(SI, 0, 500, data.subarray(500), secret)).status).toBe(404);
    expect((await g.patch(SI, 1, 0, data, secret)).status).toBe(201);
    expect(await g.list(SI, "immutable")).toEqual([1]);
    // Allocated again, share 0 is uploaded whole and served.
    expect(await g.allocated(await g.allocate(SI, [0], data.length, secret))).toEqual([0]);
    expect((await g.patch(SI, 0, 0, data, secret)).status).toBe(201);
    expect((await g.read(SI, "immutable", 0)).body).toEqual(data);
  });

  it("answers a 404 naming the share when the whole shares directory was removed", async () => {
    const secret = randomBytes(20);
    await startUpload(secret);
    await rm(join(t.storageDir, "shares"), { recursive: true, force: true });
    expectLost(await g.patch(SI, 0, 500, data.subarray(500), secret));
    const r = await g.patch(SI, 1, 0, data, secret);
    expect(r.status).toBe(404);
    expect(r.body.toString()).toContain(`share 1 of ${SI}`);
    // The server takes new uploads, and leaves no incoming directory behind them.
    expect(await g.allocated(await g.allocate(SI, [2], data.length, secret))).toEqual([2]);
    expect((await g.patch(SI, 2, 0, data, secret)).status).toBe(201);
    expect((await g.read(SI, "immutable", 2)).body).toEqual(data);
    expect(existsSync(join(incoming(), SI.slice(0, 2), SI))).toBe(false);
  });
});

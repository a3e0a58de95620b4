import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { ByteSource } from "@lafs/immutable";
import { afterEach, describe, expect, it } from "vitest";
import { uploadImmutable } from "../src/index.js";
import { rejectsWith } from "./helpers.js";
import { type Grid, startGrid, testBytes } from "./uploader-grid.js";

// A storage server whose operator removed an upload's partial file answers the PATCH with a
// 404 naming the share (its TAHOE_ERR_STORAGE_SERVER_UPLOAD_LOST); the client reports it so.
const SI = "i5nhq74zw2crkop634ra4hrvzm";

let grid: Grid | undefined;
afterEach(async () => {
  await grid?.close();
  grid = undefined;
});

describe("an upload whose partial file the server lost", () => {
  it("is NOT_FOUND naming the share and saying the server lost it", async () => {
    grid = await startGrid(1);
    const node = grid.nodes[0]!;
    const data = testBytes(2000, 5);
    const uploadSecret = new Uint8Array(20).fill(3);
    const allocated = await node.client.allocate(SI, {
      shareNumbers: [0],
      allocatedSize: data.length,
      uploadSecret,
      renewSecret: new Uint8Array(32).fill(1),
      cancelSecret: new Uint8Array(32).fill(2),
    });
    expect(allocated.allocated).toEqual([0]);
    expect((await node.client.write(SI, 0, 0, data.subarray(0, 1000), uploadSecret)).complete).toBe(false);
    await rm(join(node.storageDir, "shares", "incoming"), { recursive: true });
    const error = await rejectsWith(
      node.client.write(SI, 0, 1000, data.subarray(1000), uploadSecret),
      "TAHOE_ERR_STORAGE_CLIENT_NOT_FOUND",
    );
    expect(error.status).toBe(404);
    expect(error.message).toContain(`write immutable share ${SI}/0 at 1000: HTTP 404`);
    expect(error.message).toContain(`share 0 of ${SI}: the upload's partial file was removed`);
    expect(error.hint).toContain("the server lost");
    expect(existsSync(join(node.storageDir, "shares", SI.slice(0, 2), SI, "0"))).toBe(false);
    expect(await node.incoming()).toEqual([]);
  });
});

describe("an upload during which one server loses its partial share", () => {
  it("goes on on the other servers and names that server and what it said", async () => {
    grid = await startGrid(5);
    const lost = grid.nodes[0]!;
    const data = testBytes(6 * 1024 * 1024, 9);
    // Reads at offset 0 begin the convergence pass, then the encoding pass; a read further on
    // in the second pass finds the share's first PATCHes written, and its file is removed.
    let passes = 0;
    let removed: Promise<void> | undefined;
    const source: ByteSource = {
      size: data.length,
      name: "test bytes",
      read: async (offset, length) => {
        if (offset === 0) passes++;
        if (passes === 2 && offset >= 3 * 1024 * 1024 && removed === undefined) {
          removed = rm(join(lost.storageDir, "shares", "incoming"), { recursive: true, force: true });
          await removed;
        }
        return data.subarray(offset, Math.min(data.length, offset + length));
      },
    };
    const result = await uploadImmutable(source, {
      servers: grid.servers(),
      leaseSecret: new Uint8Array(32).fill(7),
      convergenceSecret: new Uint8Array(16).fill(8),
      k: 2,
      happy: 4,
      n: 5,
      // Small PATCHes, so the lost server still has several to answer after the removal.
      batchSize: 1_000_000,
    });
    expect(removed).toBeDefined();
    expect(result.happiness).toBe(4);
    expect(result.failedServers.map((f) => f.id)).toEqual([lost.id]);
    expect(result.failedServers[0]!.reason).toContain(
      "the upload's partial file was removed from the server's disk",
    );
    expect(await lost.incoming()).toEqual([]);
  });
});

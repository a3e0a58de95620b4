import { open } from "node:fs/promises";
import { bytesSource } from "@lafs/immutable";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDownloadError, openDownload, type UploadResult, uploadImmutable } from "../src/index.js";
import { errorOf } from "./helpers.js";
import { type Grid, startGrid, testBytes } from "./uploader-grid.js";

/**
 * What a download says when shares are bad or the cap was edited, on five real storage
 * servers (k=3, N=5): every share's fate is counted, and the UEB is checked against the cap
 * before openDownload returns.
 */

const leaseSecret = new Uint8Array(32).fill(3);
const convergenceSecret = new Uint8Array(16).fill(4);

let grid: Grid;
let data: Buffer;
let upload: UploadResult;

beforeAll(async () => {
  grid = await startGrid(5);
  data = testBytes(200_000, 41);
  upload = await uploadImmutable(bytesSource(data), {
    servers: grid.servers(),
    leaseSecret,
    convergenceSecret,
    k: 3,
    happy: 5,
    n: 5,
  });
});
afterAll(() => grid.close());

/** Flips a byte of block 0 in the share file; gives back a function that restores it. */
async function corruptBlock0(shareNumber: number): Promise<() => Promise<void>> {
  const node = grid.nodes.find((n) => upload.uploadedShares.get(n.id)?.includes(shareNumber))!;
  const path = node.sharePath(upload.storageIndex!, shareNumber);
  const at = 12 + 0x24 + 10;
  const handle = await open(path, "r+");
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, at);
  const original = byte[0]!;
  byte[0] = original ^ 0x01;
  await handle.write(byte, 0, 1, at);
  await handle.close();
  return async () => {
    const h = await open(path, "r+");
    await h.write(Buffer.from([original]), 0, 1, at);
    await h.close();
  };
}

describe("a download's account of its shares", () => {
  it("3 of 5 corrupt: not enough good shares, 2 good of the 3 needed, each bad one named", async () => {
    const restores = await Promise.all([0, 1, 2].map(corruptBlock0));
    try {
      const download = await openDownload(upload.cap, grid.servers());
      const error = await errorOf(download.readAll());
      expect(isDownloadError(error, "TAHOE_ERR_DOWNLOAD_NOT_ENOUGH_SHARES")).toBe(true);
      expect(error.message).toContain("not enough good shares of 200000-byte file");
      expect(error.message).toContain("found 5 share(s) on 5 server(s), 2 good, 3 corrupt, 3 needed");
      for (const sn of [0, 1, 2]) {
        expect(error.message).toMatch(
          new RegExp(`share ${sn} on 'server-\\d' \\(v0-[a-z2-7]{8}…\\): TAHOE_ERR_IMMUTABLE_BLOCK_HASH`),
        );
      }
      await download.settled();
      expect(
        download
          .corruptShares()
          .map((r) => r.shareNumber)
          .sort(),
      ).toEqual([0, 1, 2]);
    } finally {
      for (const restore of restores) await restore();
    }
  });

  it("2 of 5 corrupt: the right bytes from the other three", async () => {
    const restores = await Promise.all([0, 3].map(corruptBlock0));
    try {
      const download = await openDownload(upload.cap, grid.servers());
      expect((await download.readAll()).equals(data)).toBe(true);
    } finally {
      for (const restore of restores) await restore();
    }
  });

  it("a cap edited to size 0, or any other size, k or N, fails in openDownload", async () => {
    const [head, key, ueb, k, n, size] = ["URI:CHK", ...upload.cap.split(":").slice(2)] as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const edited = [
      `${head}:${key}:${ueb}:${k}:${n}:0`,
      `${head}:${key}:${ueb}:${k}:${n}:${Number(size) + 1}`,
      `${head}:${key}:${ueb}:${k}:${n}:${Number(size) - 1}`,
      `${head}:${key}:${ueb}:2:${n}:${size}`,
      `${head}:${key}:${ueb}:${k}:4:${size}`,
      `${head}:${key}:${ueb.slice(0, 10)}${ueb[10] === "a" ? "b" : "a"}${ueb.slice(11)}:${k}:${n}:${size}`,
    ];
    for (const cap of edited) {
      const error = await errorOf(openDownload(cap, grid.servers()));
      expect(isDownloadError(error, "TAHOE_ERR_DOWNLOAD_NOT_ENOUGH_SHARES"), `${cap}: ${error}`).toBe(true);
      expect(error.message).toMatch(/, 0 good, [45] corrupt, [23] needed/);
      expect((error as { hint?: string }).hint).toContain("the cap was probably edited or mistyped");
    }
  });
});

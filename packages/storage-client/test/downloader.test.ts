import { open, readFile } from "node:fs/promises";
import { base32Encode } from "@lafs/crypto";
import { bytesSource, formatChkVerifyCap, parseChkReadCap, verifyCapOf } from "@lafs/immutable";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GridServer,
  isDownloadError,
  openDownload,
  type StorageClient,
  type UploadResult,
  uploadImmutable,
} from "../src/index.js";
import { errorOf } from "./helpers.js";
import { type Grid, startGrid, testBytes } from "./uploader-grid.js";

const leaseSecret = new Uint8Array(32).fill(9);
const convergenceSecret = new Uint8Array(16).fill(6);

/** Wraps a client to count the share bytes it fetches. */
function counting(servers: GridServer[]) {
  const fetched = { bytes: 0, requests: 0 };
  const wrapped = servers.map((s) => {
    const client: StorageClient = {
      ...s.client,
      read: async (...args) => {
        const data = await s.client.read(...args);
        fetched.bytes += data.length;
        fetched.requests++;
        return data;
      },
    };
    return { ...s, client };
  });
  return { servers: wrapped, fetched };
}

describe("openDownload against 10 real storage servers", () => {
  let grid: Grid;
  let data: Buffer;
  let upload: UploadResult;

  beforeAll(async () => {
    grid = await startGrid(10);
    data = testBytes(1024 * 1024 + 1, 99);
    upload = await uploadImmutable(bytesSource(data), {
      servers: grid.servers(),
      leaseSecret,
      convergenceSecret,
      k: 3,
      happy: 7,
      n: 10,
      maxSegmentSize: 128 * 1024,
    });
  });
  afterAll(() => grid.close());

  /** The node holding `shareNumber` of the upload. */
  const holderOf = (shareNumber: number) =>
    grid.nodes.find((n) => upload.uploadedShares.get(n.id)?.includes(shareNumber))!;

  it("reads a byte range by fetching only the segments it touches", async () => {
    const whole = counting(grid.servers());
    const full = await openDownload(upload.cap, whole.servers);
    expect((await full.readAll()).equals(data)).toBe(true);

    const part = counting(grid.servers());
    // A caller reading a range says so: a share this small would otherwise come whole.
    const download = await openDownload(upload.cap, part.servers, { wholeShareBytes: 0 });
    const got = await download.readAll({ start: 500_000, end: 500_100 });
    expect(got.equals(data.subarray(500_000, 500_100))).toBe(true);
    // 9 segments of 128 KiB; a 100-byte range needs 1 of them (plus the hash trees).
    expect(part.fetched.bytes).toBeLessThan(whole.fetched.bytes / 4);

    const tail = await download.readAll({ start: data.length - 10 });
    expect(tail.equals(data.subarray(data.length - 10))).toBe(true);
    expect(download.corruptShares()).toEqual([]);
  });

  it("streams the file with only k of n servers running", async () => {
    const g = await startGrid(10);
    try {
      const file = testBytes(700_000, 5);
      const result = await uploadImmutable(bytesSource(file), {
        servers: g.servers(),
        leaseSecret,
        convergenceSecret,
        k: 3,
        happy: 7,
        n: 10,
      });
      // Stop the servers of n-k shares, primary ones included, so decoding needs check shares.
      const keep = new Set([4, 7, 9]);
      for (const node of g.nodes) {
        const held = result.uploadedShares.get(node.id) ?? [];
        if (!held.some((sn) => keep.has(sn))) await node.stop();
      }
      // The node still lists them as connected: the downloader must route around the refusals.
      const servers = g.servers().map((s) => ({ ...s, connected: true }));
      const download = await openDownload(result.cap, servers);
      const chunks: Buffer[] = [];
      for await (const chunk of download.read()) chunks.push(Buffer.from(chunk));
      expect(Buffer.concat(chunks).equals(file)).toBe(true);
      expect(download.activeShares().map((a) => a.shareNumber)).toEqual([4, 7, 9]);

      // One more stopped server leaves 2 shares: not enough, and the message says who did not answer.
      await g.nodes.find((n) => result.uploadedShares.get(n.id)?.includes(9))!.stop();
      const error = await errorOf(openDownload(result.cap, servers));
      expect(isDownloadError(error, "TAHOE_ERR_DOWNLOAD_NOT_ENOUGH_SHARES")).toBe(true);
      expect(error.message).toContain("found 2 distinct share(s)");
      expect(error.message).toContain("need 3");
      expect(error.message).toMatch(
        /no answer from 'server-\d+' \(v0-[a-z2-7]{8}…\) \(TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE\), /,
      );
    } finally {
      await g.close();
    }
  });

  it("routes around a share corrupted on disk and tells its server", async () => {
    const holder = holderOf(0);
    const path = holder.sharePath(upload.storageIndex!, 0);
    const original = await readFile(path);
    const handle = await open(path, "r+");
    try {
      // Container header (12 bytes) + share header (0x24) + 1000 bytes into block 0.
      const at = 12 + 0x24 + 1000;
      await handle.write(Buffer.from([original[at]! ^ 0x40]), 0, 1, at);
    } finally {
      await handle.close();
    }
    try {
      const reports: unknown[] = [];
      const download = await openDownload(upload.cap, grid.servers(), {
        onCorruptShare: (r) => reports.push(r),
      });
      expect((await download.readAll()).equals(data)).toBe(true);
      await download.settled();
      expect(download.corruptShares()).toEqual([
        expect.objectContaining({ serverId: holder.id, shareNumber: 0, advised: true }),
      ]);
      expect(download.corruptShares()[0]!.reason).toContain("TAHOE_ERR_IMMUTABLE_BLOCK_HASH");
      expect(reports).toHaveLength(1);
      expect(download.activeShares().map((a) => a.shareNumber)).not.toContain(0);
      const advisories = await holder.advisories();
      expect(advisories).toHaveLength(1);
      const text = await readFile(advisories[0]!, "utf8");
      expect(text).toContain(`storage_index: ${base32Encode(upload.storageIndex!)}`);
      expect(text).toContain("share_number: 0");
      expect(text).toContain("does not match its block hash");
      for (const node of grid.nodes) if (node !== holder) expect(await node.advisories()).toEqual([]);
    } finally {
      const handle2 = await open(path, "r+");
      await handle2.write(original, 0, original.length, 0);
      await handle2.close();
    }
  });

  it("switches shares when a server stops answering mid-download, without an advisory", async () => {
    const g = await startGrid(5);
    try {
      const file = testBytes(400_000, 8);
      const result = await uploadImmutable(bytesSource(file), {
        servers: g.servers(),
        leaseSecret,
        convergenceSecret,
        k: 2,
        happy: 5,
        n: 5,
        maxSegmentSize: 64 * 1024,
      });
      const download = await openDownload(result.cap, g.servers());
      const first = await download.readAll({ start: 0, end: 1000 });
      expect(first.equals(file.subarray(0, 1000))).toBe(true);
      const used = download.activeShares();
      expect(used.map((u) => u.shareNumber)).toEqual([0, 1]);
      await g.nodes.find((n) => n.id === used[0]!.serverId)!.stop();
      expect((await download.readAll()).equals(file)).toBe(true);
      expect(download.activeShares().map((u) => u.serverId)).not.toContain(used[0]!.serverId);
      await download.settled();
      expect(download.corruptShares()).toEqual([]);
    } finally {
      await g.close();
    }
  });

  it("refuses a verify cap, which cannot decrypt", async () => {
    const verify = formatChkVerifyCap(verifyCapOf(parseChkReadCap(upload.cap)));
    const error = await errorOf(openDownload(verify, grid.servers()));
    expect(isDownloadError(error, "TAHOE_ERR_DOWNLOAD_CAP")).toBe(true);
  });

  it("does not ask servers that are not connected", async () => {
    const asked: string[] = [];
    const servers = grid.servers().map((s, i) => ({
      ...s,
      connected: i % 2 === 0,
      client: {
        ...s.client,
        listImmutableShares: (...args: Parameters<StorageClient["listImmutableShares"]>) => {
          asked.push(s.id);
          return s.client.listImmutableShares(...args);
        },
      },
    }));
    const download = await openDownload(upload.cap, servers);
    expect((await download.readAll({ start: 0, end: 10 })).equals(data.subarray(0, 10))).toBe(true);
    expect(asked.sort()).toEqual(
      servers
        .filter((s) => s.connected)
        .map((s) => s.id)
        .sort(),
    );
  });
});

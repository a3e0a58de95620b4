import { readFile } from "node:fs/promises";
import { bytesSource, parseChkReadCap, planChk, startChkEncode } from "@lafs/immutable";
import { PlacementRefusedError } from "@lafs/placement";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_BATCH_SIZE,
  isUploadError,
  openDownload,
  type StorageClient,
  type UploadOptions,
  type UploadServer,
  uploadImmutable,
} from "../src/index.js";
import { errorOf } from "./helpers.js";
import { IMMUTABLE_CONTAINER } from "./share-file-bytes.js";
import { type Grid, startGrid, testBytes } from "./uploader-grid.js";

const leaseSecret = new Uint8Array(32).fill(9);
const convergenceSecret = new Uint8Array(16).fill(5);
const encoding = { k: 3, happy: 7, n: 10 };

function options(servers: UploadServer[], extra: Partial<UploadOptions> = {}): UploadOptions {
  return { servers, leaseSecret, convergenceSecret, ...encoding, ...extra };
}

function byteLength(data: Uint8Array | readonly Uint8Array[]): number {
  return data instanceof Uint8Array ? data.length : data.reduce((sum, piece) => sum + piece.length, 0);
}

/** A client that counts the PATCHes it sends and can run a hook before one. */
function watched(client: StorageClient, beforeWrite?: (count: number) => Promise<void>) {
  const counts = { writes: 0, allocates: 0 };
  const wrapped: StorageClient = {
    ...client,
    allocate: (...args) => {
      counts.allocates++;
      return client.allocate(...args);
    },
    write: async (...args) => {
      counts.writes++;
      await beforeWrite?.(counts.writes);
      return client.write(...args);
    },
  };
  return { client: wrapped, counts };
}

describe("uploadImmutable on a grid of 10 real storage servers", () => {
  let grid: Grid;
  beforeAll(async () => {
    grid = await startGrid(10);
  });
  afterAll(() => grid.close());

  it.each([0, 55])("stores a %i-byte file as URI:LIT without contacting any server", async (size) => {
    const data = testBytes(size, size + 1);
    const spies = grid.nodes.map((node) => watched(node.client));
    const servers = grid.servers().map((s, i) => ({ ...s, client: spies[i]!.client }));
    const result = await uploadImmutable(bytesSource(data), options(servers));
    expect(result.kind).toBe("lit");
    expect(result.cap.startsWith("URI:LIT:")).toBe(true);
    expect(result.writeRequests).toBe(0);
    expect(spies.every((s) => s.counts.allocates === 0 && s.counts.writes === 0)).toBe(true);
    const download = await openDownload(result.cap, []);
    expect(download.size).toBe(size);
    expect((await download.readAll()).equals(data)).toBe(true);
  });

  it.each([56, 1024 * 1024 + 1])("round-trips a %i-byte CHK file byte for byte", async (size) => {
    const data = testBytes(size, size);
    const result = await uploadImmutable(bytesSource(data), options(grid.servers()));
    expect(result.kind).toBe("chk");
    const cap = parseChkReadCap(result.cap);
    expect(cap).toMatchObject({ k: 3, n: 10, size });
    expect(result.happiness).toBe(10);
    const shareSize = planChk(size, { k: 3, n: 10 }).shareSize;
    expect(result.bytesSent).toBe(10 * shareSize);
    // Ten servers, ten shares: one each, and exactly where the result says.
    expect([...result.uploadedShares.values()].map((s) => s.length)).toEqual(new Array(10).fill(1));
    for (const node of grid.nodes) {
      expect(await node.sharesOnDisk(result.storageIndex!)).toEqual([
        ...(result.uploadedShares.get(node.id) ?? []),
      ]);
      expect(await node.incoming()).toEqual([]);
    }
    const download = await openDownload(result.cap, grid.servers());
    expect((await download.readAll()).equals(data)).toBe(true);
  });

  it("round-trips about 20 MiB, streaming PATCHes of about DEFAULT_BATCH_SIZE", async () => {
    const size = 20 * 1024 * 1024 + 12345;
    const data = testBytes(size, 20);
    const spies = grid.nodes.map((node) => watched(node.client));
    const servers = grid.servers().map((s, i) => ({ ...s, client: spies[i]!.client }));
    const result = await uploadImmutable(
      bytesSource(data),
      options(servers, { maxSegmentSize: 1024 * 1024 }),
    );
    const shareSize = planChk(size, { k: 3, n: 10, maxSegmentSize: 1024 * 1024 }).shareSize;
    expect(result.bytesSent).toBe(10 * shareSize);
    // Batches of at least DEFAULT_BATCH_SIZE bytes (a block more at most) except each share's last one.
    const blockSize = Math.ceil((1024 * 1024) / 3);
    const perShare = spies.map((s) => s.counts.writes);
    for (const writes of perShare) {
      expect(writes).toBeGreaterThanOrEqual(Math.ceil(shareSize / (DEFAULT_BATCH_SIZE + blockSize)));
      expect(writes).toBeLessThanOrEqual(Math.ceil(shareSize / DEFAULT_BATCH_SIZE));
    }
    const download = await openDownload(result.cap, grid.servers());
    const chunks: Buffer[] = [];
    for await (const chunk of download.read()) chunks.push(Buffer.from(chunk));
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  }, 60_000);

  it("stores the shares an encode that never reuses a buffer gives, byte for byte (the encoder's pool)", async () => {
    // 2-of-4 on 1 MiB segments, a short tail: the pooled buffers go round many times, and a
    // buffer reused before its PATCH was written would show as a share that differs.
    const size = 12 * 1024 * 1024 + 777;
    const data = testBytes(size, 31);
    const params = { k: 2, happy: 3, n: 4, maxSegmentSize: 1024 * 1024 };
    const result = await uploadImmutable(bytesSource(data), {
      ...options(grid.servers()),
      ...params,
      // Two PATCHes of a share in flight at once, and buffers going round behind them.
      patchesInFlight: 2,
      maxBufferedPerShare: 2 * DEFAULT_BATCH_SIZE,
    });
    expect(result.kind).toBe("chk");
    // The same file encoded with every write kept and none released: fresh buffers throughout.
    const encoding = await startChkEncode(bytesSource(data), { ...params, convergenceSecret });
    const expected = Array.from({ length: 4 }, () => Buffer.alloc(encoding.shareSize));
    for await (const write of encoding.writes())
      write.data.forEach((bytes, sn) => {
        expected[sn]!.set(bytes, write.offset);
      });
    expect(encoding.result().readCap).toBe(result.cap);
    let compared = 0;
    for (const node of grid.nodes) {
      for (const sn of await node.sharesOnDisk(result.storageIndex!)) {
        const file = await readFile(node.sharePath(result.storageIndex!, sn));
        const share = file.subarray(IMMUTABLE_CONTAINER, IMMUTABLE_CONTAINER + encoding.shareSize);
        expect(share.equals(expected[sn]!)).toBe(true);
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(4);
  }, 60_000);

  it("holds the encoder back while a slow server catches up (backpressure)", async () => {
    const size = 2_000_000;
    const data = testBytes(size, 31);
    let readUpTo = 0;
    const source = {
      size,
      name: "watched",
      read: async (offset: number, length: number) => {
        readUpTo = Math.max(readUpTo, offset + length);
        return data.subarray(offset, Math.min(size, offset + length));
      },
    };
    const batchSize = 64 * 1024;
    const segment = 96 * 1024;
    let acked = 0;
    const lead: number[] = [];
    const slow = grid.nodes[0]!;
    const servers = grid.servers().map((s) =>
      s.id !== slow.id
        ? s
        : {
            ...s,
            client: {
              ...s.client,
              write: async (...args: Parameters<StorageClient["write"]>) => {
                // How far the encoder has read beyond what this server has taken, in plaintext bytes.
                lead.push(readUpTo - acked * 3);
                await new Promise((r) => setTimeout(r, 15));
                const result = await s.client.write(...args);
                acked += byteLength(args[3]);
                return result;
              },
            },
          },
    );
    // randomKey: one pass over the source, so its read position is the encoder's progress.
    const result = await uploadImmutable(source, {
      ...options(servers),
      convergenceSecret: undefined,
      randomKey: true,
      batchSize,
      maxSegmentSize: segment,
    });
    expect(result.uploadedShares.has(slow.id)).toBe(true);
    expect(lead.length).toBeGreaterThan(5);
    expect(Math.max(...lead)).toBeLessThanOrEqual(3 * 4 * batchSize + 2 * segment);
    const download = await openDownload(result.cap, grid.servers());
    expect((await download.readAll()).equals(data)).toBe(true);
  });

  it("reuses shares the servers already hold: no PATCH on a second upload", async () => {
    const data = testBytes(300_000, 77);
    const first = await uploadImmutable(bytesSource(data), options(grid.servers()));
    const spies = grid.nodes.map((node) => watched(node.client));
    const servers = grid.servers().map((s, i) => ({ ...s, client: spies[i]!.client }));
    const second = await uploadImmutable(bytesSource(data), options(servers));
    expect(second.cap).toBe(first.cap);
    expect(spies.reduce((sum, s) => sum + s.counts.writes, 0)).toBe(0);
    expect(second.writeRequests).toBe(0);
    expect(second.bytesSent).toBe(0);
    expect(second.uploadedShares.size).toBe(0);
    expect(second.reusedShares).toEqual(first.uploadedShares);
    expect(second.happiness).toBe(10);
  });

  it("refuses with placement's words, before allocating anything, when too few servers are connected", async () => {
    const data = testBytes(10_000, 3);
    const spies = grid.nodes.map((node) => watched(node.client));
    const servers = grid.servers().map((s, i) => ({ ...s, client: spies[i]!.client, connected: i < 5 }));
    const error = await errorOf(uploadImmutable(bytesSource(data), options(servers)));
    expect(error).toBeInstanceOf(PlacementRefusedError);
    expect((error as PlacementRefusedError).code).toBe("TAHOE_ERR_PLACEMENT_UNHAPPY");
    expect(error.message).toContain(
      "shares could be placed on only 5 server(s) such that any 3 of them have enough shares to recover the file, but we were asked to place shares on at least 7 such servers.",
    );
    expect(error.message).toContain("only 5 of the 10 allowed server(s) are connected");
    expect(spies.every((s) => s.counts.allocates === 0 && s.counts.writes === 0)).toBe(true);
    for (const node of grid.nodes) expect(await node.incoming()).toEqual([]);
  });

  it("refuses when a required server is not connected, naming it", async () => {
    const data = testBytes(10_000, 4);
    const spies = grid.nodes.map((node) => watched(node.client));
    const missing = grid.nodes[4]!;
    const servers = grid.servers({ [missing.id]: { connected: false, required: true } });
    const error = await errorOf(
      uploadImmutable(
        bytesSource(data),
        options(servers.map((s, i) => ({ ...s, client: spies[i]!.client }))),
      ),
    );
    expect((error as PlacementRefusedError).code).toBe("TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED");
    expect(error.message).toContain("uploads disabled: server 'server-4'");
    expect(error.message).toContain("is required but not connected");
    expect(spies.every((s) => s.counts.allocates === 0)).toBe(true);
  });

  it("puts shares only on allowed servers and always on required ones", async () => {
    const data = testBytes(50_000, 8);
    const allowed = new Set(grid.nodes.slice(0, 6).map((n) => n.id));
    const required = grid.nodes[5]!.id;
    const servers = grid
      .servers()
      .map((s) => ({ ...s, allowed: allowed.has(s.id), required: s.id === required }));
    const result = await uploadImmutable(bytesSource(data), { ...options(servers), k: 2, happy: 5, n: 6 });
    expect([...result.sharesByServer.keys()].every((id) => allowed.has(id))).toBe(true);
    expect(result.sharesByServer.has(required)).toBe(true);
    for (const node of grid.nodes.slice(6)) expect(await node.sharesOnDisk(result.storageIndex!)).toEqual([]);
    expect(result.happiness).toBe(6);
  });

  it("gives no new share to a server whose maximum share size is too small", async () => {
    const data = testBytes(200_000, 11);
    const small = grid.nodes[0]!.id;
    const servers = grid.servers({ [small]: { maximumImmutableShareSize: 1000 } });
    const result = await uploadImmutable(bytesSource(data), options(servers));
    expect(result.sharesByServer.has(small)).toBe(false);
    expect(await grid.nodes[0]!.sharesOnDisk(result.storageIndex!)).toEqual([]);
    expect(result.happiness).toBe(9);
  });

  it("stops when the caller aborts, and aborts every unfinished share", async () => {
    const controller = new AbortController();
    const spies = grid.nodes.map((node) =>
      watched(node.client, async (count) => {
        if (count === 2) controller.abort(new Error("user pressed cancel"));
      }),
    );
    const servers = grid.servers().map((s, i) => ({ ...s, client: spies[i]!.client }));
    const error = await errorOf(
      uploadImmutable(bytesSource(testBytes(900_000, 41)), {
        ...options(servers),
        batchSize: 32 * 1024,
        signal: controller.signal,
      }),
    );
    expect(isUploadError(error, "TAHOE_ERR_UPLOAD_ABORTED")).toBe(true);
    for (const node of grid.nodes) expect(await node.incoming()).toEqual([]);
  });

  it("rejects a lease seed that is not a 20-byte tub id before any request", async () => {
    const spies = grid.nodes.map((node) => watched(node.client));
    const servers = grid.servers().map((s, i) => ({ ...s, client: spies[i]!.client }));
    servers[3] = { ...servers[3]!, leaseSeed: new Uint8Array(32) };
    const error = await errorOf(uploadImmutable(bytesSource(testBytes(1000)), options(servers)));
    expect(isUploadError(error, "TAHOE_ERR_UPLOAD_ARGUMENT")).toBe(true);
    expect(error.message).toContain("lease seed is 32 bytes, not 20");
    expect(spies.every((s) => s.counts.allocates === 0)).toBe(true);
  });

  it("records the lease secrets of §2.13 with each share", async () => {
    const data = testBytes(5000, 12);
    const result = await uploadImmutable(bytesSource(data), options(grid.servers()));
    const { deriveLeaseSecrets } = await import("../src/index.js");
    const { blake2b } = await import("@lafs/storage-server");
    const node = grid.nodes.find((n) => result.uploadedShares.has(n.id))!;
    const share = result.uploadedShares.get(node.id)![0]!;
    const file = await readFile(node.sharePath(result.storageIndex!, share));
    const leaseCount = file.readUInt32BE(8);
    expect(leaseCount).toBe(1);
    const lease = file.subarray(file.length - 72);
    const secrets = deriveLeaseSecrets(leaseSecret, result.storageIndex!, node.leaseSeed);
    // Container v2 stores BLAKE2b-256 of each secret (wire-formats §2.11).
    expect(Buffer.from(lease.subarray(4, 36)).equals(Buffer.from(blake2b(secrets.renewSecret)))).toBe(true);
    expect(Buffer.from(lease.subarray(36, 68)).equals(Buffer.from(blake2b(secrets.cancelSecret)))).toBe(true);
  });
});

describe("servers failing during an upload", () => {
  it("replaces a server killed mid-upload and still reaches full happiness", async () => {
    const grid = await startGrid(7);
    try {
      const data = testBytes(600_000, 21);
      const killed: string[] = [];
      // Whichever server is first to get its second PATCH dies before answering it.
      const servers = grid.servers().map((s, i) => {
        const node = grid.nodes[i]!;
        const spy = watched(s.client, async (count) => {
          if (count === 2 && killed.length === 0) {
            killed.push(node.id);
            await node.stop();
          }
        });
        return { ...s, client: spy.client };
      });
      const result = await uploadImmutable(bytesSource(data), {
        ...options(servers),
        k: 2,
        happy: 4,
        n: 5,
        batchSize: 64 * 1024,
      });
      expect(killed).toHaveLength(1);
      expect(result.failedServers.map((f) => f.id)).toEqual(killed);
      expect(result.failedServers[0]!.reason).toMatch(/connect|closed|reset|socket|other side/i);
      expect(result.sharesByServer.has(killed[0]!)).toBe(false);
      // Every share number is held by a live server, and the grid is as happy as it can be.
      const held = new Set([...result.sharesByServer.values()].flat());
      expect([...held].sort()).toEqual([0, 1, 2, 3, 4]);
      expect(result.happiness).toBe(5);
      const download = await openDownload(result.cap, grid.servers());
      expect((await download.readAll()).equals(data)).toBe(true);
      for (const node of grid.nodes) if (!node.stopped) expect(await node.incoming()).toEqual([]);
    } finally {
      await grid.close();
    }
  });

  it("fails loudly, aborting every unfinished share, when no server can replace the killed one", async () => {
    const grid = await startGrid(4);
    try {
      const data = testBytes(600_000, 22);
      const victim = grid.nodes[2]!;
      const spy = watched(victim.client, async (count) => {
        if (count === 2) await victim.stop();
      });
      const servers = grid.servers().map((s) => (s.id === victim.id ? { ...s, client: spy.client } : s));
      const error = await errorOf(
        uploadImmutable(bytesSource(data), {
          ...options(servers),
          k: 2,
          happy: 4,
          n: 4,
          batchSize: 64 * 1024,
        }),
      );
      expect(isUploadError(error, "TAHOE_ERR_UPLOAD_UNHAPPY")).toBe(true);
      expect(error.message).toContain(
        "shares could be placed on only 3 server(s) such that any 2 of them have enough shares to recover the file, but we were asked to place shares on at least 4 such servers",
      );
      expect(error.message).toContain("'server-2'");
      expect(isUploadError(error) && error.happiness).toBe(3);
      for (const node of grid.nodes) {
        if (node === victim) continue;
        // Unfinished shares were aborted; shares that completed before the failure stay until their leases expire.
        expect(await node.incoming()).toEqual([]);
      }
    } finally {
      await grid.close();
    }
  });

  it("fails when a required server dies, even though others could take its share", async () => {
    const grid = await startGrid(5);
    try {
      const victim = grid.nodes[1]!;
      const spy = watched(victim.client, async (count) => {
        if (count === 1) await victim.stop();
      });
      const servers = grid
        .servers({ [victim.id]: { required: true } })
        .map((s) => (s.id === victim.id ? { ...s, client: spy.client } : s));
      const error = await errorOf(
        uploadImmutable(bytesSource(testBytes(200_000, 23)), { ...options(servers), k: 2, happy: 3, n: 5 }),
      );
      expect(isUploadError(error, "TAHOE_ERR_UPLOAD_UNHAPPY")).toBe(true);
      expect(error.message).toContain("server 'server-1'");
      expect(error.message).toContain("is required but not connected");
      for (const node of grid.nodes) if (node !== victim) expect(await node.incoming()).toEqual([]);
    } finally {
      await grid.close();
    }
  });
});

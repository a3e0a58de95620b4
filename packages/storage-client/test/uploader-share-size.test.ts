import { bytesSource } from "@lafs/immutable";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StorageClient, uploadImmutable } from "../src/index.js";
import { type Grid, startGrid, testBytes } from "./uploader-grid.js";

describe("a server's maximum-immutable-share-size, from its version answer", () => {
  let grid: Grid;
  beforeAll(async () => {
    // Reserving more than any disk holds makes the server announce a limit of 0 bytes.
    grid = await startGrid(5, (i) => (i === 0 ? { reservedSpace: 2 ** 52 } : {}));
  });
  afterAll(() => grid.close());

  it("makes the uploader treat the server as read-only for the file: never allocated on", async () => {
    const small = grid.nodes[0]!;
    expect((await small.client.version()).maximumImmutableShareSize).toBe(0);
    const allocates = new Map<string, number>();
    const servers = grid.servers().map((s) => {
      const client: StorageClient = {
        ...s.client,
        allocate: (...args) => {
          allocates.set(s.id, (allocates.get(s.id) ?? 0) + 1);
          return s.client.allocate(...args);
        },
      };
      return { ...s, client };
    });
    const result = await uploadImmutable(bytesSource(testBytes(400_000, 12)), {
      servers,
      leaseSecret: new Uint8Array(32).fill(1),
      convergenceSecret: new Uint8Array(16).fill(2),
      k: 3,
      happy: 4,
      n: 5,
    });
    expect(allocates.has(small.id)).toBe(false);
    expect(result.sharesByServer.has(small.id)).toBe(false);
    expect(result.happiness).toBe(4);
    expect(await small.sharesOnDisk(result.storageIndex!)).toEqual([]);
    expect(await small.incoming()).toEqual([]);
  });

  it("still refuses with placement's words when too few servers can hold the shares", async () => {
    const servers = grid.servers().slice(0, 4);
    await expect(
      uploadImmutable(bytesSource(testBytes(400_000, 13)), {
        servers,
        leaseSecret: new Uint8Array(32).fill(1),
        convergenceSecret: new Uint8Array(16).fill(2),
        k: 3,
        happy: 4,
        n: 5,
      }),
    ).rejects.toThrow(/placed on only 3 server/);
  });
});

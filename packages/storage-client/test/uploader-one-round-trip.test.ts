import { bytesSource, computeImmutableCap, storageIndexOfKey } from "@lafs/immutable";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectedInPermutedOrder,
  openDownload,
  type StorageClient,
  type UploadOptions,
  uploadImmutable,
} from "../src/index.js";
import { type Grid, startGrid, testBytes } from "./uploader-grid.js";

const leaseSecret = new Uint8Array(32).fill(3);
const convergenceSecret = new Uint8Array(16).fill(8);

/** A client whose share-list answers are held back `delayMs`, recording when each call happens. */
function slowQuestions(client: StorageClient, events: string[], delayMs: number): StorageClient {
  return {
    ...client,
    listImmutableShares: async (...args) => {
      const answer = await client.listImmutableShares(...args);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      events.push("answered");
      return answer;
    },
    allocate: (...args) => {
      events.push("allocate");
      return client.allocate(...args);
    },
  };
}

describe("discovery and allocation in one round trip", () => {
  let grid: Grid;
  beforeAll(async () => {
    grid = await startGrid(6);
  });
  afterAll(() => grid.close());

  const options = (servers: UploadOptions["servers"]): UploadOptions => ({
    servers,
    leaseSecret,
    convergenceSecret,
    k: 2,
    happy: 3,
    n: 4,
  });

  it("allocates a file no server holds while the servers are still answering which shares they hold", async () => {
    const data = testBytes(400_000, 91);
    const events: string[] = [];
    const servers = grid.servers().map((s) => ({ ...s, client: slowQuestions(s.client, events, 300) }));
    const result = await uploadImmutable(bytesSource(data), options(servers));
    expect(result.happiness).toBe(4);
    const allocates = events.filter((e) => e === "allocate").length;
    expect(allocates).toBe(4);
    // Every allocate went out before the first answer came back: one round trip, not two.
    expect(events.slice(0, allocates)).toEqual(Array(allocates).fill("allocate"));
    const download = await openDownload(result.cap, grid.servers());
    expect((await download.readAll()).equals(data)).toBe(true);
  });

  it("places again, aborting the guessed allocations, when the answers find shares elsewhere", async () => {
    const data = testBytes(300_000, 92);
    // The file's shares on servers the first guess would not all pick: the last four of the
    // file's permuted order (node ids are new each run, so the order is too), while a placement
    // that knows of no share takes the first four.
    const computed = await computeImmutableCap(bytesSource(data), { convergenceSecret, k: 2, n: 4 });
    if (computed.cap.kind !== "chk") throw new Error("expected a CHK cap");
    const order = connectedInPermutedOrder(storageIndexOfKey(computed.cap.key), grid.servers());
    const lastFour = new Set(order.slice(2).map((s) => s.id));
    const first = await uploadImmutable(
      bytesSource(data),
      options(grid.servers().map((s) => ({ ...s, allowed: lastFour.has(s.id) }))),
    );
    const events: string[] = [];
    const servers = grid
      .servers()
      .map((s) => (lastFour.has(s.id) ? s : { ...s, client: slowQuestions(s.client, events, 0) }));
    const second = await uploadImmutable(bytesSource(data), options(servers));
    // The guess put shares on a server outside the four; those allocations were aborted.
    expect(events).toContain("allocate");
    expect(second.cap).toBe(first.cap);
    expect(second.reusedShares).toEqual(first.uploadedShares);
    expect(second.uploadedShares.size).toBe(0);
    expect(second.bytesSent).toBe(0);
    for (const node of grid.nodes) {
      expect(await node.incoming()).toEqual([]);
      if (!lastFour.has(node.id)) expect(await node.sharesOnDisk(second.storageIndex!)).toEqual([]);
    }
  });
});

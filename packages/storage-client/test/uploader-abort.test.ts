import { bytesSource } from "@lafs/immutable";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isUploadError, type StorageClient, type UploadServer, uploadImmutable } from "../src/index.js";
import { errorOf } from "./helpers.js";
import { type Grid, startGrid, testBytes } from "./uploader-grid.js";

/** The secrets and k/happy/N of every upload here (the last test asks for happy = 5). */
const UPLOAD = {
  leaseSecret: new Uint8Array(32).fill(3),
  convergenceSecret: new Uint8Array(16).fill(4),
  k: 3,
  happy: 4,
  n: 5,
};

/** Every server's client, with hooks around allocate and write. */
function hooked(
  grid: Grid,
  hooks: {
    allocate?: (index: number, answer: Promise<unknown>) => void;
    write?: (count: number) => void;
  },
): UploadServer[] {
  let writes = 0;
  return grid.servers().map((s, index) => {
    const client: StorageClient = {
      ...s.client,
      allocate: (...args) => {
        const answer = s.client.allocate(...args);
        hooks.allocate?.(index, answer);
        return answer;
      },
      write: (...args) => {
        const answer = s.client.write(...args);
        writes++;
        hooks.write?.(writes);
        return answer;
      },
    };
    return { ...s, client };
  });
}

async function expectNothingIncoming(grid: Grid): Promise<void> {
  for (const node of grid.nodes) expect(await node.incoming()).toEqual([]);
}

describe("cancelling an upload on real storage servers", () => {
  let grid: Grid;
  beforeAll(async () => {
    grid = await startGrid(5);
  });
  afterAll(() => grid.close());

  it("aborts buckets whose allocation was still outstanding when the caller cancelled", async () => {
    const controller = new AbortController();
    let allocated = 0;
    const servers = hooked(grid, {
      allocate: (index, answer) => {
        // Cancel while every other allocation is on the wire, before any has answered.
        if (index === 0) controller.abort(new Error("user pressed cancel"));
        answer.then(() => allocated++).catch(() => {});
      },
    });
    const error = await errorOf(
      uploadImmutable(bytesSource(testBytes(3_000_000, 5)), {
        servers,
        ...UPLOAD,
        signal: controller.signal,
      }),
    );
    expect(isUploadError(error, "TAHOE_ERR_UPLOAD_ABORTED")).toBe(true);
    expect(allocated).toBe(5);
    await expectNothingIncoming(grid);
  });

  it("aborts every share at once while PATCHes are in flight, leaving incoming/ empty everywhere", async () => {
    const controller = new AbortController();
    const servers = hooked(grid, {
      write: (count) => {
        // The header PATCHes are small; cancel while the first large bodies are on the wire.
        if (count === 8) controller.abort(new Error("node stopping"));
      },
    });
    const error = await errorOf(
      uploadImmutable(bytesSource(testBytes(12_000_000, 6)), {
        servers,
        ...UPLOAD,
        batchSize: 500_000,
        signal: controller.signal,
      }),
    );
    expect(isUploadError(error, "TAHOE_ERR_UPLOAD_ABORTED")).toBe(true);
    await expectNothingIncoming(grid);
  });

  it("aborts the shares of a healthy server when another failure makes the upload unhappy", async () => {
    let stopped = false;
    const servers = hooked(grid, {
      write: (count) => {
        if (count === 6 && !stopped) {
          stopped = true;
          void grid.nodes[1]!.stop();
          void grid.nodes[2]!.stop();
        }
      },
    });
    const error = await errorOf(
      uploadImmutable(bytesSource(testBytes(8_000_000, 7)), {
        servers,
        ...UPLOAD,
        happy: 5,
        batchSize: 500_000,
      }),
    );
    expect(isUploadError(error, "TAHOE_ERR_UPLOAD_UNHAPPY")).toBe(true);
    for (const node of grid.nodes) if (!node.stopped) expect(await node.incoming()).toEqual([]);
  });
});

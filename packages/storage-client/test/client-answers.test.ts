import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStorageClient, isStorageClientError, type StorageAnswer } from "../src/index.js";
import { errorOf } from "./helpers.js";
import { type Grid, startGrid } from "./uploader-grid.js";

/**
 * `onAnswer` tells the node's server list that a server is alive, so the list can skip its
 * liveness probe: every reply counts, an error status included; a request with no reply does not.
 */

let grid: Grid;
beforeAll(async () => {
  grid = await startGrid(1);
});
afterAll(() => grid.close());

/** A client of the grid's server (or of `nurl`) that records what onAnswer is told. */
function recordingClient(nurl = grid.nodes[0]!.nurl) {
  const answers: StorageAnswer[] = [];
  const client = createStorageClient({ nurl, timeoutMs: 5000, onAnswer: (a) => answers.push(a) });
  return { client, answers };
}

describe("onAnswer", () => {
  it("is told once of a call the server answered", async () => {
    const { client, answers } = recordingClient();
    try {
      const version = await client.version();
      expect(version.applicationVersion).toBe("lafs-ts/test");
      expect(answers).toEqual([{ operation: "version", status: 200 }]);
      await client.listImmutableShares(new Uint8Array(16).fill(1));
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
    } finally {
      await client.close();
    }
  });

  it("is told of a call the server refused with an error status: that is an answer too", async () => {
    const { client, answers } = recordingClient();
    try {
      const error = await errorOf(client.read(new Uint8Array(16).fill(2), 0, 0, 10));
      expect(isStorageClientError(error) && error.code).toBe("TAHOE_ERR_STORAGE_CLIENT_NOT_FOUND");
      expect(isStorageClientError(error) && error.status).toBe(404);
      expect(answers).toHaveLength(1);
      expect(answers[0]!.status).toBe(404);
      expect(answers[0]!.operation).toMatch(/^read immutable share /);
    } finally {
      await client.close();
    }
  });

  it("is not told of a call that found no server to connect to", async () => {
    const stopped = await startGrid(1);
    const { nurl } = stopped.nodes[0]!;
    await stopped.close();
    const { client, answers } = recordingClient(nurl);
    try {
      const error = await errorOf(client.version());
      expect(isStorageClientError(error) && error.code).toBe("TAHOE_ERR_STORAGE_CLIENT_UNREACHABLE");
      expect(isStorageClientError(error) && error.status).toBeUndefined();
      expect(answers).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

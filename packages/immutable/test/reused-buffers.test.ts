import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spoolToTempFile } from "../src/index.js";
import { bodyPieces, expectSpoolCapOf, pattern } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "lafs-immutable-reuse-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("spool batches and reused read buffers", () => {
  const data = pattern(3_500_001, 9);

  it("the spool holds every byte in order, through read and readInto", async () => {
    const spool = await spoolToTempFile(bodyPieces(data), { directory: dir });
    try {
      expect(spool.size).toBe(data.length);
      expect(Buffer.from(await spool.read(0, data.length)).equals(data)).toBe(true);
      const target = new Uint8Array(1 << 20);
      const read = await spool.readInto!(3_000_000, target);
      expect(read).toBe(500_001);
      expect(Buffer.from(target.subarray(0, read)).equals(data.subarray(3_000_000))).toBe(true);
    } finally {
      await spool.close();
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("encoding from reused segment buffers gives the cap of the bytes in memory", async () => {
    const spool = await spoolToTempFile(bodyPieces(data), { directory: dir });
    await expectSpoolCapOf(spool, data);
  });
});

import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bytesSource, computeImmutableCap, spoolToTempFile } from "../src/index.js";
import { pattern, SECRET } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "lafs-immutable-reuse-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Fresh, differently sized pieces: the spool batches them about a megabyte at a time. */
async function* pieces(data: Uint8Array): AsyncGenerator<Uint8Array> {
  const sizes = [65536, 1, 70000, 4096, 300_000];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield Uint8Array.from(data.subarray(at, at + size));
    at += size;
  }
}

describe("spool batches and reused read buffers", () => {
  const data = pattern(3_500_001, 9);

  it("the spool holds every byte in order, through read and readInto", async () => {
    const spool = await spoolToTempFile(pieces(data), { directory: dir });
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
    const options = { k: 3, n: 5, maxSegmentSize: 131_072, convergenceSecret: SECRET };
    const spool = await spoolToTempFile(pieces(data), { directory: dir });
    try {
      const fromSpool = await computeImmutableCap(spool, options);
      const fromBuffer = await computeImmutableCap(bytesSource(data), options);
      expect(fromSpool.readCap).toBe(fromBuffer.readCap);
    } finally {
      await spool.close();
    }
  });
});

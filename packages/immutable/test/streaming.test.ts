import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import {
  bytesSource,
  computeImmutableCap,
  fileSource,
  spoolToTempFile,
  startChkEncode,
} from "../src/index.js";
import { pattern, SECRET } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "lafs-immutable-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function* chunks(total: number, chunkSize: number): AsyncGenerator<Uint8Array> {
  const chunk = pattern(chunkSize, 5);
  for (let at = 0; at < total; at += chunkSize) yield chunk.subarray(0, Math.min(chunkSize, total - at));
}

describe("sources", () => {
  it("a file, a spooled stream and a buffer give the same cap", async () => {
    const data = pattern(300_000, 2);
    const path = join(dir, "f");
    writeFileSync(path, data);
    const options = { k: 3, n: 10, maxSegmentSize: 65536, convergenceSecret: SECRET };
    const file = await fileSource(path);
    const fromFile = await computeImmutableCap(file, options);
    await file.close();
    const spool = await spoolToTempFile(
      (async function* () {
        for (let at = 0; at < data.length; at += 7000) yield data.subarray(at, at + 7000);
      })(),
      { directory: dir },
    );
    const fromSpool = await computeImmutableCap(spool, options);
    await spool.close();
    expect(readdirSync(dir)).toEqual(["f"]);
    const fromBuffer = await computeImmutableCap(bytesSource(data), options);
    expect(fromFile.readCap).toBe(fromBuffer.readCap);
    expect(fromSpool.readCap).toBe(fromBuffer.readCap);
  });

  it("a source that shrinks between the passes fails with TAHOE_ERR_IMMUTABLE_SOURCE", async () => {
    const data = pattern(5000);
    let reads = 0;
    const shrinking = {
      size: data.length,
      name: "shrinking.bin",
      read: async (offset: number, length: number) =>
        ++reads > 1 ? data.subarray(offset, offset + length - 1) : data.subarray(offset, offset + length),
    };
    await expect(
      computeImmutableCap(shrinking, { k: 1, n: 1, maxSegmentSize: 1024, convergenceSecret: SECRET }),
    ).rejects.toMatchObject({
      code: "TAHOE_ERR_IMMUTABLE_SOURCE",
      message: expect.stringContaining("shrinking.bin"),
    });
  });
});

/** A full garbage collection, so the test measures live memory rather than GC timing. */
function collector(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

describe("bounded memory", () => {
  it("encodes 64 MiB from a stream, 3-of-10 with 1 MiB segments, without holding the file", async () => {
    const total = 64 << 20;
    const spool = await spoolToTempFile(chunks(total, 1 << 20), { directory: dir });
    const gc = collector();
    gc();
    const before = process.memoryUsage();
    let peak = 0;
    const encoding = await startChkEncode(spool, { k: 3, n: 10, convergenceSecret: SECRET });
    let written = 0;
    for await (const write of encoding.writes()) {
      written += write.data[0]!.length;
      // Let finished reads hand back their buffers before collecting: under load a completed
      // read can still sit in the event loop's queue, which is timing, not memory held.
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      const now = process.memoryUsage();
      peak = Math.max(peak, now.arrayBuffers - before.arrayBuffers + now.heapUsed - before.heapUsed);
    }
    await spool.close();
    expect(written).toBe(encoding.shareSize);
    expect(encoding.result().readCap).toMatch(/^URI:CHK:.*:3:10:67108864$/);
    // Live at a write: this segment's crypttext and check blocks, the next segment's read (~5 MiB).
    expect(peak).toBeLessThan(16 << 20);
  });
});

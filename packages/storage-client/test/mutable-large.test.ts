import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMutableFile, openMutableFile, updateMutableFile } from "../src/index.js";
import { type Grid, startGrid, testBytes } from "./uploader-grid.js";

const MIB = 1024 * 1024;
const leaseSecret = new Uint8Array(32).fill(7);

describe("100 MiB mutable files on 4 real storage servers", () => {
  let g: Grid;
  beforeAll(async () => {
    g = await startGrid(4);
  });
  afterAll(() => g.close());

  it("round-trips (streamed in, streamed out) and takes a 1 MiB in-place update", {
    timeout: 600_000,
  }, async () => {
    const size = 100 * MIB;
    const data = testBytes(size, 100);
    const o = { servers: g.servers(), leaseSecret, k: 3, happy: 7, n: 10 };
    async function* source() {
      for (let i = 0; i < size; i += 4 * MIB) yield data.subarray(i, i + 4 * MIB);
    }
    const created = await createMutableFile({ ...o, format: "MDMF", contents: source(), size });
    const expected = createHash("sha256").update(data).digest("hex");
    const file = await openMutableFile({ ...o, cap: created.readCap });
    expect(file.size).toBe(size);
    const hash = createHash("sha256");
    let chunks = 0;
    for await (const part of file.read()) {
      hash.update(part);
      chunks++;
    }
    expect(hash.digest("hex")).toBe(expected);
    expect(chunks).toBe(800);

    let written = 0;
    const patch = testBytes(MIB, 101);
    const offset = 50 * MIB + 1234;
    const update = await updateMutableFile({
      ...o,
      writeCap: created.writeCap,
      offset,
      contents: patch,
      onPublished: (r) => {
        for (const bytes of r.bytesWritten.values()) written += bytes;
      },
    });
    expect(update).toEqual({ seqnum: 2, size, inPlace: true });
    // 9 segments of 800 rewritten on each of 10 shares, plus trees and header: about 1.2% of the file's shares.
    const shareBytes = (size / 3) * 10;
    expect(written).toBeLessThan(shareBytes * 0.02);
    const back = await openMutableFile({ ...o, cap: created.readCap });
    const window = await back.readAll({ start: offset - 10, end: offset + MIB + 10 });
    expect(Buffer.from(window.subarray(10, 10 + MIB)).equals(patch)).toBe(true);
    expect(Buffer.from(window.subarray(0, 10)).equals(data.subarray(offset - 10, offset))).toBe(true);
  });

  it("round-trips a 100 MiB SDMF file: one segment, each share a third of the file", {
    timeout: 600_000,
  }, async () => {
    const size = 100 * MIB;
    const data = testBytes(size, 102);
    const o = { servers: g.servers(), leaseSecret, k: 3, happy: 7, n: 10 };
    const created = await createMutableFile({ ...o, format: "SDMF", contents: data, size });
    expect(created.writeCap).toMatch(/^URI:SSK:/);
    const file = await openMutableFile({ ...o, cap: created.readCap });
    expect(file.size).toBe(size);
    const hash = createHash("sha256");
    for await (const part of file.read()) hash.update(part);
    expect(hash.digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
  });
});

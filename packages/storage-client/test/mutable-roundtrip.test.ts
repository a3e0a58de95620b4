import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMutableFile,
  type MutableGridOptions,
  openMutableFile,
  overwriteMutableFile,
  type UploadServer,
} from "../src/index.js";
import { errorOf } from "./helpers.js";
import { type Grid, startGrid, testBytes } from "./uploader-grid.js";

const leaseSecret = new Uint8Array(32).fill(7);

function grid(servers: UploadServer[]): MutableGridOptions {
  return { servers, leaseSecret, k: 3, happy: 7, n: 10 };
}

function sha(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

describe("mutable files on 5 real storage servers: create, read, overwrite", () => {
  let g: Grid;
  beforeAll(async () => {
    g = await startGrid(5);
  });
  afterAll(() => g.close());

  it.each([
    ["SDMF", 0],
    ["SDMF", 1000],
    ["SDMF", 300_000],
    ["MDMF", 0],
    ["MDMF", 427],
    ["MDMF", 131_072 * 3 + 17],
  ] as const)("%s, %i bytes: create, then read back whole and in ranges", async (format, size) => {
    const data = testBytes(size, size + 3);
    const created = await createMutableFile({ ...grid(g.servers()), format, contents: data });
    expect(created.writeCap.startsWith(format === "SDMF" ? "URI:SSK:" : "URI:MDMF:")).toBe(true);
    // Every share number is on a server, spread over all five.
    const onDisk = await Promise.all(g.nodes.map((n) => n.sharesOnDisk(created.storageIndex)));
    expect(onDisk.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(onDisk.every((s) => s.length === 2)).toBe(true);
    for (const cap of [created.writeCap, created.readCap]) {
      const file = await openMutableFile({ ...grid(g.servers()), cap });
      expect(file.size).toBe(size);
      expect(file.seqnum).toBe(1);
      expect(file.format).toBe(format);
      expect([file.k, file.n]).toEqual([3, 10]);
      expect(file.readCap).toBe(created.readCap);
      expect(file.verifyCap).toBe(created.verifyCap);
      expect(file.writeCap).toBe(cap === created.writeCap ? created.writeCap : undefined);
      expect(sha(await file.readAll())).toBe(sha(data));
      if (size > 10) {
        const start = Math.floor(size / 3);
        const end = size - 5;
        expect(Buffer.from(await file.readAll({ start, end })).equals(data.subarray(start, end))).toBe(true);
      }
    }
  });

  it.each(["SDMF", "MDMF"] as const)(
    "%s overwrite: seqnum 2, new contents, streamed source",
    async (format) => {
      const created = await createMutableFile({ ...grid(g.servers()), format, contents: testBytes(5000, 1) });
      const next = testBytes(200_000, 2);
      async function* chunks() {
        for (let i = 0; i < next.length; i += 65536) yield next.subarray(i, i + 65536);
      }
      const result = await overwriteMutableFile({
        ...grid(g.servers()),
        writeCap: created.writeCap,
        contents: chunks(),
      });
      expect(result.seqnum).toBe(2);
      const file = await openMutableFile({ ...grid(g.servers()), cap: created.readCap });
      expect(file.seqnum).toBe(2);
      expect(sha(await file.readAll())).toBe(sha(next));
    },
  );

  it("a given private key makes the caps Tahoe makes from it (ssk.json), and a bad key is refused", async () => {
    const vectors = JSON.parse(
      readFileSync(join(import.meta.dirname, "../../../../shared/vectors/ssk.json"), "utf8"),
    ) as { format: { kind: string; params: { format: string; key: string } }; expected: string }[];
    for (const format of ["sdmf", "mdmf"]) {
      const v = vectors.find((x) => x.format.kind === "ssk" && x.format.params.format === format)!;
      const created = await createMutableFile({
        ...grid(g.servers()),
        format: format === "sdmf" ? "SDMF" : "MDMF",
        contents: testBytes(100, 9),
        privateKey: v.format.params.key,
      });
      expect(created.writeCap).toBe(v.expected);
      const file = await openMutableFile({ ...grid(g.servers()), cap: created.readCap });
      expect(sha(await file.readAll())).toBe(sha(testBytes(100, 9)));
    }
    const error = await errorOf(
      createMutableFile({
        ...grid(g.servers()),
        format: "SDMF",
        contents: testBytes(1, 1),
        privateKey: "not a key",
      }),
    );
    expect((error as { code?: string }).code).toBe("TAHOE_ERR_MUTABLE_KEY");
  });
});
